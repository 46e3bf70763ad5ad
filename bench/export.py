"""Benchmark: exporting a zone over a slow link, three ways, each as a whole process.

A loopback zone API and a loopback Kubernetes API server holding the same objects (in their own
process, so their GIL does not slow the client) sleep 20 ms per request, like a remote cluster.
Each way runs `python -m components.export` as a fresh process (interpreter start, imports,
requests, YAML), with the requests both servers saw and the client's CPU time:
  kumactl  = the zone API one request at a time (kumactl's pattern: `--api-url --concurrency 1`);
  zone API = `--api-url`, one GET per object, N in flight (16, 32 and 64 are measured);
  kube     = `--kube-context`, one LIST per kind and page in the zone's Kubernetes API; once with a
             token in the kubeconfig (read without the `kubernetes` library), once with a
             tokenFile (read by the library, as exec and auth-provider contexts are).
Zones: 600 policies over 3 meshes, and 10,000 over 10. At 10,000 the kumactl pattern is measured
on one mesh's slice (a tenth) and scaled by the request count, unless --full-sequential.

Bounds (latency x round trips that must follow one another):
  zone API: 1 (/, /config, /_resources, /meshes) + the longest chain of list pages + 1 item GET,
            or ceil(requests / in flight) when the pool is the limit;
  kube:     1 (the same and API discovery) + the longest chain of LIST pages (one kind across
            every mesh, `limit` 500).
The export phase alone (in this process, no interpreter start or YAML) is compared with them.

    python bench/export.py [--quick] [--full-sequential] [--kube-pairs N]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "export"))

from fake_zone import FakeZone, Obj, k8s_object  # noqa: E402

from components.clients.cluster_access import service_proxy_url  # noqa: E402
from components.clients.kube_api import DEFAULT_LIST_LIMIT, KubeApiClient  # noqa: E402
from components.clients.kuma_api import ApiTarget, KumaApiClient  # noqa: E402
from components.export import ExportOptions, export_zone  # noqa: E402
from tests.export.fake_kube_api import FakeKubeApi  # noqa: E402

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
    zone.start()
    api = FakeKubeApi(zone, latency=latency)
    api.start()
    conn.send((zone.base_url, api.base_url))
    while conn.recv() == "counts":  # anything else: stop
        conn.send((len(zone.requests), len(api.requests)))
        zone.requests.clear()
        api.requests.clear()
    api.stop()
    zone.stop()


class _Servers:
    """A FakeZone and a FakeKubeApi over the same objects, in a child process."""

    def __init__(self, resources: int, meshes: int, only_mesh: int | None, latency: float) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(resources, meshes, only_mesh, latency, child), daemon=True
        )
        self._proc.start()
        self.zone_url, self.kube_url = self._conn.recv()
        self.kubeconfig = Path(tempfile.mkdtemp()) / "kubeconfig"
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: zone\n"
            f"clusters: [{{name: zone, cluster: {{server: '{self.kube_url}'}}}}]\n"
            "users: [{name: u, user: {token: kube-bearer-token}}]\n"
            "contexts: [{name: zone, context: {cluster: zone, user: u}}]\n")
        # The same context with a tokenFile, which only the `kubernetes` library reads
        # (components/clients/plain_kubeconfig.py): what an exec or auth-provider context costs.
        (self.kubeconfig.parent / "token").write_text("kube-bearer-token")
        self.kubeconfig_library = self.kubeconfig.parent / "kubeconfig-library"
        self.kubeconfig_library.write_text(self.kubeconfig.read_text().replace(
            "{token: kube-bearer-token}", f"{{tokenFile: '{self.kubeconfig.parent / 'token'}'}}"))

    def counts(self) -> tuple[int, int]:
        self._conn.send("counts")
        zone, kube = self._conn.recv()
        return int(zone), int(kube)

    def stop(self) -> None:
        self._conn.send("stop")
        self._proc.join(10)


def _process(servers: _Servers, *args: str) -> dict[str, Any]:
    """One export as a whole process: wall, client CPU, requests, output digest."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KUMA_API_TOKEN", None)
    servers.counts()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "components.export", *args, "-q",
                           "--system-namespace", "kuma-system"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"export {args} failed: {done.stderr}")
    zone, kube = servers.counts()
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "requests": zone + kube, "digest": hashlib.sha256(done.stdout.encode()).hexdigest()[:12],
            "documents": done.stdout.count("\nkind: ") + done.stdout.startswith("kind: ")}


def _kube_phase(servers: _Servers) -> float:
    """The Kubernetes path's export alone, in this process (no interpreter start, no YAML)."""
    proxy = ApiTarget(service_proxy_url(servers.kube_url, "kuma-system", "kuma-control-plane", 5681),
                      headers={"Authorization": "Bearer kube-bearer-token"}, retries=0)
    kube = ApiTarget(servers.kube_url, name="kube context 'zone'",
                     headers={"Authorization": "Bearer kube-bearer-token"})
    with KumaApiClient(proxy) as client, KubeApiClient(kube) as kube_api:
        start = time.perf_counter()
        export_zone(client, ExportOptions(), kube_api=kube_api)
        return time.perf_counter() - start


def _shares(per_mesh: int) -> int:
    return max(int(per_mesh * share) for _kind, share in _MIX)


def _zone(resources: int, meshes: int, latency: float, args: argparse.Namespace) -> None:
    print(f"\n## {resources} policies over {meshes} meshes, {latency * 1000:g} ms per request")
    servers = _Servers(resources, meshes, None, latency)
    try:
        runs: dict[str, dict[str, Any]] = {}
        for n in (16, 32, 64):
            runs[f"zone API, {n} in flight"] = _process(servers, "--api-url", servers.zone_url,
                                                       "--concurrency", str(n))
        runs["kube"] = _process(servers, "--kube-context", "zone", "--kubeconfig",
                                str(servers.kubeconfig))
        runs["kube, kubeconfig read by the library"] = _process(
            servers, "--kube-context", "zone", "--kubeconfig", str(servers.kubeconfig_library))
        phase = _kube_phase(servers)
        if resources <= 1000 or args.full_sequential:
            runs["kumactl pattern"] = _process(servers, "--api-url", servers.zone_url,
                                               "--concurrency", "1")
            scaled = False
        else:
            scaled = True
    finally:
        servers.stop()
    if scaled:
        slice_servers = _Servers(resources, meshes, 0, latency)
        try:
            part = _process(slice_servers, "--api-url", slice_servers.zone_url, "--concurrency", "1")
        finally:
            slice_servers.stop()
        full = runs["zone API, 16 in flight"]["requests"]
        runs["kumactl pattern"] = {**part, "wall": part["wall"] / part["requests"] * full,
                                   "cpu": part["cpu"] / part["requests"] * full, "requests": full,
                                   "digest": "(scaled)", "documents": "-"}
    per_mesh = resources // meshes
    zone_chain = 1 + math.ceil(_shares(per_mesh) / 1000) + 1
    kube_chain = 1 + max(1, math.ceil(_shares(per_mesh) * meshes / DEFAULT_LIST_LIMIT))
    seq = runs["kumactl pattern"]["wall"]
    print("| way | wall (s) | x kumactl | client CPU (s) | requests | bound (s) | wall / bound "
          "| output |")
    print("|---|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        if name.startswith("zone API"):
            n = int(name.split(", ")[1].split()[0])
            bound = max(zone_chain, math.ceil(run["requests"] / n)) * latency
        elif name.startswith("kube"):
            bound = kube_chain * latency
        else:
            bound = run["requests"] * latency
        print(f"| {name}{' (scaled from one mesh)' if name == 'kumactl pattern' and scaled else ''}"
              f" | {run['wall']:.2f} | {seq / run['wall']:.1f}x | {run['cpu']:.2f} | "
              f"{run['requests']} | {bound:.2f} | {run['wall'] / bound:.2f} | {run['digest']} |")
    print(f"kube path, export phase alone: {phase:.3f} s = {phase / (kube_chain * latency):.2f} x its "
          f"bound ({kube_chain} round trips x {latency * 1000:g} ms)")


def _kube_pairs(pairs: int, latency: float) -> None:
    """The Kubernetes path at 600 policies with each kubeconfig, alternately: on a shared machine
    one run of each is within the noise, the medians of many are not."""
    servers = _Servers(600, 3, None, latency)
    runs: dict[str, list[dict[str, Any]]] = {"token (read without the library)": [],
                                             "tokenFile (read by the library)": []}
    try:
        for _ in range(pairs):
            for name, config in zip(runs, (servers.kubeconfig, servers.kubeconfig_library), strict=True):
                runs[name].append(_process(servers, "--kube-context", "zone", "--kubeconfig", str(config)))
    finally:
        servers.stop()
    print(f"\n## The Kubernetes path at 600 policies, {pairs} alternating pairs: median [min - max]")
    print("| kubeconfig | wall (s) | client CPU (s) | output |\n|---|---|---|---|")
    for name, found in runs.items():
        cells = []
        for key in ("wall", "cpu"):
            values = [run[key] for run in found]
            cells.append(f"{statistics.median(values):.2f} [{min(values):.2f} - {max(values):.2f}]")
        print(f"| {name} | {cells[0]} | {cells[1]} | {', '.join(sorted({r['digest'] for r in found}))} |")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the 600-policy zone only")
    parser.add_argument("--full-sequential", action="store_true",
                        help="the kumactl pattern on the whole 10,000-policy zone (~4 minutes)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--kube-pairs", type=int, default=0,
                        help="only the Kubernetes path at 600 policies, this many times with each kubeconfig")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    if args.kube_pairs:
        _kube_pairs(args.kube_pairs, latency)
        return 0
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    _zone(600, 3, latency, args)
    if not args.quick:
        _zone(10_000, 10, latency, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
