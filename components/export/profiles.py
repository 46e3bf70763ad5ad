"""Which resource types a profile exports: kumactl 2.14's rules, verbatim."""

from __future__ import annotations

from collections.abc import Iterable

from components.clients.resource_types import ResourceType
from components.export.model import FEDERATION_PROFILES, PROFILES, ExportError

MESH = "Mesh"
SECRET = "Secret"
GLOBAL_SECRET = "GlobalSecret"
DATAPLANE = "Dataplane"
DATAPLANE_INSIGHT = "DataplaneInsight"
MESH_GATEWAY = "MeshGateway"

# Types kumactl marks AdminOnly: exported only with include_admin or a
# federation profile (federation cannot work without the mesh CAs).
ADMIN_ONLY = frozenset({SECRET, GLOBAL_SECRET})

# The types kumactl 2.14 knows (Kuma's registry), plus Kong Mesh's policies.
# A type outside this set is reported, never silently dropped or guessed at.
KNOWN_TYPES = frozenset(
    {
        "CircuitBreaker", "Dataplane", "DataplaneInsight", "ExternalService", "FaultInjection",
        "GlobalSecret", "HealthCheck", "HostnameGenerator", "Mesh", "MeshAccessLog",
        "MeshCircuitBreaker", "MeshExternalService", "MeshFaultInjection", "MeshGateway",
        "MeshGatewayRoute", "MeshHTTPRoute", "MeshHealthCheck", "MeshIdentity", "MeshInsight",
        "MeshLoadBalancingStrategy", "MeshMetric", "MeshMultiZoneService",
        "MeshOpenTelemetryBackend", "MeshPassthrough", "MeshProxyPatch", "MeshRateLimit",
        "MeshRetry", "MeshService", "MeshTCPRoute", "MeshTLS", "MeshTimeout", "MeshTrace",
        "MeshTrafficPermission", "MeshTrust", "MeshZoneAddress", "ProxyTemplate", "RateLimit",
        "Retry", "Secret", "ServiceInsight", "Timeout", "TrafficLog", "TrafficPermission",
        "TrafficRoute", "TrafficTrace", "VirtualOutbound", "Workload", "Zone", "ZoneEgress",
        "ZoneEgressInsight", "ZoneIngress", "ZoneIngressInsight", "ZoneInsight",
        # Kong Mesh: its policies, and its RBAC and audit types (global-scoped); each exported
        # only where the zone's /_resources marks it includeInFederation.
        "MeshOPA", "MeshGlobalRateLimit", "OPAPolicy", "AccessRole", "AccessRoleBinding",
        "AccessAudit",
    }
)  # fmt: skip

# kumactl sorts the selected types stably by this priority: Meshes first,
# then Secrets (meshes reference them), GlobalSecrets last (signing keys).
_PRIORITY = {MESH: 0, SECRET: 1, GLOBAL_SECRET: 99}


def priority(type_name: str) -> int:
    return _PRIORITY.get(type_name, 50)


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ExportError(f"invalid profile {profile!r}: choose one of {', '.join(PROFILES)}")


def select_types(
    available: Iterable[ResourceType], profile: str, include_admin: bool
) -> tuple[list[ResourceType], list[str]]:
    """The types to export, in kumactl's order, and the names of unknown types."""
    check_profile(profile)
    selected: list[ResourceType] = []
    unknown: list[str] = []
    for rtype in available:
        if rtype.name not in KNOWN_TYPES:
            unknown.append(rtype.name)
            continue
        if rtype.name in ADMIN_ONLY and profile not in FEDERATION_PROFILES and not include_admin:
            continue
        if profile == "federation" and (
            not rtype.include_in_federation or rtype.is_target_ref or rtype.name == MESH_GATEWAY
        ):
            continue
        if profile == "federation-with-policies" and not rtype.include_in_federation:
            continue
        if profile == "no-dataplanes" and rtype.name in (DATAPLANE, DATAPLANE_INSIGHT):
            continue
        selected.append(rtype)
    selected.sort(key=lambda t: priority(t.name))  # list.sort is stable, like sort.SliceStable
    return selected, unknown
