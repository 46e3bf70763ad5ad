"""Typed access to one object of raw config, recording problems instead of raising."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from components.config.messages import config_rm, config_set
from components.config.schema import NAMESPACE, SECRET_KEYS
from components.redaction import CredentialError, clean_credential


class Reader:
    """One object of the config (`key`: its path, `""` for the top level). `origins` maps a
    key's current path to the old one the user wrote (components/config/renames.py): messages
    name the key as written, and their fixes the current name."""

    def __init__(self, raw: Any, key: str, problems: list[str],
                 origins: Mapping[str, str] | None = None) -> None:
        self.key = key
        self.problems = problems
        self.origins: Mapping[str, str] = origins or {}
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            problems.append(f"{self.origins.get(key, key)}: expected an object, got {type(raw).__name__}")
            raw = {}
        self.raw: Mapping[str, Any] = raw

    def child(self, name: str) -> Reader:
        """The object under `name` (e.g. `api`), read the same way."""
        return Reader(self.raw.get(name), self.path(name), self.problems, self.origins)

    def path(self, name: str) -> str:
        """The key's current path, for fixes: `zones[0].api.url`."""
        return f"{self.key}.{name}" if self.key else name

    def where(self, name: str) -> str:
        """The key's path as the user wrote it: `zones[0].apiUrl` when set under its old name."""
        return self.origins.get(self.path(name), self.path(name))

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.problems.append(f"{self.path(name)} is required; set it with "
                                     f"{config_set(self.path(name))}")
            return default
        if not isinstance(value, str):
            shown = "a value not shown (it is a secret)" if name in SECRET_KEYS else repr(value)
            self.problems.append(f"{self.where(name)}: expected a string, got {shown}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw.get(name, default)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problems.append(f"{self.where(name)}: expected true or false, got {value!r}")
            return default
        return value

    def credential(self, name: str) -> str | None:
        """A token: surrounding whitespace dropped; a line break or another control character
        inside refused, naming the key, never showing the value."""
        value = self.string(name)
        if value is None:
            return None
        try:
            return clean_credential(value, f"{NAMESPACE}:{self.where(name)}")
        except CredentialError as error:
            self.problems.append(f"{self.where(name)}: {error}")
            return None

    def number(self, name: str, default: float, *, minimum: float) -> float:
        value = self.raw.get(name, default)
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            self.problems.append(f"{self.where(name)}: expected a number, got {value!r}; set it "
                                 f"with {config_set(self.path(name), str(default))}")
            return default
        if number < minimum:
            self.problems.append(f"{self.where(name)}: must be at least {minimum}, got {value!r}")
            return default
        return number

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        """A whole number (Pulumi hands plain values over as strings): `1.5`, `nan`, `true`, `abc`
        are refused naming the key, never silently replaced by the default."""
        value = self.raw.get(name, default)
        text = value.strip() if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif text is not None and re.fullmatch(r"[+-]?\d+", text):
            number = int(text)
        else:
            self.problems.append(
                f"{self.where(name)}: expected a whole number of at least {minimum}, got {value!r}; "
                f"set it with {config_set(self.path(name), str(default))}")
            return default
        if number < minimum:
            self.problems.append(f"{self.where(name)}: must be at least {minimum}, got {value!r}")
            return default
        return number

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, Mapping):
            self.problems.append(f"{self.where(name)}: expected an object of Helm values")
            return {}
        return value

    def unknown_keys(self, known: frozenset[str], renamed: Mapping[str, str] | None = None) -> None:
        """Refuse every key but `known` and the old names in `renamed` (old name -> new path,
        zones as `zones[]`), suggesting the nearest current key."""
        renamed = renamed or {}
        index = re.search(r"\[\d+\]", self.key)
        for name in sorted(set(self.raw) - known - set(renamed), key=str):
            candidates = [*sorted(known), *sorted(renamed)]
            near = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.6)
            near += [k for k in candidates if not near and k.lower() == str(name).lower()]
            suggestion = ""
            if near:
                meant = near[0]
                new = renamed[meant] if meant in renamed else self.path(meant)
                suggestion = f"did you mean {new.replace('[]', index.group() if index else '[]')}? "
            self.problems.append(
                f"{self.path(str(name))}: unknown key; {suggestion}known keys here: "
                f"{', '.join(sorted(known))}. Remove it with {config_rm(self.path(str(name)))}"
            )
