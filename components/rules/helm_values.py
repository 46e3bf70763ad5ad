"""The Helm values of both roles, for both products: the one place to read them.

Values are written as for the `kuma` chart and wrapped under `kuma.` for the `kong-mesh` chart,
which carries kuma as a subchart. The user's extra values (`global.values`, `zones[].values`)
are merged last, so they can override anything here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.rules.products import Product


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge like Helm merges values files: maps merge key by key, anything else replaces.

    Maps are copied so neither input changes; leaves are shared, not deep-copied, because a
    leaf may be a Pulumi Output (the KDS address), which cannot be copied.
    """
    merged: dict[str, Any] = {k: _copy_maps(v) for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = _copy_maps(value)
    return merged


def _copy_maps(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy_maps(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_maps(v) for v in value]
    return value


def for_product(product: Product, kuma_values: Mapping[str, Any]) -> dict[str, Any]:
    wrapped: dict[str, Any] = dict(kuma_values)
    for key in reversed(product.values_prefix):
        wrapped = {key: wrapped}
    return wrapped


LICENSE_ENV = "KMESH_LICENSE_INLINE"


@dataclass(frozen=True)
class KdsAuthSettings:
    """Kong Mesh's multi-zone authentication as control plane environment variables: the
    global's auth type, and the variable naming the file a zone reads its zone token from."""

    global_type_env: str
    global_type: str
    zone_token_path_env: str


# Kong Mesh's own names, read by every 2.x release. Kong's docs list the Kuma names that replace
# them (KUMA_MULTIZONE_GLOBAL_KDS_AUTH_TYPE=zoneToken, KUMA_MULTIZONE_ZONE_KDS_AUTH_TOKEN_PATH)
# only under "Upgrade to 3.0.x" (developer.konghq.com/mesh/v2/version-specific-upgrade-notes),
# where these are removed; Kong's kuma-migrator says 2.14.6 added the Kuma names (Kong/kong-mesh
# #10960) and still reads these, deprecated. These are therefore right on every 2.x patch, the
# others at best from 2.14.6 on. A global that ignored them would serve KDS without zone
# authentication: the token issuer checks the global's /config before issuing (zone_token/issue.py).
KDS_AUTH_KONG_MESH_2X = KdsAuthSettings(
    global_type_env="KMESH_MULTIZONE_GLOBAL_KDS_AUTH_TYPE", global_type="cpToken",
    zone_token_path_env="KMESH_MULTIZONE_ZONE_KDS_AUTH_CP_TOKEN_PATH")


ZONE_TOKEN_MOUNT_PATH = "/var/run/secrets/mesh-federation/zone-token"
ZONE_TOKEN_GENERATION_ANNOTATION = "mesh-federation.kuma.io/zone-token-generation"


@dataclass(frozen=True)
class ZoneTokenMount:
    """How a zone reads its zone token: its Secret mounted as files (`controlPlane.extraSecrets`)
    and the file's path in an env var (`controlPlane.envVars`). Both are maps in the chart, so
    `helm upgrade --reset-then-reuse-values` merges them with the user's own values; `controlPlane.secrets`,
    which Kong's license docs set as a list, would replace that list. `generation` changes with
    the token and goes into a pod annotation, so a new token restarts the control plane."""

    path_env: str
    secret: str
    key: str
    generation: pulumi.Input[str]


def global_values(
    product: Product,
    extra: Mapping[str, Any],
    *,
    kds_server_secret: str | None = None,
    license_secret: tuple[str, str] | None = None,
    kds_auth: KdsAuthSettings | None = None,
) -> dict[str, Any]:
    """Step 1 of the guide: a global control plane that creates no default mesh, because the
    zone's meshes arrive with the export. `kds_server_secret` names the TLS Secret the KDS
    server offers; `license_secret` is (Secret name, key) of the Kong Mesh license; with
    `kds_auth` the global accepts only zones that present a zone token."""
    control_plane: dict[str, Any] = {"mode": "global", "defaults": {"skipMeshCreation": True}}
    if kds_server_secret:
        control_plane["tls"] = {"kdsGlobalServer": {"secretName": kds_server_secret}}
    if license_secret:
        name, key = license_secret
        # The chart ranges over controlPlane.secrets and turns each entry into an env var.
        control_plane["secrets"] = {"kongMeshLicense": {"Env": LICENSE_ENV, "Secret": name, "Key": key}}
    if kds_auth:
        control_plane["envVars"] = {kds_auth.global_type_env: kds_auth.global_type}
    return deep_merge(for_product(product, {"controlPlane": control_plane}), extra)


def zone_values(
    product: Product,
    *,
    zone_name: str,
    kds_global_url: pulumi.Input[str] | None,
    kds_ca_cert: pulumi.Input[str] | None,
    extra: Mapping[str, Any],
    zone_token: ZoneTokenMount | None = None,
) -> dict[str, Any]:
    """Step 4 of the guide. With `kds_global_url` None the zone runs standalone again (the way
    back): zone mode with no global address is Kuma 2.x's standalone control plane.

    With `kds_ca_cert` the chart creates the CA Secret and the zone verifies the global's KDS
    certificate; without it the zone skips verification, as the guide does (dev only).

    With `zone_token` the zone reads its zone token from a mounted Secret, so the token never
    sits in the release's values."""
    # Both ways stated in full: `--reset-then-reuse-values` keeps what an earlier run set, so a
    # zone going from a CA to skipVerify must drop the CA Secret and the file the zone reads.
    zone_client: dict[str, Any] = (
        {"skipVerify": False, "create": True, "cert": kds_ca_cert} if kds_ca_cert is not None
        else {"skipVerify": True, "create": False, "cert": ""})
    control_plane: dict[str, Any] = {
        "mode": "zone",
        "zone": zone_name,
        # The chart accepts only grpcs:// or grpc:// here; "" turns federation off.
        "kdsGlobalAddress": kds_global_url if kds_global_url is not None else "",
        "tls": {"kdsZoneClient": zone_client},
    }
    if zone_token is not None:
        control_plane["envVars"] = {zone_token.path_env: f"{ZONE_TOKEN_MOUNT_PATH}/{zone_token.key}"}
        # The chart names the volume after `name` (the Secret); the map key only merges entries.
        control_plane["extraSecrets"] = {"meshFederationZoneToken": {
            "name": zone_token.secret, "mountPath": ZONE_TOKEN_MOUNT_PATH, "readOnly": True}}
        control_plane["podAnnotations"] = {ZONE_TOKEN_GENERATION_ANNOTATION: zone_token.generation}
    kuma = {"controlPlane": control_plane, "ingress": {"enabled": kds_global_url is not None}}
    return deep_merge(for_product(product, kuma), extra)


def values_digest(values: Any) -> str:
    """What changes with the values a release is given, and only with them: what re-runs the
    waits and checks that follow a zone release."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()

