"""A zones stack and the global stack it reads (role `zones`): they must agree before any zone
is switched. Pure: the values read from the global stack's outputs in, the KDS URL or an error
out."""

from __future__ import annotations

from typing import Any

from components.config import FederationConfig
from components.rules.products import version_tuple


def kds_url_agreed_with_global(cfg: FederationConfig, kds_url: str, global_mode: Any,
                               global_chart: Any) -> str:
    """`kds_url`, once the global stack agrees with this one; else a ValueError saying what to set.

    A zones stack must authenticate the way its global expects, or its zones are refused (or
    hold tokens nobody asks for), and must not run a newer chart than the global (Kuma supports
    a global of the zones' version or newer; preflight already holds each running zone to this
    stack's chartVersion). A global stack that exports neither (an older version of this
    program) is taken at its word."""
    if global_mode is not None and global_mode != cfg.zone_auth.mode:
        raise ValueError(
            f"zoneAuth.mode is {cfg.zone_auth.mode} here, but the global stack {cfg.global_stack} "
            f"runs with zoneAuth.mode {global_mode}: set `pulumi config set --path "
            f"'mesh-federation:zoneAuth.mode' {global_mode}` in this stack")
    ours, theirs = version_tuple(cfg.chart_version), version_tuple(str(global_chart or ""))
    if ours and theirs and ours > theirs:
        raise ValueError(
            f"chartVersion is {cfg.chart_version} here, newer than the {global_chart} the global "
            f"stack {cfg.global_stack} runs: a global must run its zones' version or a newer one. "
            f"Upgrade the global stack first (its mesh-federation:chartVersion), or set `pulumi "
            f"config set mesh-federation:chartVersion {global_chart}` in this stack")
    return kds_url
