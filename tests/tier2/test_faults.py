"""Faults during the federation, nothing lost (tier 2; a federation of its own for the module):
the global's kuma-cp killed in the middle of `pulumi up` (a crash: its kubelet starts it again),
a `pulumi up` interrupted with Ctrl-C after the copies and before the zone's switch, then one
`pulumi up` that converges while the zone's kuma-cp is restarted as the check waits for it.

The moment between the copies and the switch is made to last: a `helm` ahead of the real one on
the program's PATH holds the zone's `helm upgrade` until the test lets it go (`gated_helm`), as
a slow upgrade would. Ctrl-C reaches the CLI's whole process group, as a terminal sends it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local_federation import kuma
from local_federation.assets import Assets
from local_federation.pulumi_cli import Pulumi, clone_project
from tests.tier2.conftest import GLOBAL, ZONE, Running
from tests.tier2.steps import global_api, kds_tls_config, kumactl_export, on_cluster

CONTROL_PLANE = f"{kuma.SYSTEM_NAMESPACE}/{kuma.CONTROL_PLANE}"
POLICIES = 120  # this module's zone (tests/tier2/conftest.py `running`)


def gated_helm(directory: Path, real_helm: str, gate: Path) -> Path:
    """A `helm` that, for the zone's `helm upgrade`, marks `gate/reached` and waits for
    `gate/open` before running the real one; any other helm command runs at once."""
    directory.mkdir(parents=True)
    script = directory / "helm"
    script.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" upgrade "*" --kube-context {ZONE} "*)\n'
        f"  touch {shlex.quote(str(gate / 'reached'))}\n"
        f"  while [ ! -e {shlex.quote(str(gate / 'open'))} ]; do sleep 0.2; done ;;\n"
        "esac\n"
        f'exec {shlex.quote(real_helm)} "$@"\n')
    script.chmod(0o755)
    return directory


def wait_until(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def copy_keys(stack: Pulumi) -> Counter[tuple[str, str, str]]:
    """(kind, namespace, name) of every Kubernetes object the stack's state holds, counted."""
    keys: Counter[tuple[str, str, str]] = Counter()
    for resource in stack.resources():
        outputs: Mapping[str, Any] = resource.get("outputs") or {}
        meta = outputs.get("metadata")
        if str(resource["type"]).startswith("kubernetes:") and isinstance(meta, Mapping) \
                and "kind" in outputs:
            keys[(str(outputs["kind"]), str(meta.get("namespace") or ""), str(meta.get("name")))] += 1
    return keys


def document_key(document: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = document["metadata"]
    return (document["kind"], meta.get("namespace") or "", meta["name"])


def zone_revisions(running: Running) -> int:
    history = json.loads(running.kube.helm(ZONE, "history", kuma.RELEASE, "-n", kuma.SYSTEM_NAMESPACE,
                                           "-o", "json").stdout)
    return len(history)


def interrupted_up(stack: Pulumi, running: Running, gate: Path, log: Path,
                   kill_global_after: Callable[[], bool] | None = None) -> str:
    """`pulumi up` in the background: the global's kuma-cp killed once `kill_global_after` holds,
    Ctrl-C once the zone's switch is reached (the gate); what became of it."""
    up = stack.start_up(log)
    try:
        if kill_global_after is not None:
            wait_until("the moment to kill the global's kuma-cp",
                       lambda: up.poll() is not None or kill_global_after(), 600)
            running.federation.kill_control_plane(GLOBAL)
        wait_until("the zone's switch, or the end of `pulumi up`",
                   lambda: (gate / "reached").exists() or up.poll() is not None, 900)
        if up.poll() is not None:
            return f"ended before the switch, exit {up.returncode}"
        os.killpg(up.pid, signal.SIGINT)
        up.wait(timeout=300)
        assert up.returncode != 0, "an interrupted `pulumi up` said it succeeded"
        return "interrupted before the switch"
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def kill_the_zone_once_switched(running: Running, before: str, killed: list[int],
                                stop: threading.Event) -> None:
    """Once the zone's kuma-cp runs from the switched template and is ready (the rollout wait is
    over: the program's check starts polling), kill it once."""
    kubelet = running.federation.kubelets[ZONE]
    while not stop.is_set():
        current = kubelet.running.get(CONTROL_PLANE)
        if current is not None and current.hashed != before and current.ready:
            killed.append(running.federation.kill_control_plane(ZONE))
            return
        stop.wait(0.2)


def test_a_killed_and_interrupted_then_up_converges_with_nothing_lost(
        assets: Assets, running: Running, tmp_path: Path) -> None:
    exported = kumactl_export(assets, running)
    config, secrets = kds_tls_config(assets, running, running.federation.control_plane_address(GLOBAL))
    gate = tmp_path / "gate"
    gate.mkdir()
    stack = Pulumi(assets, clone_project(tmp_path / "project"), tmp_path / "backend", tmp_path / "home",
                   "faults", path_prefix=str(gated_helm(tmp_path / "gated-bin", assets.path("helm"), gate)))
    stack.init(config, secrets=secrets)

    # 1. The global's kuma-cp killed as soon as the first copy is on the global: the copies that
    # follow meet its webhooks down (failurePolicy Fail) until its kubelet has started it again.
    # 2. Ctrl-C once every copy is made and the zone's switch is about to start: in the same
    # `pulumi up` if it got that far, else in the next.
    first = next(d for d in exported if d["kind"] != "Mesh")
    outcomes = [interrupted_up(stack, running, gate, tmp_path / "up-1.log",
                               kill_global_after=lambda: on_cluster(running, GLOBAL, first) is not None)]
    if not (gate / "reached").exists():
        outcomes.append(interrupted_up(stack, running, gate, tmp_path / "up-2.log"))
    log = (tmp_path / "up-1.log").read_text()[-3000:]
    assert outcomes[-1] == "interrupted before the switch", (outcomes, log)
    assert zone_revisions(running) == 1, "the zone was switched by an interrupted `pulumi up`"

    # 3. The re-run converges; the zone's kuma-cp is killed once while the check waits for it.
    (gate / "open").touch()
    before = running.federation.kubelets[ZONE].running[CONTROL_PLANE].hashed
    killed: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=kill_the_zone_once_switched, args=(running, before, killed, stop),
                               daemon=True)
    watcher.start()
    try:
        stack.up()
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert killed, "the zone's kuma-cp was never killed while the check waited"
    check = stack.outputs()["zones"][ZONE]["check"]
    assert isinstance(check, dict) and check.get("online") is True, check
    last = global_api(running).get(f"/zones/{ZONE}/_overview")["zoneInsight"]["subscriptions"][-1]
    assert last.get("connectTime") and not last.get("disconnectTime"), last
    # Nothing lost: every copy on the global; nothing duplicated: each once in the state.
    missing = [d["metadata"]["name"] for d in exported if on_cluster(running, GLOBAL, d) is None]
    assert not missing, f"copies lost: {missing}"
    held = copy_keys(stack)
    assert not [k for k, n in held.items() if n > 1], "a copy held twice in the state"
    assert not [document_key(d) for d in exported if held[document_key(d)] != 1], "a copy not in the state"
    assert zone_revisions(running) == 2, "the zone was switched more than once"
    stack.preview("--expect-no-changes")
