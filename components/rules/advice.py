"""Warnings about a config that works but that a user should know about. Pure."""

from __future__ import annotations

from components.config import FederationConfig


def config_advice(cfg: FederationConfig) -> list[str]:
    """The config's own warnings (renamed keys, Kuma 3.0 names), then the program's advice."""
    advice = list(cfg.warnings)
    if cfg.kds_tls.skip_verify:
        advice.append("kdsTls.mode is skipVerify: zones do not verify the global's KDS "
                      "certificate (controlPlane.tls.kdsZoneClient.skipVerify=true), as the guide "
                      "does; fine for a dev stack, not for production")
    if cfg.product.key == "kong-mesh" and not cfg.license and cfg.role != "zones":
        advice.append("no mesh-federation:license set: Kong Mesh runs on its bundled license "
                      "(5 data plane proxies for 30 days); set one with `pulumi config set "
                      "--secret mesh-federation:license -- \"$(cat license.json)\"`")
    return advice
