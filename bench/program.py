"""Program evaluation under Pulumi's mock engine: 1, 5 and 20 zones, 10,000 exported objects.

    python bench/program.py [--quick] [--preview] [--runs N]

Each zone is its own loopback FakeZone API (tests/export/fake_zone.py) holding one Mesh and its
share of the MeshTimeout policies (names unique per zone), in the system namespace
kong-mesh-system. The whole program runs: the real exporter over HTTP, preflight, the merge,
then every registration (global release, exported objects, zone releases, checks). Each size
runs in a fresh subprocess (`--one N`) so that peak RSS figures do not mix; the fake zones run
in a process of their own, so wall time and peak RSS are the program's (mock engine included).

Each size runs --runs times (default 3), each in a fresh process; the figure is the median, the
range is printed beside it: on a shared 2-core machine one run of the same code varies by
+-1.5 s, and the median is what the target is checked against.

Targets at 20 zones: under 15 s and under 1 GB.

The same run also measures the floor on this machine: as many bare CustomResources as there are
exported objects, with bodies of the same shape, registered under the same mock engine with the
same garbage-collector setting, and nothing else (no export, parent, provider or dependency).
Per-resource cost in the Pulumi Python SDK varies severalfold between machines (1 ms on one host,
2 ms on another), so the program's wall time is also printed as a multiple of that floor, a
figure that holds across machines, and split into the export and the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

RESOURCES_JSON = ROOT.parent / "shared" / "upstream" / "kuma-v2.14.3" / "api" / "_resources.json"
NS = "kong-mesh-system"
TOKEN = "bench-admin-token"
SIZES = (1, 5, 20)
FULL_OBJECTS = 10_000
QUICK_OBJECTS = 1_000
TARGET_ZONES = 20
TARGET_SECONDS = 15.0
TARGET_RSS_MB = 1024.0


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _zone_objects(zone: str, count: int) -> list[Any]:
    from tests.export.fake_zone import Obj, k8s_object

    mesh = f"{zone}-mesh"
    objects = [Obj("Mesh", mesh, None, k8s_object("Mesh", mesh, namespace=None, spec={}))]
    for i in range(count):
        name = f"{zone}-timeout-{i:05d}"
        objects.append(Obj("MeshTimeout", name, mesh, k8s_object(
            "MeshTimeout", name, mesh=mesh, namespace=NS,
            spec={"targetRef": {"kind": "Mesh"},
                  "to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "20s"}}]})))
    return objects


def _serve_zones(names: list[str], per_zone: list[int], conn: Any) -> None:
    """The fake zones, in a process of their own: their CPU and memory are not the program's."""
    from tests.export.fake_zone import FakeZone, load_types

    types = load_types(str(RESOURCES_JSON))
    fakes = [FakeZone(types, _zone_objects(name, count), system_namespace=NS,
                        product="Kong Mesh", zone_name=name, token=TOKEN)
             for name, count in zip(names, per_zone, strict=True)]
    try:
        conn.send([fake.start() for fake in fakes])
        conn.recv()  # the program is done
        conn.send(sum(len(fake.requests) for fake in fakes))
    finally:
        for fake in fakes:
            fake.stop()


def _floor_body(index: int) -> dict[str, Any]:
    """What the export writes for one of the fake zones' MeshTimeouts (server-owned metadata gone)."""
    return {"apiVersion": "kuma.io/v1alpha1", "kind": "MeshTimeout",
            "metadata": {"name": f"floor-timeout-{index:05d}", "namespace": NS,
                         "labels": {"kuma.io/mesh": "floor-mesh"}},
            "spec": {"targetRef": {"kind": "Mesh"},
                     "to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "20s"}}]}}


def run_floor(total: int, preview: bool) -> dict[str, Any]:
    """The SDK's own cost on this machine: `total` bare CustomResources, nothing of ours."""
    import pulumi
    from pulumi.runtime.mocks import MockMonitor

    from components.process_tuning import postpone_full_collections
    from tests.pulumi_harness import run_program

    def program() -> None:
        postpone_full_collections()
        for index in range(total):
            pulumi.CustomResource("kubernetes:kuma.io/v1alpha1:MeshTimeout", f"floor-{index}",
                                  _floor_body(index))

    start = time.perf_counter()
    run_program(program, preview=preview, monitor_class=MockMonitor)
    return {"wall_s": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def run_one(zones: int, total: int, preview: bool) -> dict[str, Any]:
    """One size: fake zones in a forked process, the program in this one; measure the program."""
    names = [f"zone-{i + 1}" for i in range(zones)]
    per_zone = [total // zones + (1 if i < total % zones else 0) for i in range(zones)]
    # Fork before this process imports Pulumi: the server process stays small, and this
    # process's peak RSS is the program's own.
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    server = context.Process(target=_serve_zones, args=(names, per_zone, there), daemon=True)
    server.start()
    there.close()  # so that recv raises EOFError, not hangs, if the server process dies
    try:
        urls = here.recv()

        from pulumi.runtime.mocks import MockMonitor

        import components.zone_exports as zone_exports_module
        from components.config import parse_config
        from components.process_tuning import postpone_full_collections
        from components.program import build
        from components.stack_outputs import outputs
        from tests.pulumi_harness import run_program

        class CountingMonitor(MockMonitor):
            """The mock engine, noting only what the figures need: the tests' recorder turns
            every request into a dict, which is test instrumentation, not the program's cost."""

            def __init__(self, mocks: Any) -> None:
                super().__init__(mocks)
                self.parents: list[str] = []

            def RegisterResource(self, request: Any) -> Any:
                if request.type != "pulumi:pulumi:Stack":
                    self.parents.append(request.parent)
                return super().RegisterResource(request)  # type: ignore[no-untyped-call]  # SDK mock, untyped

        cfg = parse_config({
            "kdsTls": {"mode": "skipVerify"},
            "global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com"},
            "zones": [{"name": name, "kubeContext": f"ctx-{name}", "api": {"url": url,
                       "token": TOKEN}} for name, url in zip(names, urls, strict=True)],
        })
        baseline = _peak_rss_mb()

        export_seconds: list[float] = []
        export_all = zone_exports_module.export_all

        def timed_export_all(cfg: Any, exporter: Any) -> Any:
            # Instrumentation only: how much of the wall is the zones' export.
            started = time.perf_counter()
            try:
                return export_all(cfg, exporter)
            finally:
                export_seconds.append(time.perf_counter() - started)

        zone_exports_module.export_all = timed_export_all

        def program() -> Any:
            postpone_full_collections()  # as __main__.py does, first thing in the run
            federation = build(cfg)
            return outputs(cfg, federation)["kdsUrl"]

        start = time.perf_counter()
        monitor = run_program(program, preview=preview, monitor_class=CountingMonitor)
        wall = time.perf_counter() - start
        here.send("done")
        requests = here.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    exported = sum(1 for parent in monitor.parents if parent.endswith("exported"))
    return {"zones": zones, "objects": total, "wall_s": wall, "export_s": sum(export_seconds),
            "peak_rss_mb": _peak_rss_mb(),
            "rss_before_mb": baseline, "registrations": len(monitor.parents),
            "exported_registrations": exported, "requests": requests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_OBJECTS:,} objects in total")
    parser.add_argument("--preview", action="store_true",
                        help="evaluate as a preview (default: as an update)")
    parser.add_argument("--runs", type=int, default=3,
                        help="fresh-process runs per size; the median is reported (default 3)")
    parser.add_argument("--one", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--objects", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if not RESOURCES_JSON.exists():
        print(f"bench/program.py: upstream resource types not found at {RESOURCES_JSON}; it lives "
              "in ../shared/upstream beside the checkout in this workspace (a plain clone has "
              "none), so the fake zones cannot serve /_resources", file=sys.stderr)
        return 2
    total = args.objects or (QUICK_OBJECTS if args.quick else FULL_OBJECTS)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, not {args.runs}")

    if args.floor:
        print(json.dumps(run_floor(total, args.preview)))
        return 0
    if args.one is not None:
        print(json.dumps(run_one(args.one, total, args.preview)))
        return 0

    def fresh_runs(extra: list[str]) -> list[dict[str, Any]] | None:
        """--runs measurements, each in a fresh process; None (reported) if one fails."""
        runs = []
        for _ in range(args.runs):
            command = [sys.executable, str(Path(__file__).resolve()), *extra,
                       "--objects", str(total)] + (["--preview"] if args.preview else [])
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{' '.join(extra)}: failed (exit {done.returncode})\n{done.stderr}",
                      file=sys.stderr)
                return None
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        return runs

    def spread(values: list[float], fmt: str) -> str:
        return f"{statistics.median(values):{fmt}} [{min(values):{fmt}} - {max(values):{fmt}}]"

    mode = "preview" if args.preview else "update"
    print(f"program evaluation under the mock engine ({mode}), {total:,} MeshTimeouts over the "
          f"zones, median of {args.runs} run(s) [min - max]")
    print(f"{'zones':>5} {'objects':>8} {'wall (s)':>22} {'of it export (s)':>22} "
          f"{'peak RSS (MB)':>18} {'registrations':>14}")
    results = []
    for zones in SIZES:
        runs = fresh_runs(["--one", str(zones)])
        if runs is None:
            return 1
        walls = [r["wall_s"] for r in runs]
        result = {"zones": zones, "wall_s": statistics.median(walls),
                  "export_s": statistics.median(r["export_s"] for r in runs),
                  "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs)}
        results.append(result)
        print(f"{zones:>5} {total:>8,} {spread(walls, '6.2f'):>22} "
              f"{spread([r['export_s'] for r in runs], '5.2f'):>22} "
              f"{spread([r['peak_rss_mb'] for r in runs], '4.0f'):>18} {runs[0]['registrations']:>14,}")

    floor_runs = fresh_runs(["--floor"])
    if floor_runs is None:
        return 1
    floor = statistics.median(r["wall_s"] for r in floor_runs)
    print(f"floor on this machine: {total:,} bare CustomResources, same bodies, same mock engine: "
          f"{spread([r['wall_s'] for r in floor_runs], '.2f')} s")

    at_target = next(r for r in results if r["zones"] == TARGET_ZONES)
    time_ok = at_target["wall_s"] < TARGET_SECONDS
    rss_ok = at_target["peak_rss_mb"] < TARGET_RSS_MB
    suffix = "" if total == FULL_OBJECTS else f" (measured with {total:,} objects, targets are for 10,000)"
    wall, export = at_target["wall_s"], at_target["export_s"]
    print(f"{TARGET_ZONES} zones: median wall {wall:.2f} s = {wall / floor:.2f}x the floor (export "
          f"{export:.2f} s, registration and the rest {wall - export:.2f} s = "
          f"{(wall - export) / floor:.2f}x the floor)")
    print(f"{TARGET_ZONES} zones: median wall {wall:.2f} s < {TARGET_SECONDS:.0f} s: "
          f"{'PASS' if time_ok else 'FAIL'}; median peak RSS {at_target['peak_rss_mb']:.0f} MB < "
          f"{TARGET_RSS_MB:.0f} MB: {'PASS' if rss_ok else 'FAIL'}{suffix}")
    if not time_ok and floor >= TARGET_SECONDS:
        print(f"  the floor alone ({floor:.2f} s) is over {TARGET_SECONDS:.0f} s on this machine: "
              "no program registering one resource per object can meet the target here")
    return 0 if time_ok and rss_ok else 1


if __name__ == "__main__":
    sys.exit(main())
