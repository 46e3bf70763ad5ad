"""The files of a local federation under `.local/` at the repository root (git-ignored), and the
daemon that keeps it running: `python -m local_federation serve`.

`.local/` holds the kubeconfig (contexts mesh-global and mesh-zone, servers on 127.0.0.1
forwarded into the federation's network namespaces), `endpoints.json`, the KDS certificates, the
Pulumi backend and home, the logs, and the daemon's pid. The daemon runs the federation, answers
SIGTERM by stopping everything it started, and removes `run/` (the clusters' data) on its way out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_federation.assets import REPO_ROOT, cached_assets
from local_federation.federation import Federation
from local_federation.stack import kds_tls

GLOBAL_CONTEXT, ZONE_CONTEXT, ZONE_NAME = "mesh-global", "mesh-zone", "zone-1"
DEMO_POLICIES = 9


class _Under:
    """A path under the layout's root, read as an attribute (`layout.kubeconfig`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, layout: Layout, owner: type | None = None) -> Path:
        return layout.root / self.name


@dataclass(frozen=True)
class Layout:
    root: Path = REPO_ROOT / ".local"
    kubeconfig = _Under("kubeconfig")
    endpoints = _Under("endpoints.json")
    pid_file = _Under("daemon.pid")
    ready = _Under("ready")
    logs = _Under("logs")
    run = _Under("run")  # the clusters' data, removed when the daemon stops
    kds = _Under("kds-tls.json")

    def daemon_pid(self) -> int | None:
        """The running daemon's pid, or None (no file, or its process is gone)."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def read_endpoints(self) -> dict[str, Any]:
        return dict(json.loads(self.endpoints.read_text()))


def serve(layout: Layout) -> None:
    """Run the federation until SIGTERM / SIGINT; write what a user needs, then `ready`."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.pid_file.write_text(str(os.getpid()))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    federation = Federation(cached_assets(), layout.run, [GLOBAL_CONTEXT, ZONE_CONTEXT])
    try:
        federation.start()
        zone_api, _ = federation.standalone_zone(ZONE_CONTEXT, DEMO_POLICIES)
        shutil.copy(layout.run / "kubeconfig", layout.kubeconfig)
        layout.kubeconfig.chmod(0o600)
        layout.endpoints.write_text(json.dumps({
            "global": {"api": federation.control_plane_api(GLOBAL_CONTEXT)},
            "zones": {ZONE_NAME: {"api": zone_api}}}, indent=2) + "\n")
        tls = kds_tls(federation.control_plane_address(GLOBAL_CONTEXT))
        layout.kds.write_text(json.dumps(tls.__dict__))
        layout.kds.chmod(0o600)
        layout.ready.write_text("")
        while not stop.wait(1):
            errors = federation.errors()
            if errors:
                (layout.logs / "errors.log").write_text("\n".join(errors[-50:]) + "\n")
    finally:
        federation.stop()
        shutil.rmtree(layout.run, ignore_errors=True)
        for path in (layout.ready, layout.pid_file, layout.endpoints, layout.kubeconfig, layout.kds):
            path.unlink(missing_ok=True)
