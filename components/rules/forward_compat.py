"""Names that Kuma / Kong Mesh 2.x accepts and 3.0 refuses: warned about now.

Kuma 2.x takes zone and Mesh names that are DNS-1123 labels (they may start with a digit);
2.10 deprecated those that are not RFC 1035 labels and 3.0 rejects them (an RFC 1035 label
starts with a letter: lower case letters, digits and '-', ending with a letter or digit, at
most 63 characters). A federation set up today under such a name cannot be upgraded to 3.0
without renaming it, which for a zone means registering it anew on the global.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
THREE_ZERO_RULE = ("Kuma / Kong Mesh 3.0 accepts only RFC 1035 labels (starting with a letter; "
                   "2.10 deprecated the others)")


def is_rfc1035_label(name: str) -> bool:
    return len(name) <= 63 and bool(_RFC1035_LABEL.match(name))


def zone_name_warning(name: str, key: str) -> str | None:
    """A warning for a zone name 2.x accepts (a DNS-1123 label) and 3.0 refuses."""
    if not name or is_rfc1035_label(name):
        return None
    return (f"{key}: zone name {name!r} starts with a digit: {THREE_ZERO_RULE}. It federates on "
            f"2.x, but the zone must be renamed (and join the global anew) before 3.0; a new "
            f"zone is best named e.g. {'zone-' + name!r} now")


def mesh_name_warnings(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """A warning per exported Mesh whose name 3.0 refuses."""
    warnings = []
    for document in documents:
        if document.get("kind") != "Mesh":
            continue
        name = str((document.get("metadata") or {}).get("name") or document.get("name") or "")
        if name and not is_rfc1035_label(name):
            warnings.append(f"Mesh {name!r} is not an RFC 1035 label: {THREE_ZERO_RULE}. It is "
                            "copied to the global as it is; rename it before upgrading to 3.0")
    return warnings
