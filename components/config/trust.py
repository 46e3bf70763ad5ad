"""How zones and the global trust each other: `kdsTls` (the zones verify the global's KDS
certificate) and `zoneAuth` (the global verifies each zone's token)."""

from __future__ import annotations

from typing import Any

from components.config.reader import Reader
from components.config.schema import (
    DURATION,
    ISSUER_KINDS,
    KDS_TLS_KEYS,
    KDS_TLS_MODES,
    NAMESPACE,
    ZONE_AUTH_KEYS,
    ZONE_AUTH_MODES,
    GlobalConfig,
    KdsTlsConfig,
    ZoneAuthConfig,
    ZoneConfig,
)
from components.rules.products import Product


def parse_zone_auth(raw: Any, product: Product, zones: list[ZoneConfig],
                    problems: list[str]) -> ZoneAuthConfig:
    a = Reader(raw, "zoneAuth", problems)
    a.unknown_keys(ZONE_AUTH_KEYS)
    # Kuma 2.x has no authentication between control planes: Kong Mesh only.
    default_mode = "zoneToken" if product.key == "kong-mesh" else "none"
    mode = a.string("mode", default_mode) or default_mode
    if mode not in ZONE_AUTH_MODES:
        problems.append(f"zoneAuth.mode: {mode!r} is unknown; use zoneToken or none")
        mode = default_mode
    if mode == "zoneToken" and product.key != "kong-mesh":
        problems.append(
            "zoneAuth.mode: zoneToken is Kong Mesh's multi-zone authentication; Kuma 2.x has none. "
            f"Set `pulumi config set --path '{NAMESPACE}:zoneAuth.mode' none` for product kuma")
        mode = "none"
    valid_for = a.string("validFor", "8760h") or "8760h"
    if not DURATION.match(valid_for) or not any(ch in "123456789" for ch in valid_for):
        problems.append(
            f"zoneAuth.validFor: {valid_for!r} is not a positive duration like 8760h or 720h30m "
            "(hours, minutes, seconds)")
        valid_for = "8760h"
    for index, zone in enumerate(zones):
        if zone.zone_token is not None and mode != "zoneToken":
            problems.append(
                f"zones[{index}].zoneToken is set but zoneAuth.mode is {mode}: the global would not "
                f"ask for it. Remove the token, or set zoneAuth.mode zoneToken (Kong Mesh)")
    return ZoneAuthConfig(mode="zoneToken" if mode == "zoneToken" else "none", valid_for=valid_for,
                          rotation=a.string("rotation", "") or "")


def parse_kds_tls(raw: Any, global_cfg: GlobalConfig | None, problems: list[str]) -> KdsTlsConfig:
    t = Reader(raw, "kdsTls", problems)
    t.unknown_keys(KDS_TLS_KEYS)
    mode = t.string("mode", "generated") or "generated"
    if mode not in KDS_TLS_MODES:
        problems.append(f"kdsTls.mode: {mode!r} is unknown; use one of {', '.join(KDS_TLS_MODES)}")
        return KdsTlsConfig()
    issuer_kind = t.string("issuerKind", "ClusterIssuer") or "ClusterIssuer"
    if issuer_kind not in ISSUER_KINDS:
        problems.append(f"kdsTls.issuerKind: {issuer_kind!r} is unknown; use ClusterIssuer or Issuer")
    tls = KdsTlsConfig(
        mode=("generated" if mode == "generated" else "provided" if mode == "provided"
              else "certManager" if mode == "certManager" else "skipVerify"),
        ca_cert=t.string("caCert"), server_cert=t.string("serverCert"), server_key=t.string("serverKey"),
        issuer=t.string("issuer"), issuer_kind="Issuer" if issuer_kind == "Issuer" else "ClusterIssuer",
    )
    if tls.mode in ("generated", "certManager") and global_cfg is not None and global_cfg.kds_address is None:
        problems.append(
            f"kdsTls.mode {tls.mode} needs global.kdsAddress: the server certificate must name the "
            "address zones dial, known before the global starts. Set global.kdsAddress to a stable "
            "DNS name or reserved IP, or use kdsTls.mode provided (your own certificate), or "
            "skipVerify (dev only)"
        )
    if tls.mode == "certManager":
        if not tls.issuer:
            problems.append(
                "kdsTls.issuer is required with kdsTls.mode certManager: the cert-manager issuer on "
                f"the global's cluster, e.g. `pulumi config set --path '{NAMESPACE}:kdsTls.issuer' "
                "mesh-ca` (kdsTls.issuerKind: ClusterIssuer, the default, or Issuer)")
        if not tls.ca_cert:
            problems.append(
                "kdsTls.caCert is required with kdsTls.mode certManager: the CA certificate the "
                "issuer signs with, which zones verify the global against; set it with "
                f"`pulumi config set --path '{NAMESPACE}:kdsTls.caCert' -- \"$(cat ca.pem)\"`")
    if tls.mode == "provided":
        for key, value in (("caCert", tls.ca_cert), ("serverCert", tls.server_cert),
                           ("serverKey", tls.server_key)):
            if not value:
                problems.append(
                    f"kdsTls.{key} is required with kdsTls.mode provided; set it with "
                    f"`pulumi config set {'--secret ' if key == 'serverKey' else ''}--path "
                    f"'{NAMESPACE}:kdsTls.{key}' -- \"$(cat file.pem)\"`"
                )
    return tls
