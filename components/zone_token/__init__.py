"""Issue a zone token from the global control plane (Kong Mesh multi-zone authentication).

No Pulumi here: `python -m components.zone_token` reads a spec on stdin and prints the token on
stdout, and the program runs it with pulumi-command once the global is up, marking stdout a
secret. The same steps by hand: `kumactl generate zone-token --zone <zone> --scope cp
--valid-for <duration>` against the global.
"""

from components.zone_token.issue import TokenSpec, ZoneTokenError, issue_zone_token

__all__ = ["TokenSpec", "ZoneTokenError", "issue_zone_token"]
