"""Where a Pulumi run's time goes, from its PULUMI_DEBUG_GRPC log (bench/pulumi_apply.py --grpc-log).

    python bench/grpc_timing.py LOG [--parts 5]

The log has one JSON line per gRPC request and one per response (pkg/util/rpcdebug: `method`,
`progress` "request_started" / "response_completed", `timestamp`, `duration` in nanoseconds on
the response). For each method: the calls in the order they completed, split into --parts equal
parts, with the median and total duration of each part. A method whose median grows from the
first part to the last costs more per call as the run goes on: the superlinear term.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

_NO_DURATION = 2**63 - 1
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _time(stamp: str) -> float:
    """RFC 3339 with nanoseconds (Go's time.Time); fromisoformat takes at most microseconds."""
    match = _STAMP.match(stamp)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {stamp!r}")
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{whole}{zone}").timestamp() + float(f"0.{fraction or 0}")


def summarize(path: Path, parts: int) -> str:
    calls: dict[str, list[tuple[float, float]]] = defaultdict(list)  # method -> (end time, ms)
    with open(path, encoding="utf-8") as log:
        for line in log:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("progress") != "response_completed":
                continue
            # Server-side entries (the engine's ResourceMonitor) carry no duration in 3.274
            # (math.MaxInt64, and a zero time on their start): only when they completed.
            duration = entry.get("duration", _NO_DURATION)
            calls[entry["method"]].append(
                (_time(entry["timestamp"]), math.nan if duration >= _NO_DURATION else duration / 1e6))
    if calls:
        ends = sorted(when for found in calls.values() for when, _ in found)
        span = ends[-1] - ends[0]
    else:
        span = 0.0
    header = " | ".join(f"part {i + 1}" for i in range(parts))
    lines = [f"{path.name}: median ms per call [summed s], and the wall time between the first and"
             f" last completion, in {parts} parts of each method's calls in order; calls completed"
             f" over {span:.1f} s", "", f"| method | calls | {header} | all (s) |",
             "|---|---|" + "---|" * parts + "---|"]
    for method, found in sorted(calls.items(), key=lambda item: -len(item[1])):
        found.sort()
        size = max(1, len(found) // parts)
        cells = []
        for i in range(parts):
            part = found[i * size:(i + 1) * size if i < parts - 1 else len(found)]
            if not part:
                cells.append("-")
                continue
            chunk = [ms for _, ms in part]
            timed = ("-" if math.isnan(chunk[0])
                     else f"{statistics.median(chunk):.1f} [{sum(chunk) / 1e3:.1f}]")
            cells.append(f"{timed} in {part[-1][0] - part[0][0]:.1f} s")
        summed = sum(ms for _, ms in found if not math.isnan(ms)) / 1e3
        row = " | ".join(cells)
        lines.append(f"| {method.rsplit('.', 1)[-1]} | {len(found)} | {row} | {summed:.1f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--parts", type=int, default=5)
    args = parser.parse_args(argv)
    print(summarize(args.log, args.parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
