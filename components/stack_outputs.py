"""The stack's outputs: where the global's API is, and what each zone's federation did.

kdsUrl, kdsCaCert, chartVersion and zoneAuth are what a zones stack reads from its global stack
(role `zones`, components.rules.split_stacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.config import FederationConfig
from components.export import counts_by_kind
from components.program import Federation
from components.redaction import redact_url
from components.rules.api_specs import port_forward_hint
from components.rules.chart_names import control_plane_service
from components.rules.products import API_PORT


def outputs(cfg: FederationConfig, federation: Federation) -> Mapping[str, Any]:
    # A URL given with userinfo (http://user:password@host) is shown without it.
    api_url = redact_url(cfg.global_.api_url or f"http://localhost:{API_PORT}")
    zones_out: dict[str, Any] = {}
    for zone in cfg.zones:
        copied = federation.documents.get(zone.name)
        check = federation.checks.get(zone.name)
        zones_out[zone.name] = {
            "name": zone.name,
            "install": zone.install,
            "federated": zone.federated,
            "exported": counts_by_kind(copied) if copied is not None else {},
            "check": check.result if check else "not run",
        }
        zone_cp = federation.zones.get(zone.name)
        if zone_cp is not None:
            # What the switch sets, secrets masked: the plain `pulumi preview` lists it too.
            zones_out[zone.name]["values"] = zone_cp.shown_values
    out: dict[str, Any] = {
        "globalApiUrl": api_url,
        "globalGuiUrl": f"{api_url}/gui",
        "kdsUrl": federation.global_.kds_url,
        "chartVersion": cfg.chart_version,
        "zoneAuth": cfg.zone_auth.mode,
        "zones": zones_out,
    }
    if federation.global_.shown_values is not None:
        out["globalValues"] = federation.global_.shown_values
    if federation.global_.kds_ca_cert is not None:
        out["kdsCaCert"] = federation.global_.kds_ca_cert
    if not cfg.global_.api_url:
        hint = port_forward_hint(cfg, cfg.global_.kube_context, cfg.global_.values)
        # A Service name read from a secret `global` config key stays one.
        renamed = (control_plane_service(cfg.product, cfg.global_.values)
                   != cfg.product.control_plane_service)
        out["globalApiPortForward"] = (pulumi.Output.secret(hint)
                                       if renamed and cfg.global_.values_secret else hint)
    return out
