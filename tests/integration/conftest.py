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
from tests.integration.tools import (
    Tools,
    cached_tools,
    not_built_reason,
    plugins_report,
    real_tls_missing_reason,
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which language host and command and TLS providers the tier ran with (real or stand-in)."""
    found = cached_tools()
    if not_built_reason(found) is None:
        terminalreporter.write_line(plugins_report(found))


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


@pytest.fixture
def real_tls_plugin(tools: Tools) -> None:
    """Skips, saying why, where the cache has no real pulumi-tls plugin of the SDK's version (the
    default `kdsTls.mode: generated` needs it; it has no stand-in). First in a test's arguments,
    so that no cluster starts for nothing."""
    reason = real_tls_missing_reason(tools)
    if reason:
        pytest.skip(reason)
