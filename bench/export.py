"""Benchmark: the export of a large zone over a slow link, parallel vs. sequential.

A loopback zone API (in its own process, so its GIL does not slow the
client) serves 10,000 policies over 10 meshes and sleeps 20 ms per request,
like a port-forward to a remote cluster. The export runs with the bounded
pool, then one request at a time (kumactl's access pattern).

Bounds printed:
  chain  = the round trips that depend on each other (discovery -> meshes
           -> longest list -> item), times the latency: the floor with an
           unbounded pool;
  pool   = ceil(requests / concurrency) x latency: the floor with the pool.
The parallel export is compared with max(chain, pool).

By default the sequential baseline is measured on one mesh's slice of the
zone (a tenth of it) and scaled by the request count, so the run stays under
two minutes; --full-sequential measures it on the whole zone (~4 minutes).

    python bench/export.py [--quick] [--full-sequential] [--concurrency N]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "export"))

from fake_zone import FakeZone, Obj, k8s_object  # noqa: E402

from components.export import ExportOptions, export_zone  # noqa: E402
from components.kuma_api import ApiTarget, KumaApiClient  # noqa: E402

# Per mesh, the policy mix (type name, path, count share).
_MIX = [("MeshTimeout", 0.4), ("MeshTrafficPermission", 0.3), ("MeshRetry", 0.2), ("MeshHTTPRoute", 0.1)]


def _types() -> list[dict[str, Any]]:
    def t(name: str, path: str, scope: str, target_ref: bool = False, fed: bool = True) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": name, "path": path, "scope": scope, "includeInFederation": fed, "readOnly": False,
        }  # fmt: skip
        if target_ref:
            entry["policy"] = {"isTargetRef": True}
        return entry

    return [
        t("Dataplane", "dataplanes", "Mesh", fed=False),
        t("GlobalSecret", "globalsecrets", "Global"),
        t("Mesh", "meshes", "Global"),
        t("MeshHTTPRoute", "meshhttproutes", "Mesh", True),
        t("MeshRetry", "meshretries", "Mesh", True),
        t("MeshTimeout", "meshtimeouts", "Mesh", True),
        t("MeshTrafficPermission", "meshtrafficpermissions", "Mesh", True),
        t("Secret", "secrets", "Mesh"),
    ]


def _objects(resources: int, meshes: int, only_mesh: int | None = None) -> list[Obj]:
    objs: list[Obj] = []
    per_mesh = resources // meshes
    for m in range(meshes):
        if only_mesh is not None and m != only_mesh:
            continue
        mesh = f"mesh-{m}"
        objs.append(Obj("Mesh", mesh, None, k8s_object("Mesh", mesh, namespace=None, spec={})))
        for kind, share in _MIX:
            for i in range(int(per_mesh * share)):
                name = f"{kind.lower()}-{i:05d}"
                spec = {"targetRef": {"kind": "Mesh"}}
                objs.append(Obj(kind, name, mesh, k8s_object(kind, name, mesh=mesh, spec=spec)))
    return objs


def _serve(resources: int, meshes: int, only_mesh: int | None, latency: float, conn: Any) -> None:
    zone = FakeZone(_types(), _objects(resources, meshes, only_mesh), latency=latency)
    conn.send(zone.start())
    conn.recv()  # run until the parent says stop
    zone.stop()


class _Server:
    """A FakeZone in a child process."""

    def __init__(self, resources: int, meshes: int, only_mesh: int | None, latency: float) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(resources, meshes, only_mesh, latency, child), daemon=True
        )
        self._proc.start()
        self.base_url: str = self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(10)


class _CountingClient(KumaApiClient):
    """Tracks peak concurrent requests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def get_json(self, path: str, params: Any = None) -> Any:
        with self._gate:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return super().get_json(path, params)
        finally:
            with self._gate:
                self.in_flight -= 1


def _export(base_url: str, concurrency: int) -> tuple[float, int, int, int]:
    target = ApiTarget(base_url, retries=0)
    with _CountingClient(target, pool_size=concurrency) as client:
        start = time.perf_counter()
        options = ExportOptions(profile="federation-with-policies", concurrency=concurrency)
        result = export_zone(client, options)
        wall = time.perf_counter() - start
        return wall, result.requests, client.peak, len(result.documents)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 resources instead of 10,000")
    parser.add_argument("--full-sequential", action="store_true", help="sequential run on the whole zone")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    resources = 2_000 if args.quick else 10_000
    meshes = 10
    latency = args.latency_ms / 1000

    server = _Server(resources, meshes, None, latency)
    try:
        wall, requests, peak, documents = _export(server.base_url, args.concurrency)
    finally:
        server.stop()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if args.full_sequential:
        seq_server = _Server(resources, meshes, None, latency)
        scope = "whole zone"
    else:
        seq_server = _Server(resources, meshes, 0, latency)
        scope = "mesh-0 slice"
    try:
        seq_wall, seq_requests, _, _ = _export(seq_server.base_url, 1)
    finally:
        seq_server.stop()
    seq_estimate = seq_wall / seq_requests * requests

    chain = 4  # discovery, meshes, one list page per (type, mesh), one item
    chain_bound = chain * latency
    pool_bound = math.ceil(requests / args.concurrency) * latency
    bound = max(chain_bound, pool_bound)
    print(f"zone: {resources} policies over {meshes} meshes, {args.latency_ms:g} ms per request")
    print(f"parallel export (concurrency {args.concurrency}): {wall:.2f} s wall, {requests} requests, "
          f"{documents} documents, peak in-flight {peak}, peak RSS {peak_mib:.0f} MiB")
    print(f"sequential export ({scope}): {seq_requests} requests in {seq_wall:.2f} s "
          f"= {seq_wall / seq_requests * 1000:.2f} ms/request "
          f"-> {seq_estimate:.1f} s for {requests} requests")
    print(f"speed-up vs sequential: {seq_estimate / wall:.1f}x (target >= 8x)")
    print(f"bounds: chain {chain} x {args.latency_ms:g} ms = {chain_bound:.2f} s; pool "
          f"ceil({requests}/{args.concurrency}) x {args.latency_ms:g} ms = {pool_bound:.2f} s")
    print(f"wall / max(chain, pool) = {wall / bound:.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
