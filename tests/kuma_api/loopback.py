"""Records of what the scripted loopback server saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Script = Callable[["Seen"], tuple[int, Any]]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    url: str
    seen: list[Seen] = field(default_factory=list)
