"""What the zone control plane is: GET / and GET /config (its resource types, GET /_resources,
are read by components/clients/resource_types.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.export.model import ControlPlaneInfo, ExportError


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
