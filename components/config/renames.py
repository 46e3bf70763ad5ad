"""Renamed keys, read under their old names for one release with a warning naming the new one.

Before anything is read, each old key found is moved to its new place in a copy of the raw
config; the key path the user wrote is remembered (`origins`), so that every message about
its value still names it. An old key and its new one both set is refused, naming both.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from components.config.messages import config_rm, config_set
from components.config.schema import SECRET_KEYS

# `zones[]`: in every zone. (old path, new path), both from the namespace's root.
RENAMED: tuple[tuple[str, str], ...] = (
    ("global.apiUrl", "global.api.url"),
    ("global.apiToken", "global.api.token"),
    ("global.apiCaBundle", "global.api.caBundle"),
    ("zones[].apiUrl", "zones[].api.url"),
    ("zones[].apiToken", "zones[].api.token"),
    ("zones[].apiCaBundle", "zones[].api.caBundle"),
    # It bounds the zones' rollout waits too: not a setting of the global alone.
    ("global.readyTimeoutSeconds", "readyTimeoutSeconds"),
    ("exportConcurrency", "advanced.exportConcurrency"),
    ("check.intervalSeconds", "advanced.checkIntervalSeconds"),
)

Path = tuple[str | int, ...]


def old_names(where: str) -> dict[str, str]:
    """The old keys of one object (`""` for the top level, `global`, `zones[]`, `check`),
    each with the path of its new key (zones with the index placeholder `[]`)."""
    found: dict[str, str] = {}
    for old, new in RENAMED:
        parent, _, name = old.rpartition(".")
        if parent == where:
            found[name] = new
    return found


@dataclass
class Renamed:
    """The raw config with every old key moved to its new place."""

    raw: dict[str, Any]
    # New key path (`zones[0].api.url`) -> the old one the user wrote (`zones[0].apiUrl`).
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _split(path: str) -> list[str]:
    return path.replace("[]", ".[]").split(".")


def _text(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _expand(raw: Mapping[str, Any], old: str, new: str) -> list[tuple[Path, Path]]:
    """Each zone's concrete paths for a rename under `zones[]` (one pair for any other)."""
    if "[]" not in old:
        return [(tuple(_split(old)), tuple(_split(new)))]
    zones = raw.get("zones")
    count = len(zones) if isinstance(zones, list) else 0

    def concrete(parts: list[str], index: int) -> Path:
        return tuple(index if p == "[]" else p for p in parts)

    return [(concrete(_split(old), i), concrete(_split(new), i)) for i in range(count)]


def _get(raw: Any, path: Path) -> Any:
    node = raw
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _parent(raw: dict[str, Any], path: Path) -> MutableMapping[str, Any] | None:
    """The object that holds (or would hold) the last key of `path`, made where missing;
    None when a value on the way is not an object (its own reader says so)."""
    node: Any = raw
    for part in path[:-1]:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        elif isinstance(node, MutableMapping):
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        else:
            return None
    if not isinstance(node, MutableMapping):
        return None
    parent: MutableMapping[str, Any] = node
    return parent


def apply_renames(raw: Mapping[str, Any]) -> Renamed:
    """A copy of `raw` with each old key found moved to its new key."""
    result = Renamed(raw=copy.deepcopy(dict(raw)))
    for old_pattern, new_pattern in RENAMED:
        for old, new in _expand(result.raw, old_pattern, new_pattern):
            value = _get(result.raw, old)
            if value is None:  # an unset key, as every reader takes None
                continue
            old_text, new_text = _text(old), _text(new)
            if _get(result.raw, new) is not None:
                result.problems.append(
                    f"{old_text} and {new_text} are both set: {old_text} is the old name of "
                    f"{new_text}; keep {new_text} and remove the old one with {config_rm(old_text)}")
                continue
            target = _parent(result.raw, new)
            source = _parent(result.raw, old)
            if target is None or source is None:
                continue
            target[str(new[-1])] = source.pop(str(old[-1]))
            result.origins[new_text] = old_text
            secret = str(old[-1]) in SECRET_KEYS
            result.warnings.append(
                f"{old_text} is now {new_text}; the old name is read for this release only. Move "
                f"it: {config_set(new_text, '<value>', secret=secret)} and {config_rm(old_text)}")
    return result
