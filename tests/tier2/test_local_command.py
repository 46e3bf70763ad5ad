"""`tools/local` (issue 20) as a user runs it, stopped before the program (`up --zone-only`): the
clusters and the standalone zone, the files under .local/, the summary, a second `up`, `down`
leaving no process and no file of its own. (The full `up` runs the same Pulumi driver and stack
config that scenario (b) of test_federation.py runs.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local_federation.assets import REPO_ROOT, Assets
from local_federation.local import Layout


def local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local_federation", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


def test_up_zone_only_status_up_again_down(assets: Assets) -> None:
    layout = Layout()
    if layout.root.exists() or (REPO_ROOT / "Pulumi.local.yaml").exists():
        pytest.skip(f"{layout.root} exists: a local federation of the user's own, left alone")
    try:
        started = local("up", "--zone-only")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "zone zone-1 on the global: no global yet" in started.stdout, started.stdout
        contexts = [c["name"] for c in yaml.safe_load(layout.kubeconfig.read_text())["contexts"]]
        assert contexts == ["mesh-global", "mesh-zone"]
        endpoints = json.loads(layout.endpoints.read_text())
        assert set(endpoints) == {"global", "zones"} and endpoints["zones"]["zone-1"]["api"].startswith(
            "http://127.0.0.1:")
        pid = layout.daemon_pid()
        assert pid is not None
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                    text=True).stdout.split()]
        again = local("up", "--zone-only")
        assert again.returncode == 0 and "already running" in again.stdout
        assert local("status").returncode == 0
    finally:
        stopped = local("down")
    assert stopped.returncode == 0, stopped.stderr
    assert not layout.root.exists() and not (REPO_ROOT / "Pulumi.local.yaml").exists()
    assert not [p for p in [pid, *children] if Path(f"/proc/{p}").exists()]
    assert local("status").returncode == 1
