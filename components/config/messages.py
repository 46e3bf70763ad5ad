"""The config's error type and the fixes its messages share: every problem names the key as
the user wrote it and the `pulumi config` command that fixes it, with the current key names."""

from __future__ import annotations

from components.config.schema import NAMESPACE


class ConfigError(ValueError):
    """Every problem in the stack configuration, each naming its key and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


def _target(path: str) -> str:
    # A nested key (`global.api.url`, `zones[0].name`) needs --path; a top-level one does not.
    nested = "." in path or "[" in path
    return f"--path '{NAMESPACE}:{path}'" if nested else f"{NAMESPACE}:{path}"


def config_set(path: str, value: str = "<value>", *, secret: bool = False) -> str:
    """The command that sets `path` (a key of the namespace, e.g. `zones[0].api.url`)."""
    return f"`pulumi config set {'--secret ' if secret else ''}{_target(path)} {value}`"


def config_rm(path: str) -> str:
    """The command that removes `path` from the stack's config."""
    return f"`pulumi config rm {_target(path)}`"
