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
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

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
            if entry.get("progress") != "response_completed" or "duration" not in entry:
                continue
            calls[entry["method"]].append((_time(entry["timestamp"]), entry["duration"] / 1e6))
    lines = [f"{path.name}: median ms per call [total s] in {parts} parts of each method's calls, in order",
             "", "| method | calls | " + " | ".join(f"part {i + 1}" for i in range(parts)) + " | all (s) |",
             "|---|---|" + "---|" * parts + "---|"]
    for method, found in sorted(calls.items(), key=lambda item: -sum(ms for _, ms in item[1])):
        found.sort()
        size = max(1, len(found) // parts)
        cells = []
        for i in range(parts):
            chunk = [ms for _, ms in found[i * size:(i + 1) * size if i < parts - 1 else len(found)]]
            cells.append(f"{statistics.median(chunk):.1f} [{sum(chunk) / 1e3:.1f}]" if chunk else "-")
        lines.append(f"| {method.rsplit('.', 1)[-1]} | "
                     f"{len(found)} | " + " | ".join(cells) + f" | {sum(ms for _, ms in found) / 1e3:.1f} |")
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
