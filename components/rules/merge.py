"""Several zones, one global: an object exported by several zones is applied once.

Pure functions (no Pulumi), so the rule is testable on its own: the same object from two zones
is one object; the same name with different content is a conflict, named with both zones, found
before anything is registered.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# kubectl's record of the object's last `kubectl apply` on its zone.
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
# Metadata that differs between two zones' copies of one object without changing it.
_VOLATILE_ANNOTATIONS = (LAST_APPLIED_ANNOTATION,)


class MergeConflict(ValueError):
    """Two zones export different objects under one name."""


@dataclass(frozen=True)
class ObjectKey:
    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class SharedObject:
    key: ObjectKey
    document: Mapping[str, Any]
    zones: tuple[str, ...]


def object_key(document: Mapping[str, Any]) -> ObjectKey:
    metadata = document.get("metadata") or {}
    return ObjectKey(
        api_version=str(document.get("apiVersion", "")),
        kind=str(document.get("kind", "")),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name", "")),
    )


def content(document: Mapping[str, Any]) -> str:
    """What must be equal for two zones' copies to be the same object."""
    comparable = copy.deepcopy(dict(document))
    metadata = comparable.get("metadata") or {}
    metadata.pop("creationTimestamp", None)
    annotations = metadata.get("annotations") or {}
    for name in _VOLATILE_ANNOTATIONS:
        annotations.pop(name, None)
    if not annotations:
        metadata.pop("annotations", None)
    return json.dumps(comparable, sort_keys=True)


def merge_exports(exports: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[SharedObject]:
    """Zone name -> its exported documents, to the objects to register, in first-seen order."""
    merged: dict[ObjectKey, SharedObject] = {}
    for zone, documents in exports.items():
        for document in documents:
            key = object_key(document)
            existing = merged.get(key)
            if existing is None:
                merged[key] = SharedObject(key, document, (zone,))
            elif content(existing.document) != content(document):
                raise MergeConflict(
                    f"{key} differs between zone {existing.zones[0]!r} and zone {zone!r}: the "
                    "global can hold only one. Rename it in one zone, or make both copies equal, "
                    "before federating both zones (for a Mesh with a builtin CA, the zones hold "
                    "different CAs: federate one zone first, or give the meshes distinct names)."
                )
            else:
                merged[key] = SharedObject(key, existing.document, (*existing.zones, zone))
    return list(merged.values())
