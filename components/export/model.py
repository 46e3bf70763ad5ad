"""Value types of the export: options, results, errors (no I/O, cheap to import)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.clients.paging import MAX_PAGE_SIZE

PROFILES = ("all", "federation", "federation-with-policies", "no-dataplanes")
FEDERATION_PROFILES = frozenset({"federation", "federation-with-policies"})

# One deadline for a whole zone export (the command's --deadline, the program's
# mesh-federation:exportDeadlineSeconds): retries can never add up to an unbounded wait.
DEFAULT_DEADLINE_SECONDS = 300.0

SecretSource = Callable[[str], Sequence[Mapping[str, Any]]]


class ExportError(Exception):
    """The export cannot produce a complete, correct result; nothing is returned."""


@dataclass(frozen=True)
class ControlPlaneInfo:
    product: str
    version: str
    mode: str
    environment: str
    zone_name: str | None
    global_address: str | None
    system_namespace: str


@dataclass(frozen=True)
class ExportOptions:
    profile: str = "federation-with-policies"
    # The GLOBAL's system namespace; when it differs from the zone's, the exported objects are
    # moved there after the zone's namespace filter (never asked of the API with `namespace=`:
    # Kuma's Kubernetes mapper would set it on every object, workload namespaces included).
    target_namespace: str | None = None
    include_admin: bool = False
    concurrency: int = 32  # bench/README.md: 32 gets what 64 gets, 16 is 1.5x slower
    strip_zone_label: bool = False
    # When set, Secret and GlobalSecret come from this callable (called with
    # "Secret" or "GlobalSecret", returning Kubernetes Secret manifests)
    # instead of the Kuma API.
    secret_source: SecretSource | None = field(default=None, compare=False)
    page_size: int = MAX_PAGE_SIZE
    # `limit` of each Kubernetes LIST page (kubectl's --chunk-size default).
    kube_page_size: int = 500


@dataclass(frozen=True)
class ExportResult:
    documents: tuple[dict[str, Any], ...]
    control_plane: ControlPlaneInfo
    warnings: tuple[str, ...]
    dataplanes: Mapping[str, int]
    requests: int
    # What the global synced into this zone under names of its own, left out ("Kind ns/name").
    from_global: tuple[str, ...] = ()
