"""Tier 1's clusters: the local_federation package's API servers and podless controllers on the
machine's loopback, with the kuma chart's webhooks deleted as they appear (no kuma-cp runs here).
The code lives in local_federation.kube and local_federation.podless (shared with tier 2 and
tools/local); this module composes it for the tier-1 fixtures.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_federation.kube import ADMIN_TOKEN, ApiServer, Environment, Kube, free_port, helm_env
from local_federation.podless import PodlessControllers
from tests.integration.tools import Tools

__all__ = ["ADMIN_TOKEN", "ApiServer", "Clusters", "PodlessControllers", "free_port", "helm_env",
           "running_clusters"]


@dataclass
class Clusters:
    """Running API servers, their kubeconfig and their podless controllers."""

    kubeconfig: Path
    servers: dict[str, ApiServer]
    controllers: dict[str, PodlessControllers]
    tools: Tools

    @property
    def _kube(self) -> Kube:
        return Kube(self.kubeconfig, self.tools)

    def kubectl(self, context: str, *args: str, input: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._kube.kubectl(context, *args, input=input, check=check)

    def helm(self, context: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self._kube.helm(context, *args, input=input)

    def get_json(self, context: str, *args: str) -> Any:
        return self._kube.get_json(context, *args)

    def controller_errors(self) -> list[str]:
        return [error for c in self.controllers.values() for error in c.errors]


@contextlib.contextmanager
def running_clusters(tools: Tools, workdir: Path, names: Sequence[str], *,
                     delete_webhooks: bool = True) -> Iterator[Clusters]:
    """Start etcd and one API server per name; yield them; stop everything, whatever happens."""
    environment = Environment(tools, workdir, names)
    controllers: dict[str, PodlessControllers] = {}
    try:
        environment.start()
        for name in names:
            controllers[name] = PodlessControllers(environment.servers[name], delete_webhooks=delete_webhooks)
            controllers[name].start()
        yield Clusters(environment.kubeconfig, environment.servers, controllers, tools)
    finally:
        for controller in controllers.values():
            controller.stop()
        environment.stop()
