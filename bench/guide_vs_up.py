"""The guide by hand against one `pulumi up`, on the same podless clusters with the real kuma-cp
(issue 18): `python bench/guide_vs_up.py [--policies 300,3000] [--skip-checkpoints-too]`, as root,
with the tools cache filled and kuma-cp / kumactl 2.14.3 found (as for tier 2).

For each size, each way starts from its own fresh federation (local_federation: etcd, two API
servers, kuma-cp run by the podless kubelet; untimed): the zone as Kuma's quickstart leaves it
with N policies. Then, timed, to the same end state (the zone online on the global, every
exported object on the global):
- the guide as a script: `helm install` of the global (mode global, skipMeshCreation) and its
  rollout, the zone-sync Service's LoadBalancer address, `kumactl export
  --profile=federation-with-policies --format=kubernetes`, `kubectl apply` of it on the global,
  `helm upgrade --reuse-values` of the zone to zone mode (the guide's values, `skipVerify`) and
  its rollout, then a poll of the global's API until the zone is online;
- `pulumi up` of the program, with the same `kdsTls.mode: skipVerify` and `global.kdsAddress`,
  from a new stack; its check on (which the script does not do: it also waits for the proxies
  and policies on the global). Where its time goes is read from its `--event-log` (one of the
  CLI's debug flags, shown with PULUMI_DEBUG_COMMANDS; whole seconds, as the engine stamps
  events): the export (the zone's progress lines), the global release, the copies (first copy
  started to last done), the zone's switch (`helm upgrade` and rollout) and the check (the wait
  for KDS and what it verifies).
Every object the zone has to federate is read before either way starts (untimed, the program's
export, which pages) and looked for on the global at the end.
Benchmarks are never timed tests: this prints figures, it asserts only the end state.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import run_measured
from local_federation import kuma, observe
from local_federation.assets import KUMA_CHART, Assets, cached_assets, federation_missing_reason
from local_federation.federation import Federation
from local_federation.kube import Kube
from local_federation.kuma import apply
from local_federation.observe import KumaApi, document_key, documents
from local_federation.pulumi_cli import Pulumi, clone_project
from local_federation.stack import kds_tls, stack_config

GLOBAL, ZONE = "global", "zone-1"
ZONE_SYNC_SERVICE = "kuma-global-zone-sync"
KDS_PORT = 5685
WAIT_S = 900.0


@dataclass
class Way:
    """One way to the end state: its wall time and its parts, in order."""

    name: str
    wall_s: float = 0.0
    parts: list[tuple[str, float]] = field(default_factory=list)
    peak_rss_mb: float | None = None


@dataclass
class Started:
    federation: Federation
    kube: Kube
    workdir: Path
    zone_api: str
    zone_token: str


@contextmanager
def fresh_federation(assets: Assets, root: Path, name: str, policies: int) -> Iterator[Started]:
    workdir = root / name
    workdir.mkdir(parents=True)
    federation = Federation(assets, workdir, [GLOBAL, ZONE])
    try:
        kube = federation.start()
        url, token = federation.standalone_zone(ZONE, policies)
        yield Started(federation, kube, workdir, url, token)
    finally:
        federation.stop()


def poll(what: str, read: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def zone_online(started: Started) -> bool:
    api = KumaApi(started.federation.control_plane_api(GLOBAL), kuma.admin_token(started.kube, GLOBAL))
    return observe.zone_online(api, ZONE)


def every_copy_on_the_global(started: Started, copies: list[dict[str, Any]]) -> None:
    """Each exported object on the global: one list per kind (thousands of `kubectl get`s would
    take minutes)."""
    live: dict[str, set[tuple[str, str]]] = {}
    for kind in {d["kind"] for d in copies}:
        resource = "secrets" if kind == "Secret" else f"{kind.lower()}.kuma.io"
        items = started.kube.get_json(GLOBAL, resource, "--all-namespaces")["items"]
        live[kind] = {(i["metadata"].get("namespace") or "", i["metadata"]["name"]) for i in items}
    missing = [key for key in map(document_key, copies) if key[1:] not in live[key[0]]]
    if missing:
        raise RuntimeError(f"{len(missing)} of {len(copies)} exported objects not on the global: "
                           f"{missing[:5]}")


def kumactl_export(assets: Assets, started: Started) -> str:
    return observe.kumactl_export(assets.path("kumactl"), started.workdir, ZONE, started.zone_api,
                                  started.zone_token, timeout=WAIT_S)


def the_guide(assets: Assets, started: Started, complete: list[dict[str, Any]]) -> tuple[Way, str]:
    way = Way("guide script")
    kube, ns = started.kube, kuma.SYSTEM_NAMESPACE
    rollout = ["rollout", "status", f"deployment/{kuma.CONTROL_PLANE}", "-n", ns,
               "--timeout", f"{WAIT_S:.0f}s"]
    begin = time.monotonic()

    @contextmanager
    def step(name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        way.parts.append((name, time.monotonic() - start))

    with step("helm install of the global and its rollout"):
        kube.helm(GLOBAL, "install", kuma.RELEASE, str(KUMA_CHART), "--namespace", ns, "--create-namespace",
                  "--set", "controlPlane.mode=global", "--set", "controlPlane.defaults.skipMeshCreation=true",
                  "--timeout", f"{WAIT_S:.0f}s")
        kube.kubectl(GLOBAL, *rollout)
    with step("the zone-sync address"):
        # The harness's LoadBalancer answers 127.0.0.1 until the global's pod is ready, then that
        # pod's address (local_federation.podless): wait for the one zones can dial.
        wanted = started.federation.control_plane_address(GLOBAL)
        address = poll("the zone-sync LoadBalancer address", lambda: ((kube.get_json(
            GLOBAL, "service", ZONE_SYNC_SERVICE, "-n", ns)["status"].get("loadBalancer") or {})
            .get("ingress") or [{}])[0].get("ip") == wanted and wanted)
    with step("kumactl export"):
        exported = kumactl_export(assets, started)
    with step("kubectl apply on the global"):
        kube.kubectl(GLOBAL, "apply", "-f", "-", input=exported,
                     timeout=kuma.apply_timeout(len(documents(exported))))
    # kumactl 2.14.3 lists each type once, without paging: past the API's first 100 of a type its
    # export has nothing. To reach the end state pulumi up reaches, the script applies what it
    # left out, as a user who noticed would (documents from the program's export, which equals
    # kumactl's format for every object both hold: tier 2's scenario (a)).
    held = {document_key(d) for d in documents(exported)}
    left_out = [d for d in complete if document_key(d) not in held]
    if left_out:
        with step(f"kubectl apply of the {len(left_out)} objects kumactl's export left out"):
            apply(kube, GLOBAL, left_out)
    with step("helm upgrade of the zone and its rollout"):
        kube.helm(ZONE, "upgrade", kuma.RELEASE, str(KUMA_CHART), "--namespace", ns, "--reuse-values",
                  "--set", "controlPlane.mode=zone", "--set", f"controlPlane.zone={ZONE}",
                  "--set", "ingress.enabled=true",
                  "--set", f"controlPlane.kdsGlobalAddress=grpcs://{address}:{KDS_PORT}",
                  "--set", "controlPlane.tls.kdsZoneClient.skipVerify=true", "--timeout", f"{WAIT_S:.0f}s")
        kube.kubectl(ZONE, *rollout)
    with step("poll until the zone is online"):
        poll("the zone online on the global", lambda: zone_online(started))
    way.wall_s = time.monotonic() - begin
    return way, exported


def pulumi_up(assets: Assets, started: Started, *, skip_checkpoints: bool) -> Way:
    address = started.federation.control_plane_address(GLOBAL)
    config = stack_config(str(started.kube.kubeconfig), GLOBAL, {ZONE: ZONE}, kds_tls(address))
    config["mesh-federation:kdsTls"] = {"mode": "skipVerify"}
    config["mesh-federation:global"] = {"kubeContext": GLOBAL, "kdsAddress": address}
    config["mesh-federation:readyTimeoutSeconds"] = int(WAIT_S)
    stack = Pulumi(assets, clone_project(started.workdir / "project"), started.workdir / "backend",
                   started.workdir / "home", "bench")
    stack.init(config)
    events = started.workdir / "events.jsonl"
    env = stack.env()
    env["PULUMI_DEBUG_COMMANDS"] = "true"  # `--event-log` is one of the CLI's debug flags
    if skip_checkpoints:
        env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    run = run_measured(stack.argv("up", "--yes", "--skip-preview", "--event-log", str(events)),
                       cwd=stack.project, env=env, timeout_s=3 * WAIT_S)
    if run.returncode != 0:
        raise RuntimeError(f"pulumi up failed ({run.returncode}):\n{run.stdout[-4000:]}\n"
                           f"{run.stderr[-3000:]}")
    name = "pulumi up" + (" (PULUMI_SKIP_CHECKPOINTS)" if skip_checkpoints else "")
    return Way(name, run.wall_s, phases(events), run.peak_rss_mb)


def phases(event_log: Path) -> list[tuple[str, float]]:
    """Where `pulumi up`'s time went, from its event log: (part, seconds), whole seconds."""
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    export: list[int] = []
    first = last = None
    for line in event_log.read_text().splitlines():
        event = json.loads(line)
        stamp = int(event.get("timestamp") or 0)
        first = stamp if first is None else first
        last = stamp
        if "diagnosticEvent" in event and event["diagnosticEvent"].get("message", "").startswith(f"{ZONE}: "):
            message = event["diagnosticEvent"]["message"]
            if "kdsGlobalAddress" not in message:  # the switch's summary line is not the export's
                export.append(stamp)
        for key, seen in (("resourcePreEvent", starts), ("resOutputsEvent", ends)):
            if key in event:
                urn = event[key]["metadata"]["urn"]
                seen.setdefault(urn, stamp) if seen is starts else seen.__setitem__(urn, stamp)

    def span(match: Callable[[str], bool]) -> float:
        urns = [u for u in starts if match(u)]
        if not urns:
            return 0.0
        return float(max(ends.get(u, last or 0) for u in urns) - min(starts[u] for u in urns))

    copy_types = ("kubernetes:core/v1:Secret", "kubernetes:kuma.io/")

    def command(word: str) -> Callable[[str], bool]:
        return lambda urn: "command:local:Command" in urn and word in urn
    return [
        ("export (the zone's progress lines)", float(max(export) - min(export)) if export else 0.0),
        ("global release", span(lambda u: "kubernetes:helm.sh/v3:Release" in u and "global" in u)),
        ("copies", span(lambda u: any(f"::{t}" in u or f"${t}" in u for t in copy_types))),
        ("zone switch (helm upgrade, rollout)", span(command("upgrade"))),
        ("check (wait for KDS and verify)", span(command("check"))),
        ("whole engine run", float((last or 0) - (first or 0))),
    ]


WAYS = ("guide", "up", "up-skip-checkpoints")


def one_size(assets: Assets, root: Path, policies: int, ways: Sequence[str]) -> list[Way]:
    """Each way from a fresh federation, printed as soon as it is done (a long run cut short
    keeps what it measured)."""
    done: list[Way] = []
    print(f"## {policies} policies", flush=True)
    for name in ways:
        with fresh_federation(assets, root, f"{name}-{policies}", policies) as started:
            complete = zone_export(started)
            if name == "guide":
                way, exported = the_guide(assets, started, complete)
                way.parts.append((f"kumactl's export held {len(documents(exported))} of the "
                                  f"{len(complete)} objects the program's export finds", 0.0))
            else:
                way = pulumi_up(assets, started, skip_checkpoints=name == "up-skip-checkpoints")
                poll("the zone online on the global", lambda: zone_online(started))
            every_copy_on_the_global(started, complete)
        print(describe(way), flush=True)
        done.append(way)
    return done


def zone_export(started: Started) -> list[dict[str, Any]]:
    """Every object the zone has to federate, read (untimed) before either way changes it: the
    program's export, which pages."""
    return documents(observe.program_export(started.zone_token, "--api-url", started.zone_api,
                                            timeout=WAIT_S))


def describe(way: Way) -> str:
    memory = f", peak RSS {way.peak_rss_mb:.0f} MB" if way.peak_rss_mb is not None else ""
    parts = (f"  {name}: {seconds:.1f} s" if seconds else f"  {name}" for name, seconds in way.parts)
    return "\n".join([f"{way.name}: {way.wall_s:.1f} s{memory}", *parts])


def ratio_line(ways: Sequence[Way]) -> str | None:
    """The last line: the guide's script against the first `pulumi up` measured."""
    guide = next((w for w in ways if w.name == "guide script"), None)
    up = next((w for w in ways if w.name.startswith("pulumi up")), None)
    if guide is None or up is None:
        return None
    return (f"guide script: {guide.wall_s:.1f} s; {up.name}: {up.wall_s:.1f} s; "
            f"ratio: {up.wall_s / guide.wall_s:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--policies", default="300", help="comma-separated sizes (default 300)")
    parser.add_argument("--skip-checkpoints-too", action="store_true",
                        help="also a pulumi up with PULUMI_SKIP_CHECKPOINTS=true, from a fresh start")
    parser.add_argument("--ways", default="guide,up",
                        help=f"comma-separated, in order, from {', '.join(WAYS)} (default guide,up)")
    args = parser.parse_args(argv)
    ways = args.ways.split(",") + (["up-skip-checkpoints"] if args.skip_checkpoints_too else [])
    if not set(ways) <= set(WAYS):
        parser.error(f"--ways: {', '.join(sorted(set(ways) - set(WAYS)))} unknown; known: {', '.join(WAYS)}")
    assets = cached_assets()
    missing = federation_missing_reason(assets)
    if missing or os.geteuid() != 0:
        print(f"cannot run: {missing or 'not root (network namespaces)'}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="guide-vs-up-"))
    try:
        for size in (int(s) for s in args.policies.split(",")):
            last = ratio_line(one_size(assets, root, size, ways))
            if last:
                print(last, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
