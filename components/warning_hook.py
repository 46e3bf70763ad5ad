"""Python warnings of one class said through a command's or the program's own log path (a masked
`WARNING:` line, the program's `log.warn`), not in Python's format with a file and source line."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TextIO

# Where each routed class goes; one hook serves them all, so routing again replaces, never nests.
_ROUTES: dict[type[Warning], Callable[[str], None]] = {}
_PYTHONS = warnings.showwarning


def say_warnings_of(ours: type[Warning], say: Callable[[str], None]) -> None:
    """From now on, a warning of class `ours` is given to `say`; any other as Python shows it."""
    _ROUTES[ours] = say
    warnings.showwarning = _show


def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: TextIO | None = None, line: str | None = None) -> None:
    say = next((say for routed, say in _ROUTES.items() if issubclass(category, routed)), None)
    if say is not None:
        say(str(message))
    else:
        _PYTHONS(message, category, filename, lineno, file, line)
