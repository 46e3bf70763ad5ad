"""Clusters with Kuma's control planes running for real: the node namespace, etcd and the API
servers, the podless controllers and a kuma-cp kubelet per cluster, started and stopped as one.

Tier 2 (tests/tier2) and `tools/local` both run this. Everything started is stopped by `stop()`,
also after a failed start; every process dies with the harness (netns.die_with_parent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from local_federation import kuma
from local_federation.assets import Assets
from local_federation.kube import Environment, Kube
from local_federation.kubelet import KumaKubelet
from local_federation.netns import Node
from local_federation.podless import PodlessControllers, register_node
from local_federation.workloads import WorkloadPods


@dataclass
class Federation:
    """One node, one API server per cluster name, kuma-cp for each control plane Deployment."""

    assets: Assets
    workdir: Path
    names: Sequence[str]
    node: Node = field(default_factory=lambda: Node("node"))
    environment: Environment | None = None
    kube: Kube | None = None
    controllers: dict[str, PodlessControllers] = field(default_factory=dict)
    kubelets: dict[str, KumaKubelet] = field(default_factory=dict)
    workloads: dict[str, WorkloadPods] = field(default_factory=dict)

    def start(self) -> Kube:
        try:
            self.node.start()
            self.environment = Environment(self.assets, self.workdir, self.names, self.node)
            self.kube = self.environment.start()
            for subnet, name in enumerate(self.names):
                server = self.environment.servers[name]
                register_node(server, self.node.address)
                kubelet = self.kubelets[name] = KumaKubelet(
                    server, self.node, self.assets.path("kuma-cp"), self.workdir, subnet)
                controllers = self.controllers[name] = PodlessControllers(
                    server, delete_webhooks=False, readiness=kubelet.readiness)
                pods = self.workloads[name] = WorkloadPods(server, subnet, self.node.address)
                kubelet.start()
                controllers.start()
                pods.start()
        except BaseException:
            self.stop()
            raise
        return self.kube

    def control_plane_api(self, cluster: str) -> str:
        """The HTTP API (5681) of the cluster's kuma control plane on the machine's 127.0.0.1."""
        return self.kubelets[cluster].api_url(kuma.SYSTEM_NAMESPACE, kuma.CONTROL_PLANE)

    def control_plane_address(self, cluster: str) -> str:
        """The address of the cluster's control plane pod: a global's KDS address, the address
        its zone-sync LoadBalancer gets."""
        return self.kubelets[cluster].pod_address(kuma.SYSTEM_NAMESPACE, kuma.CONTROL_PLANE)

    def control_plane_state(self, cluster: str) -> tuple[str, bool] | None:
        """(template hash, ready) of the cluster's kuma-cp, or None while none runs."""
        return self.kubelets[cluster].state(kuma.SYSTEM_NAMESPACE, kuma.CONTROL_PLANE)

    def kill_control_plane(self, cluster: str) -> int:
        """SIGKILL the cluster's kuma-cp (a crash); its kubelet starts it again. Returns its pid."""
        return self.kubelets[cluster].kill(kuma.SYSTEM_NAMESPACE, kuma.CONTROL_PLANE)

    def standalone_zone(self, context: str, policies: int) -> tuple[str, str]:
        """The zone as Kuma's quickstart leaves it (the chart installed standalone, a demo mesh
        with mTLS and its CA, `policies` policies, the demo workloads); returns its API URL and
        admin token."""
        assert self.kube is not None, "start() first"
        kuma.install_standalone(self.kube, context)
        token = kuma.admin_token(self.kube, context, timeout=180)
        kuma.apply(self.kube, context, [*kuma.demo_mesh(context), *kuma.policies(policies)])
        kuma.apply(self.kube, context, kuma.demo_workloads())
        # kuma-cp makes the mesh's CA once mTLS is on: an export must see it.
        kuma.wait_for(self.kube, context, "the default mesh's CA", "secret", "default.ca-builtin-cert-ca-1",
                      "-n", kuma.SYSTEM_NAMESPACE)
        return self.control_plane_api(context), token

    def errors(self) -> list[str]:
        return [e for c in self.controllers.values() for e in c.errors] + \
            [e for k in self.kubelets.values() for e in k.errors] + \
            [e for p in self.workloads.values() for e in p.errors]

    def stop(self) -> None:
        for pods in self.workloads.values():
            pods.stop()
        for controllers in self.controllers.values():
            controllers.stop()
        for kubelet in self.kubelets.values():
            kubelet.stop()
        if self.environment is not None:
            self.environment.stop()
        self.node.stop()
