"""The resource types a control plane serves, as its `GET /_resources` lists them (Kuma 2.6 and
later; upstream vector api/_resources.json): one parser for the export and the check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from components.clients.errors import BadAnswer

SCOPES = ("Global", "Mesh")


@dataclass(frozen=True)
class ResourceType:
    """One entry of GET /_resources."""

    name: str
    path: str  # relative, as Kuma gives it: "meshtimeouts"
    scope: str  # "Global" | "Mesh"
    include_in_federation: bool = False
    is_target_ref: bool = False

    @property
    def mesh_scoped(self) -> bool:
        return self.scope == "Mesh"

    def list_path(self, mesh: str | None) -> str:
        """The list of this type in `mesh`; without a mesh, a mesh-scoped type's list across
        every mesh (upstream vector resources/crud/list_all_meshes)."""
        if mesh is None:
            return self.path
        return f"meshes/{quote(mesh, safe='')}/{self.path}"


def parse_resource_types(answer: Any, *, url: str = "") -> list[ResourceType]:
    """The types of a `GET /_resources` answer, in its order; `BadAnswer` for another shape."""
    items = answer.get("resources") if isinstance(answer, Mapping) else None
    if not isinstance(items, list):
        raise BadAnswer(
            "GET /_resources did not list resource types; the control plane is older than "
            "Kuma 2.6 (no /_resources) or is not a Kuma API", url=url)
    types = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) \
                or not isinstance(item.get("path"), str) \
                or item.get("scope", "Mesh") not in SCOPES:
            raise BadAnswer(f"GET /_resources: malformed entry {item!r}"[:300], url=url)
        policy = item.get("policy")
        types.append(ResourceType(
            name=item["name"],
            path=item["path"].strip("/"),
            scope=str(item.get("scope", "Mesh")),
            include_in_federation=bool(item.get("includeInFederation", False)),
            is_target_ref=bool(isinstance(policy, Mapping) and policy.get("isTargetRef")),
        ))
    return types
