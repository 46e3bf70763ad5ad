"""A routed warning class is said through the caller's own line, once per routing; any other
warning keeps Python's format (components/warning_hook.py)."""

from __future__ import annotations

import warnings

import pytest

from components import warning_hook


class Routed(UserWarning):
    pass


def test_a_routed_warning_is_said_by_the_last_route_and_others_by_python(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(warning_hook, "_ROUTES", {})
    # Python's own display, recorded (pytest's warning capture would take it otherwise).
    python_shows: list[str] = []
    monkeypatch.setattr(warning_hook, "_PYTHONS",
                        lambda message, *_args, **_kwargs: python_shows.append(str(message)))
    first: list[str] = []
    said: list[str] = []
    warning_hook.say_warnings_of(Routed, first.append)
    warning_hook.say_warnings_of(Routed, said.append)  # replaces, never nests
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("verification is off", Routed, stacklevel=1)
        warnings.warn("something else", DeprecationWarning, stacklevel=1)
    assert said == ["verification is off"] and first == []
    assert python_shows == ["something else"]
