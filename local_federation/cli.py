"""`tools/local up [--zone-only] | status | down`: a local federation to try, look at and throw
away (README, first command). Everything it writes is under `.local/` (and the `local` stack's
file, Pulumi.local.yaml, git-ignored); `down` stops every process it started and removes both.

The clusters run inside network namespaces of their own (local_federation.netns); the machine
reaches them only through forwarders on 127.0.0.1 that the daemon holds (the kubeconfig's servers,
the control planes' APIs in endpoints.json): nothing listens on another address of the machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local_federation import kuma
from local_federation.assets import REPO_ROOT, cached_assets, federation_missing_reason
from local_federation.kube import Kube
from local_federation.local import GLOBAL_CONTEXT, ZONE_CONTEXT, ZONE_NAME, Layout, serve
from local_federation.observe import KumaApi, KumaApiError, connected
from local_federation.pulumi_cli import Pulumi
from local_federation.stack import SERVER_KEY, KdsTls, stack_config

STACK = "local"
PASSPHRASE = "local-federation"  # the local stack's, set by the command (nothing secret is real here)
START_TIMEOUT = 420


def _say(text: str) -> None:
    print(f"[tools/local] {text}", flush=True)


def stack(layout: Layout) -> Pulumi:
    driver = Pulumi(cached_assets(), REPO_ROOT, layout.root / "backend", layout.root / "pulumi-home", STACK)
    driver.passphrase = PASSPHRASE
    return driver


def up(layout: Layout, zone_only: bool) -> int:
    if layout.daemon_pid() is not None and layout.ready.exists():
        _say("a local federation is already running")
        return status(layout)
    reason = federation_missing_reason(cached_assets())
    if reason:
        _say(f"cannot start: {reason}. Nothing was started.")
        return 1
    layout.logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _say("starting etcd, two API servers (mesh-global, mesh-zone) and kuma-cp for the zone ...")
    with (layout.logs / "daemon.log").open("ab") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "local_federation", "serve"], cwd=REPO_ROOT,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    while not layout.ready.exists():
        if daemon.poll() is not None or time.monotonic() - started > START_TIMEOUT:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(60)
            tail = (layout.logs / "daemon.log").read_text(errors="replace").strip().splitlines()[-1:]
            _say(f"the local federation did not start: {' '.join(tail)} (log: {layout.logs / 'daemon.log'})")
            return 1
        time.sleep(1)
    _say(f"the zone is up, standalone, as Kuma's quickstart leaves it ({time.monotonic() - started:.0f} s)")
    if not zone_only:
        code = federate(layout)
        if code:
            return code
    return status(layout)


def federate(layout: Layout) -> int:
    tls = KdsTls(**json.loads(layout.kds.read_text()))
    driver = stack(layout)
    if not (REPO_ROOT / f"Pulumi.{STACK}.yaml").exists():
        driver.init(stack_config(str(layout.kubeconfig), GLOBAL_CONTEXT, {ZONE_NAME: ZONE_CONTEXT}, tls),
                    secrets={SERVER_KEY: tls.key_pem})
    for step, run in (("pulumi preview", driver.preview), ("pulumi up", driver.up)):
        started = time.monotonic()
        _say(f"{step} on the local stack ...")
        result = run(check=False)
        (layout.logs / f"{step.replace(' ', '-')}.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            _say(f"{step} failed; its output: {layout.logs / (step.replace(' ', '-') + '.log')}")
            return 1
        _say(f"{step}: done in {time.monotonic() - started:.0f} s")
    return 0


def _zone_online(endpoints: dict[str, Any], kube: Kube) -> str:
    try:
        token = kuma.admin_token(kube, GLOBAL_CONTEXT, timeout=1)
        api = KumaApi(endpoints["global"]["api"], token, timeout=5.0)
        return "online" if connected(api.zone_subscription(ZONE_NAME)) else "offline"
    except KumaApiError as exc:
        return f"not known to the global (HTTP {exc.status})"
    except Exception as exc:
        return f"no global yet ({type(exc).__name__})"


def status(layout: Layout) -> int:
    if layout.daemon_pid() is None or not layout.ready.exists():
        _say("no local federation is running (tools/local up starts one)")
        return 1
    endpoints = layout.read_endpoints()
    kube = Kube(layout.kubeconfig, cached_assets())
    copies = 0
    if (layout.root / "backend").exists():
        with_state = stack(layout).run("stack", "export", check=False)
        if with_state.returncode == 0:
            resources = json.loads(with_state.stdout)["deployment"].get("resources") or []
            copies = sum(1 for r in resources if str(r.get("parent", "")).endswith("::exported"))
    kubectl = f"kubectl --kubeconfig {layout.kubeconfig}"
    print(f"""
zone {ZONE_NAME} on the global: {_zone_online(endpoints, kube)}
objects copied to the global:  {copies}
global GUI:                    {endpoints['global']['api']}/gui
zone API:                      {endpoints['zones'][ZONE_NAME]['api']}
kubeconfig:                    {layout.kubeconfig} (contexts {GLOBAL_CONTEXT}, {ZONE_CONTEXT})
look around:
  {kubectl} --context {ZONE_CONTEXT} get meshes,meshtimeouts,meshretries,meshcircuitbreakers -A
  {kubectl} --context {GLOBAL_CONTEXT} get meshes,secrets -n kuma-system
federate by hand (after `up --zone-only`), with the same stack the command uses:
  PULUMI_BACKEND_URL=file://{layout.root / 'backend'} PULUMI_CONFIG_PASSPHRASE={PASSPHRASE} \\
  PULUMI_HOME={layout.root / 'pulumi-home'} pulumi up --stack {STACK}
stop and remove everything: tools/local down
""")
    return 0


def down(layout: Layout) -> int:
    pid = layout.daemon_pid()
    stack_file = REPO_ROOT / f"Pulumi.{STACK}.yaml"
    if pid is None and not layout.root.exists() and not stack_file.exists():
        _say("no local federation is running, nothing to remove")
        return 0
    if pid is not None:
        subprocess.run(["kill", "-TERM", str(pid)], check=False)
        deadline = time.monotonic() + 90
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
    shutil.rmtree(layout.root, ignore_errors=True)
    stack_file.unlink(missing_ok=True)
    _say("stopped every process it started; .local/ and Pulumi.local.yaml removed")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/local", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the clusters, the standalone zone, then federate it")
    start.add_argument("--zone-only", action="store_true", help="stop before pulumi preview / up")
    commands.add_parser("status", help="the summary")
    commands.add_parser("down", help="stop everything and remove .local/")
    commands.add_parser("serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    layout = Layout()
    if args.command == "serve":
        serve(layout)
        return 0
    if args.command == "up":
        return up(layout, args.zone_only)
    return status(layout) if args.command == "status" else down(layout)
