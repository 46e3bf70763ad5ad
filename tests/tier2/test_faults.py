"""Faults during the federation, nothing lost (tier 2; a federation of its own for the module):
a `pulumi up` interrupted with Ctrl-C in the middle of the copies (before the zone's switch,
which waits for every copy), the global's kuma-cp killed in the middle of the next `pulumi up`
(a crash: its kubelet starts it again), and the zone's kuma-cp killed while the check waits for
the zone; then `pulumi up` converges: every copy once, the zone switched once and online, the
check green.

Ctrl-C goes where a terminal sends it: to the CLI's process group. The engine then starts no new
step and waits for the ones in flight (its plugins run in process groups of their own, so a
`helm upgrade` already running would finish): interrupting while copies are still being made is
what keeps the zone from switching.
"""

from __future__ import annotations

import json
import os
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
from tests.tier2.steps import document_key, kds_tls_config, on_cluster, project_export, zone_connected

POLICIES = 120  # this module's zone (tests/tier2/conftest.py `running`)


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


def zone_revisions(running: Running) -> int:
    history = json.loads(running.kube.helm(ZONE, "history", kuma.RELEASE, "-n", kuma.SYSTEM_NAMESPACE,
                                           "-o", "json").stdout)
    return len(history)


def background_up(stack: Pulumi, log: Path, when: Callable[[], bool], act: Callable[[int], object]) -> int:
    """`pulumi up` in the background; `act(pid)` once `when()` holds (if it does before the run
    ends); returns its exit code."""
    up = stack.start_up(log)
    try:
        wait_until(f"the moment to act on `pulumi up` ({log.name})",
                   lambda: up.poll() is not None or when(), 600)
        if up.poll() is None:
            act(up.pid)
        return up.wait(timeout=900)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def copies_started(log: Path) -> Callable[[], bool]:
    """True once the run's output shows a copy of a kuma.io object being created."""
    def started() -> bool:
        text = log.read_text(errors="replace") if log.exists() else ""
        return "kubernetes:kuma.io/" in text and " creating" in text
    return started


def kill_the_zone_once_switched(running: Running, before: str, killed: list[int],
                                stop: threading.Event) -> None:
    """Once the zone's kuma-cp runs from the switched template and is ready (the rollout wait is
    over: the program's check starts polling), kill it once."""
    while not stop.is_set():
        current = running.federation.control_plane_state(ZONE)
        if current is not None and current[0] != before and current[1]:
            killed.append(running.federation.kill_control_plane(ZONE))
            return
        stop.wait(0.2)


def test_a_killed_and_interrupted_then_up_converges_with_nothing_lost(
        assets: Assets, running: Running, tmp_path: Path) -> None:
    exported = project_export(running, "--api-url", running.zone_api)
    config, secrets = kds_tls_config(assets, running, running.federation.control_plane_address(GLOBAL))
    stack = Pulumi(assets, clone_project(tmp_path / "project"), tmp_path / "backend", tmp_path / "home",
                   "faults")
    stack.init(config, secrets=secrets)
    copies = [d for d in exported if d["kind"] not in ("Mesh", "Secret")]

    # 1. Ctrl-C as soon as the first copy is on the global: the rest are not all made, so the
    # zone's switch, which waits for every copy, never starts.
    interrupted = background_up(stack, tmp_path / "up-1.log",
                                lambda: on_cluster(running, GLOBAL, copies[0]) is not None,
                                lambda pid: os.killpg(pid, signal.SIGINT))
    log = (tmp_path / "up-1.log").read_text(errors="replace")
    assert interrupted != 0 and "^C received; cancelling" in log, log[-3000:]
    assert zone_revisions(running) == 1, "the zone was switched by an interrupted `pulumi up`"
    made = [d for d in copies if on_cluster(running, GLOBAL, d) is not None]
    assert 0 < len(made) < len(copies), f"{len(made)} of {len(copies)} copies made: not interrupted mid-way"

    # 2. The next `pulumi up`: the global's kuma-cp killed as it starts on the copies left (its
    # webhooks, failurePolicy Fail, down until its kubelet has started it again); 3. the zone's
    # kuma-cp killed once, whichever run switches the zone, while the check waits for it.
    current = running.federation.control_plane_state(ZONE)
    assert current is not None, "the zone's kuma-cp is not running"
    before = current[0]
    killed: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=kill_the_zone_once_switched, args=(running, before, killed, stop),
                               daemon=True)
    watcher.start()
    try:
        second = background_up(stack, tmp_path / "up-2.log", copies_started(tmp_path / "up-2.log"),
                               lambda _: running.federation.kill_control_plane(GLOBAL))
        stack.up()
    finally:
        stop.set()
        watcher.join(timeout=10)
    print(f"the run with the global's kuma-cp killed exited {second}")
    assert killed, "the zone's kuma-cp was never killed while the check waited"
    check = stack.outputs()["zones"][ZONE]["check"]
    assert isinstance(check, dict) and check.get("online") is True, check
    zone_connected(running)
    # Nothing lost: every copy on the global; nothing duplicated: each once in the state.
    missing = [d["metadata"]["name"] for d in exported if on_cluster(running, GLOBAL, d) is None]
    assert not missing, f"copies lost: {missing}"
    held = copy_keys(stack)
    assert not [k for k, n in held.items() if n > 1], "a copy held twice in the state"
    assert not [document_key(d) for d in exported if held[document_key(d)] != 1], "a copy not in the state"
    assert zone_revisions(running) == 2, "the zone was switched more than once"
    stack.preview("--expect-no-changes")
