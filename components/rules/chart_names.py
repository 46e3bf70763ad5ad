"""The names and ports the chart gives the control plane's Services, as the user's values set them.

Read from the chart's own templates (charts/kuma/templates/_helpers.tpl, cp-service.yaml,
cp-global-sync-service.yaml):

- `kuma.controlPlane.serviceName` is `controlPlane.service.name`, else `<chart>-control-plane`;
  the Service's API ports (5681 http, 5682 https) are fixed in the template.
- `kuma.controlPlane.globalZoneSync.serviceName` is `controlPlane.globalZoneSyncService.name`,
  else `<chart>-global-zone-sync`; its one port is `controlPlane.globalZoneSyncService.port`
  and has no `targetPort`, so Kubernetes forwards to that same port on the control plane pod,
  where the KDS server listens on `KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT` (5685 by default).

`<chart>` is the chart's name (`kuma.name`), which `nameOverride` would change: refused in config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.rules.products import KDS_PORT, Product

KDS_GRPC_PORT_ENV = "KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT"


def chart_value(product: Product, values: Mapping[str, Any], *path: str) -> Any:
    """The value at `path` of the kuma chart (under `kuma.` for kong-mesh), or None."""
    found: Any = values
    for key in (*product.values_prefix, *path):
        found = found.get(key) if isinstance(found, Mapping) else None
    return found


def control_plane_service(product: Product, values: Mapping[str, Any]) -> str:
    """The Service in front of the control plane's API (`kuma.controlPlane.serviceName`)."""
    configured = chart_value(product, values, "controlPlane", "service", "name")
    return str(configured) if configured else product.control_plane_service


def zone_sync_service(product: Product, values: Mapping[str, Any]) -> str:
    """The global's KDS Service (`kuma.controlPlane.globalZoneSync.serviceName`)."""
    configured = chart_value(product, values, "controlPlane", "globalZoneSyncService", "name")
    return str(configured) if configured else product.global_zone_sync_service


def zone_sync_port(product: Product, values: Mapping[str, Any]) -> int:
    """The port zones dial on the global's KDS Service (`globalZoneSyncService.port`), the chart's
    default when unset. Config validation refuses one that is not a port number (and reads this
    while it does: such a value counts as unset here, its problem is said there)."""
    configured = chart_value(product, values, "controlPlane", "globalZoneSyncService", "port")
    valid = str(configured).isdigit() and 1 <= int(str(configured)) <= 65535
    return int(str(configured)) if valid else KDS_PORT


def service_enabled(product: Product, values: Mapping[str, Any]) -> bool:
    """`controlPlane.service.enabled` (default true): false renders no API Service at all."""
    configured = chart_value(product, values, "controlPlane", "service", "enabled")
    return configured is None or configured is True or str(configured).lower() == "true"
