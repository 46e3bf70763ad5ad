"""The line a preview says for each zone: what it runs with now beside what the switch sets
("zone-1: standalone -> zone, zone default -> zone-1, kdsGlobalAddress none -> grpcs://...").

What a brownfield zone runs with now is its control plane's own word, `GET /config` (the
export's ControlPlaneInfo, read at program time for preflight: no further request), not its
Helm release's values (`helm get values`): /config is what the running control plane took,
chart defaults and environment overrides included, while the release holds only the values it
was given (the quickstart's release holds none: no mode, no address, nothing to compare) and a
value in it may never have rolled out; reading it would also need `helm` at program time. The
keys /config does not answer for (TLS, ingress, the token mount) are in the values view beside
it (components/rules/values_view.py). Pure.

Said as a log line, not kept in a stack output or a registered input: what the zone ran with
before an update is stale after it, and as an input it would change once the switch is done and
run the upgrade again on the next `pulumi up`.
"""

from __future__ import annotations

from components.export.model import ControlPlaneInfo

NONE = "none"


def federation_role(mode: str, global_address: str | None) -> str:
    """Kuma 2.x has no standalone mode: a zone without a global address is a standalone control
    plane (the 2.x chart's `controlPlane.mode` knows zone and global only)."""
    if mode == "global":
        return "global"
    return "zone" if global_address else "standalone"


def switch_summary(zone_name: str, before: ControlPlaneInfo | None, *, kds_url: str | None,
                   not_read: str) -> str:
    """`kds_url`: the global address the switch sets, None for the way back (standalone again);
    `before`: the zone's /config as the export read it, None when it was not read (`not_read`
    says why)."""
    after_role = federation_role("zone", kds_url)
    after_address = kds_url or NONE
    if before is None:
        return (f"{zone_name}: switches to {after_role}, zone {zone_name}, kdsGlobalAddress "
                f"{after_address} (what it runs with now is not read: {not_read})")
    # (what, now, after): the role has no label, as in "standalone -> zone".
    changes = ", ".join(
        " ".join(filter(None, (what, now, "(unchanged)" if now == after else f"-> {after}")))
        for what, now, after in (
            ("", federation_role(before.mode, before.global_address), after_role),
            ("zone", before.zone_name or NONE, zone_name),
            ("kdsGlobalAddress", before.global_address or NONE, after_address)))
    return (f"{zone_name}: {changes} (now: {before.product} {before.version}, as its /config says; "
            f"every value the switch sets: stack output zones.{zone_name}.values)")
