"""A zone already federated, without global.kdsAddress: is its global this stack's?

Preflight cannot tell at program time: this stack's global address is its zone-sync
LoadBalancer's, read once the release exists. So the comparison runs on that address, and
whatever must not touch a zone federated elsewhere (its switch, its token, the copies of its
objects) waits on it: a mismatch fails them before anything of the zone changes.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.rules.preflight import refuse_another_global


def same_global(key: str, zone_name: str, federated_to: str,
                kds_url: pulumi.Output[str]) -> pulumi.Output[str]:
    """`kds_url`, once it is the address the zone is federated to; else the program fails.
    Run with unknowns: an address not known yet (a new global, in preview) is no match."""
    def compare(url: Any) -> str:
        known = url if isinstance(url, str) else None
        refuse_another_global(key, zone_name, federated_to, known)
        assert known is not None  # refuse_another_global raised otherwise
        return known
    return kds_url.apply(compare, run_with_unknowns=True)
