"""What the zone control plane is: GET /, GET /config, GET /_resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from components.export.model import ControlPlaneInfo, ExportError, ResourceType

if TYPE_CHECKING:
    from components.clients.kuma_api import KumaApiClient


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def parse_info(index: Any, config: Any) -> ControlPlaneInfo:
    if not isinstance(index, Mapping) or not isinstance(config, Mapping):
        raise ExportError("GET / or GET /config did not answer a JSON object: not a Kuma API?")
    product = index.get("product") or index.get("tagline") or "Kuma"
    zone = _get(config, "multizone", "zone", "name")
    global_address = _get(config, "multizone", "zone", "globalAddress")
    namespace = _get(config, "store", "kubernetes", "systemNamespace")
    return ControlPlaneInfo(
        product=str(product),
        version=str(index.get("version", "unknown")),
        mode=str(config.get("mode", "standalone")),
        environment=str(config.get("environment", "universal")),
        zone_name=str(zone) if zone else None,
        global_address=str(global_address) if global_address else None,
        system_namespace=str(namespace) if namespace else "kuma-system",
    )


def parse_resource_types(answer: Any) -> list[ResourceType]:
    items = _get(answer, "resources")
    if not isinstance(items, list):
        raise ExportError(
            "GET /_resources did not list resource types; the control plane is older than "
            "Kuma 2.6 (no /_resources) or is not a Kuma API"
        )
    types = []
    for item in items:
        if not isinstance(item, Mapping) or "name" not in item or "path" not in item:
            raise ExportError(f"GET /_resources: malformed entry {item!r}")
        policy = item.get("policy")
        types.append(
            ResourceType(
                name=str(item["name"]),
                path=str(item["path"]),
                scope=str(item.get("scope", "Mesh")),
                include_in_federation=bool(item.get("includeInFederation", False)),
                is_target_ref=bool(isinstance(policy, Mapping) and policy.get("isTargetRef")),
                read_only=bool(item.get("readOnly", False)),
            )
        )
    return types


def discover(client: KumaApiClient) -> ControlPlaneInfo:
    """Product, version, mode and namespaces of the control plane behind client."""
    return parse_info(client.get_json("/"), client.get_json("/config"))
