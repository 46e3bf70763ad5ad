"""Checks on each zone's own word (`GET /` and `GET /config`) before anything is registered.

Pure: the zone's ControlPlaneInfo and export in, the documents to register and warnings out, or
a PreflightError that stops the program with nothing applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.config import FederationConfig, ZoneConfig
from components.export import ControlPlaneInfo
from components.redaction import redact_url
from components.rules.products import version_tuple


class PreflightError(ValueError):
    """A zone that must not be federated as configured; the message says why and what to do."""


@dataclass(frozen=True)
class PreflightResult:
    documents: tuple[Mapping[str, Any], ...]
    warnings: tuple[str, ...]
    # The global this zone is federated to, when it could not be compared with this stack's at
    # program time (no global.kdsAddress): compared with the global's real address once known,
    # before the zone is switched (components/rules/global_identity.py).
    federated_to: str | None = None


def preflight(cfg: FederationConfig, index: int, zone: ZoneConfig, info: ControlPlaneInfo,
              documents: Sequence[Mapping[str, Any]]) -> PreflightResult:
    key = f"zones[{index}]"
    warnings: list[str] = []
    if info.mode == "global":
        raise PreflightError(
            f"{key} ({zone.name}): the API at {redact_url(zone.api_url or zone.kube_context)} is a "
            "global control plane, not a zone: point the zone's api.url / kubeContext at the "
            "zone's control plane")

    zone_version, chart_version = version_tuple(info.version), version_tuple(cfg.chart_version)
    if zone_version and chart_version and chart_version < zone_version:
        raise PreflightError(
            f"{key} ({zone.name}) runs {info.product} {info.version}, newer than chartVersion "
            f"{cfg.chart_version}: the global control plane must run the same version as its zones "
            f"or a newer one. Set mesh-federation:chartVersion to {info.version} or later.")
    if (zone_version and chart_version and chart_version > zone_version and zone.install == "brownfield"
            and zone.federated and not info.global_address):
        warnings.append(
            f"{zone.name} runs {info.product} {info.version}: switching it to zone mode also upgrades "
            f"it to chart {cfg.chart_version}; read the upgrade notes for the versions in between, or "
            f"set mesh-federation:chartVersion to {info.version} to federate without upgrading")

    federated_to = None
    if info.global_address:
        ours = cfg.global_.kds_address.url if cfg.global_.kds_address else None
        if ours is not None:
            refuse_another_global(key, zone.name, info.global_address, ours)
        else:
            federated_to = info.global_address
        # What the global pushed down under hashed names is left out by the export itself
        # (components/export/kube_objects.py pushed_down_by_global), where kuma.io/origin is still there
        # to read: a re-run registers the set the first run did.
        warnings.append(f"{zone.name} is already federated to {info.global_address}: nothing new "
                        "is copied; the objects copied before stay as they are")

    if info.zone_name == "default" and zone.name != "default":
        warnings.append(
            f"{zone.name}: this control plane runs as zone 'default' and is being renamed; its "
            "policies keep kuma.io/zone=default and stop matching redeployed workloads "
            f"(kumahq/kuma#12611). To keep the name, set {key}.name to default.")
    if info.system_namespace != cfg.namespace:
        warnings.append(
            f"{zone.name}: its system namespace is {info.system_namespace}, the global's is "
            f"{cfg.namespace}; namespaced objects are exported into {cfg.namespace}")
    if not documents and not info.global_address:
        warnings.append(f"{zone.name}: the export is empty: nothing to copy to the global; "
                        "the zone is federated all the same")
    return PreflightResult(tuple(documents), tuple(warnings), federated_to)


def refuse_another_global(key: str, zone_name: str, federated_to: str, ours: str | None) -> None:
    """Stop unless the zone's global is this stack's: switching it would repoint it silently.
    `ours` None: this stack's global has no address yet (a new global, its LoadBalancer not
    there), so the zone's cannot be it."""
    compared = federated_to
    federated_to = redact_url(federated_to)  # as shown: userinfo masked
    if ours is None:
        raise PreflightError(
            f"{key} ({zone_name}) is already federated to {federated_to}, and this stack's global "
            "has no address yet to compare it with (a new global gets its zone-sync "
            "LoadBalancer address only once it exists): a zone federated to another global is "
            f"not switched. Unfederate it there first (zones[].federated: false in that stack), "
            f"or, if {federated_to} is this stack's global, name it: `pulumi config set --path "
            f"'mesh-federation:global.kdsAddress' <host:port of {federated_to}>`.")
    if _address(compared) != _address(ours):
        raise PreflightError(
            f"{key} ({zone_name}) is already federated to {federated_to}, not to this "
            f"global ({ours}): unfederate it there first (zones[].federated: false in that "
            "stack), or point global.kdsAddress at the global it belongs to.")


def _address(url: str) -> str:
    return url.strip().rstrip("/")
