"""How the commands the program registers reach a control plane API: the federation check's
API specs (components.check.spec), the zone token issuer's (components.zone_token), and the
port-forward a user runs to reach the global's API. Pure: config in, JSON-ready dicts out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config import FederationConfig, ZoneConfig
from components.rules.chart_names import control_plane_service
from components.rules.products import API_PORT


def port_forward_hint(cfg: FederationConfig, context: str, values: Mapping[str, Any]) -> str:
    """The `kubectl port-forward` that makes a control plane's API reachable on localhost."""
    service = control_plane_service(cfg.product, values)
    return (f"kubectl --context {context} port-forward -n {cfg.namespace} "
            f"svc/{service} {API_PORT}:{API_PORT}")


def check_api_spec(cfg: FederationConfig, *, url: str | None, token: str | None, context: str,
                   ca_bundle: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """How the check reaches a control plane API (see components.check.spec); `values` are the
    release's, which may rename its Service (controlPlane.service.name)."""
    if url:
        return {"url": url, "token": token, "ca_bundle": ca_bundle}
    return {"kube_proxy": {"context": context, "namespace": cfg.namespace,
                           "service": control_plane_service(cfg.product, values), "port": API_PORT,
                           "kubeconfig": cfg.kubeconfig}}


def issuer_spec(cfg: FederationConfig, index: int, zone: ZoneConfig,
                key_zone: str | None) -> dict[str, Any]:
    """What the zone token issuer (components.zone_token) needs: the global's API (global.api.url
    or a kubectl port-forward) and an admin credential it accepts."""
    return {
        "zone": zone.name, "zone_index": index, "valid_for": cfg.zone_auth.valid_for,
        "context": cfg.global_.kube_context, "namespace": cfg.namespace,
        "service": control_plane_service(cfg.product, cfg.global_.values), "port": API_PORT,
        "kubeconfig": cfg.kubeconfig, "url": cfg.global_.api_url,
        **({"ca_bundle": cfg.global_.api_ca_bundle} if cfg.global_.api_ca_bundle else {}),
        **_issuer_credential(cfg, key_zone),
    }


def _issuer_credential(cfg: FederationConfig, key_zone: str | None) -> dict[str, Any]:
    """The admin token the global accepts once the copied keys are in place: global.api.token;
    else the admin token of the zone whose user-token signing key it now holds; else its own."""
    if cfg.global_.api_token:
        return {"token": cfg.global_.api_token, "token_source": "mesh-federation:global.api.token"}
    for index, zone in enumerate(cfg.zones):
        if zone.name == key_zone:
            if zone.api_token:
                return {"token": zone.api_token, "token_source": f"mesh-federation:zones[{index}].api.token"}
            return {"token": None, "token_context": zone.kube_context}
    return {"token": None, "token_context": cfg.global_.kube_context}
