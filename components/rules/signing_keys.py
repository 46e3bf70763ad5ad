"""Token signing keys (and the admin token signed with one): the global takes them from one zone
at most.

A control plane signs user tokens and zone tokens with the GlobalSecrets `user-token-signing-key-N`
and `zone-token-signing-key-N`. kumactl's export carries them, so that the first zone federated
into a new global keeps its tokens valid there. Applying another zone's keys would replace the
global's (same names) and invalidate every token signed before: the admin token in use, and the
zone tokens other zones connect with. So the keys come from the first zone of an `all` stack only
(the same zone on every run, so re-runs change nothing); the other zones' keys stay home, with a
warning; a `zones` stack, whose global another stack owns, never replaces them.

Pure functions, no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.clients.kuma_names import ADMIN_TOKEN_SECRET, USER_TOKEN_SIGNING_KEY_PREFIX

SIGNING_KEY_PREFIXES = (USER_TOKEN_SIGNING_KEY_PREFIX, "zone-token-signing-key")
# The admin user token the control plane made at first start (a GlobalSecret too): signed with its
# user-token signing key, so it goes where that key goes. Every zone exports its own, with other
# data, under this one name: copying two would be a conflict, and a zones stack's would replace
# the global's with a token the global's key does not sign.
ADMIN_USER_TOKEN = ADMIN_TOKEN_SECRET


def _global_secret_name(document: Mapping[str, Any]) -> str | None:
    """The name of a Kuma GlobalSecret as the export writes it (a v1 Secret), else None."""
    if document.get("apiVersion") != "v1" or document.get("kind") != "Secret":
        return None
    return str((document.get("metadata") or {}).get("name", ""))


def is_token_signing_key(document: Mapping[str, Any]) -> bool:
    """A token signing key itself (what makes a zone the one whose keys the global takes)."""
    name = _global_secret_name(document)
    return name is not None and name.startswith(SIGNING_KEY_PREFIXES)


def travels_with_signing_keys(document: Mapping[str, Any]) -> bool:
    """A token signing key, or the admin token signed with one: what goes where the keys go."""
    return is_token_signing_key(document) or _global_secret_name(document) == ADMIN_USER_TOKEN


def applied_last(global_secret_name: str) -> bool:
    """Whether kumactl's export puts this GlobalSecret after everything else: the user-token
    signing keys only, not the zone-token keys nor the admin token (app/kumactl/cmd/export/
    export.go, v2.14.3: "put user token signing keys as last, because once we apply this, we
    cannot apply anything else without reconfiguring kumactl with a new auth data")."""
    return global_secret_name.startswith(USER_TOKEN_SIGNING_KEY_PREFIX)


@dataclass(frozen=True)
class SigningKeyChoice:
    """The zone whose keys the global takes (None: no zone's), every zone's documents with the
    keys left only in that zone's, and a warning per zone whose keys stay home."""

    key_zone: str | None
    documents: dict[str, tuple[Mapping[str, Any], ...]]
    warnings: list[str]


def choose_signing_keys(documents: Mapping[str, Sequence[Mapping[str, Any]]], *,
                        zones_stack: bool) -> SigningKeyChoice:
    """The key zone is the first zone, in config order, that exported a signing key itself (an
    admin token alone does not make one); a zones stack has none."""
    key_zone = None if zones_stack else next(
        (zone for zone, docs in documents.items() if any(map(is_token_signing_key, docs))), None)
    kept, warnings = _keep_one_zones_signing_keys(documents, key_zone)
    return SigningKeyChoice(key_zone, kept, warnings)


def _keep_one_zones_signing_keys(
    documents: Mapping[str, Sequence[Mapping[str, Any]]], key_zone: str | None,
) -> tuple[dict[str, tuple[Mapping[str, Any], ...]], list[str]]:
    """Every zone's documents, with signing keys left only in `key_zone`'s; and a warning per
    zone whose keys were left out."""
    kept: dict[str, tuple[Mapping[str, Any], ...]] = {}
    warnings: list[str] = []
    for zone, docs in documents.items():
        if zone == key_zone:
            kept[zone] = tuple(docs)
            continue
        dropped = sorted(str(d["metadata"]["name"]) for d in docs if travels_with_signing_keys(d))
        kept[zone] = tuple(d for d in docs if not travels_with_signing_keys(d))
        if dropped:
            keeper = (f"keeps {key_zone}'s" if key_zone else
                      "keeps its own (a zones stack never replaces the keys of a global another "
                      "stack owns)")
            warnings.append(
                f"{zone}: its token signing keys"
                f"{' and admin token' if ADMIN_USER_TOKEN in dropped else ''} ({', '.join(dropped)}) "
                "are not copied to the "
                f"global, which {keeper}: user tokens {zone} issued do not work on the global "
                "(issue new ones there with `kumactl generate user-token`), and zone proxies on "
                "Universal need zone tokens from the global")
    return kept, warnings
