"""What differs between the two charts the program can install: Kong Mesh and Kuma.

One place for chart names, repositories, namespaces and the names the chart gives its
Services, so that nothing else in the program spells them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    key: str
    chart: str
    repository: str
    namespace: str
    # The kong-mesh chart wraps the kuma chart as a subchart: every kuma value sits under `kuma.`.
    values_prefix: tuple[str, ...]
    # The chart names its Services after the chart (or nameOverride), never after the release.
    service_prefix: str
    default_chart_version: str

    @property
    def control_plane_service(self) -> str:
        return f"{self.service_prefix}-control-plane"

    @property
    def control_plane_deployment(self) -> str:
        return f"{self.service_prefix}-control-plane"

    @property
    def global_zone_sync_service(self) -> str:
        return f"{self.service_prefix}-global-zone-sync"


# The newest 2.x patch of both products (2.13.12 is the newest of the 2.13 LTS line). 3.x charts
# are refused in config: 3.0 changed the federation flow this program automates.
NEWEST_2X = "2.14.7"
LTS_2X = "2.13.12"

KONG_MESH = Product(
    key="kong-mesh",
    chart="kong-mesh",
    repository="https://kong.github.io/kong-mesh-charts",
    namespace="kong-mesh-system",
    values_prefix=("kuma",),
    service_prefix="kong-mesh",
    default_chart_version=NEWEST_2X
)

KUMA = Product(
    key="kuma",
    chart="kuma",
    repository="https://kumahq.github.io/charts",
    namespace="kuma-system",
    values_prefix=(),
    service_prefix="kuma",
    default_chart_version=NEWEST_2X
)

PRODUCTS: dict[str, Product] = {p.key: p for p in (KONG_MESH, KUMA)}

KDS_PORT = 5685
API_PORT = 5681


def version_tuple(version: str) -> tuple[int, ...]:
    """'2.14.3', 'v2.10.1-rc.1', '2.9.0+kong' -> (2, 14, 3); the numeric core only, padded to
    three parts so that '2.14' and '2.14.0' compare equal."""
    match = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", version.strip())
    if not match:
        return ()
    return tuple(int(part) if part is not None else 0 for part in match.groups())
