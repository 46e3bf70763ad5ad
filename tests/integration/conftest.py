"""The integration tier: the real Pulumi CLI, provider plugins, Helm and kube-apiservers.

Runs when `tools/build` has filled the tools cache and ../shared/upstream holds the kuma chart;
otherwise every test here is skipped with the reason (and `.ci/run` says so loudly).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.integration.clusters import Clusters, running_clusters
from tests.integration.quickstart import chart_present
from tests.integration.tools import Tools, cached_tools, not_built_reason


@pytest.fixture(scope="session")
def tools() -> Tools:
    found = cached_tools()
    reason = not_built_reason(found) or chart_present()
    if reason:
        pytest.skip(reason)
    return found


@pytest.fixture
def clusters(tools: Tools, tmp_path: Path) -> Iterator[Clusters]:
    """A global and two zone clusters, new for each test (their own etcd and API servers)."""
    with running_clusters(tools, tmp_path / "clusters", ["global", "zone-1", "zone-2"]) as running:
        yield running
        assert not running.controller_errors(), running.controller_errors()


@pytest.fixture(scope="session")
def kds_ca() -> trustme.CA:
    return trustme.CA()
