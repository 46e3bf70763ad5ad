"""Step 1 and 2 of the guide: the global control plane release and its KDS sync address."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.chart_source import ChartSource
from components.config import KdsAddress
from components.helm_values import global_values
from components.products import KDS_PORT


@dataclass
class GlobalControlPlaneArgs:
    source: ChartSource
    release_name: str
    namespace: str
    provider: k8s.Provider
    ready_timeout_seconds: int = 600
    kds_address: KdsAddress | None = None
    extra_values: Mapping[str, Any] = field(default_factory=dict)


def zone_sync_service_name(args: GlobalControlPlaneArgs) -> str:
    """The chart names the Service after the chart (or nameOverride), never after the release,
    unless controlPlane.globalZoneSyncService.name is set."""
    values: Any = args.extra_values
    for key in (*args.source.product.values_prefix, "controlPlane", "globalZoneSyncService"):
        values = values.get(key, {}) if isinstance(values, Mapping) else {}
    configured = values.get("name") if isinstance(values, Mapping) else None
    return str(configured) if configured else args.source.product.global_zone_sync_service


def _field(obj: Any, snake: str, camel: str) -> Any:
    """Typed Pulumi outputs expose attributes; raw mappings (mocks, older SDKs) use camelCase."""
    if obj is None:
        return None
    if type(obj) is dict:
        return obj.get(camel, obj.get(snake))
    return getattr(obj, snake, None)


def load_balancer_host(status: Any, service: str) -> str:
    load_balancer = _field(status, "load_balancer", "loadBalancer")
    for entry in _field(load_balancer, "ingress", "ingress") or []:
        host = _field(entry, "ip", "ip") or _field(entry, "hostname", "hostname")
        if host:
            return str(host)
    raise RuntimeError(
        f"Service {service} has no LoadBalancer address yet. The cluster may have no LoadBalancer "
        "controller (on minikube run `minikube tunnel`), or set mesh-federation:global.kdsAddress "
        "to an address the zones can reach (e.g. host.minikube.internal)."
    )


class GlobalControlPlane(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    kds_address: pulumi.Output[str]
    kds_url: pulumi.Output[str]
    values: dict[str, Any]

    def __init__(self, name: str, args: GlobalControlPlaneArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:GlobalControlPlane", name, None, opts)
        self.values = global_values(args.source.product, args.extra_values)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=args.release_name,
                chart=args.source.chart,
                version=None if args.source.is_local else args.source.version,
                repository_opts=args.source.repository_opts(),
                namespace=args.namespace,
                create_namespace=True,
                values=self.values,
                # Helm waits for the control plane Deployment and for the zone-sync
                # LoadBalancer to get an address; bounded so a pending LoadBalancer fails the
                # update with Helm's reason instead of hanging (see README, "Waiting").
                timeout=args.ready_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        if args.kds_address is not None:
            self.kds_address = pulumi.Output.from_input(
                f"{args.kds_address.host}:{args.kds_address.port}")
        else:
            service_name = zone_sync_service_name(args)
            # The id comes from the release's status: unknown until the release exists, so a
            # preview of a new stack reads nothing and the address flows on as an unknown.
            service = k8s.core.v1.Service.get(
                f"{name}-zone-sync",
                self.release.status.apply(lambda s: f"{s.namespace}/{service_name}"),
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                            depends_on=[self.release]),
            )
            self.kds_address = service.status.apply(
                lambda status: f"{load_balancer_host(status, service_name)}:{KDS_PORT}")
        self.kds_url = self.kds_address.apply(lambda address: f"grpcs://{address}")
        self.register_outputs({"kdsAddress": self.kds_address, "kdsUrl": self.kds_url,
                               "release": self.release.status})

