"""Tier 2: the program against the real Kuma control plane (kuma-cp 2.14.3 in Kubernetes mode on
the tier's API servers, run by local_federation's podless kubelet inside network namespaces of
its own). Skipped, saying why, when the tools, the chart or kuma-cp / kumactl are missing.

One federation per module (`running`): starting it and the standalone zone costs about a
minute, so the scenarios of a module share it and run in file order.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_federation.assets import Assets, cached_assets, federation_missing_reason
from local_federation.federation import Federation
from local_federation.kube import Kube
from local_federation.pulumi_cli import Pulumi

GLOBAL, ZONE = "global", "zone-1"
# "A few hundred policies of several types" (issue 18); a module may set its own POLICIES.
POLICIES = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real_kuma)


def not_run_reason(assets: Assets) -> str | None:
    """Why tier 2 cannot run here (an environmental reason: a skip, never a failure), or None."""
    if os.geteuid() != 0:
        reason: str | None = "not root: the tier makes network namespaces (unshare --net, veth pairs)"
    else:
        reason = federation_missing_reason(assets)
    return f"tier 2 NOT RUN: {reason}" if reason else None


def gui_missing_reason() -> str | None:
    """Why the GUI scenario cannot run here (it skips), or None."""
    if shutil.which("chromium") is None:
        return "chromium not found (Debian's package: apt-get install chromium)"
    return None


def tier2_line(assets: Assets) -> str:
    """CI's last line about tier 2 (.ci/run)."""
    reason = not_run_reason(assets)
    if reason:
        return reason
    gui = gui_missing_reason()
    return (f"tier 2 ran (kuma-cp {assets.path('kuma-cp')})"
            + (f"; its GUI scenario NOT RUN: {gui}" if gui else ""))


@pytest.fixture(scope="session")
def assets() -> Assets:
    found = cached_assets()
    reason = not_run_reason(found)
    if reason:
        pytest.skip(reason)
    return found


@dataclass
class Running:
    federation: Federation
    kube: Kube
    workdir: Path
    zone_api: str
    zone_token: str
    # The stack scenario (b) federated with; the later scenarios of the module read it.
    stack: Pulumi | None = None

    def pids(self) -> list[int]:
        """Every process the federation started (servers, kuma-cp, namespace holders)."""
        found: list[int] = []
        env = self.federation.environment
        if env is not None:
            found += [s.process.pid for s in env.servers.values() if s.process is not None]
            if env.etcd is not None and env.etcd.process is not None:
                found.append(env.etcd.process.pid)
        for kubelet in self.federation.kubelets.values():
            found += [p for r in kubelet.running.values() for p in (r.process.pid, r.pod.pid)]
        if self.federation.node.holder is not None:
            found.append(self.federation.node.holder.pid)
        return found


@pytest.fixture(scope="module")
def running(assets: Assets, tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("federation")
    federation = Federation(assets, workdir, [GLOBAL, ZONE])
    try:
        kube = federation.start()
        url, token = federation.standalone_zone(ZONE, getattr(request.module, "POLICIES", POLICIES))
        yield Running(federation, kube, workdir, url, token)
    finally:
        federation.stop()
