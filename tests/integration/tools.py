"""Where the integration tier finds the real tools that `tools/build` built, and what is missing.

The cache lives outside the repository (`$MESH_FEDERATION_TOOLS`, default
`~/.cache/mesh-federation/tools`); its `bin/` holds the binaries, its `pulumi-home/plugins` the
provider plugins installed with `pulumi plugin install --file`.

Three Pulumi plugins are real only where someone put them there (the Go module registry does not
serve their modules here): the Python language host (`bin/pulumi-language-python`) and the command
and TLS providers (`pulumi-home/plugins/resource-<name>-v<version>/`). Where the cache has none,
`tools/standins/install` puts test stand-ins for the first two in the same places, marked as such;
the TLS provider has no stand-in. `plugin_kinds` tells which of the three the tier runs with.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from dataclasses import dataclass
from pathlib import Path

from local_federation.assets import KUBE_TOOLS, PULUMI_TOOLS, Assets, default_cache

# The line every stand-in carries (tools/standins/install); a real plugin is a binary without it.
STANDIN_MARKER = b"TEST TOOLING (tools/standins/install)"
REAL, STANDIN, ABSENT = "real", "stand-in", "absent"


def sdk_plugin_version(package: str) -> str:
    """The provider plugin version a Python SDK declares: what the engine asks for."""
    declared = importlib.resources.files(package).joinpath("pulumi-plugin.json").read_text()
    return str(json.loads(declared)["version"])


def plugin_kind(executable: Path) -> str:
    """`real`, `stand-in` (it carries the stand-ins' marker) or `absent`."""
    if not os.access(executable, os.X_OK):
        return ABSENT
    with executable.open("rb") as head:
        return STANDIN if STANDIN_MARKER in head.read(4096) else REAL


@dataclass(frozen=True)
class Tools(Assets):
    """The tools cache as local_federation finds it, plus what the tier says of its plugins."""

    @property
    def standins(self) -> Path:
        """Where tools/standins/install keeps the stand-ins themselves, whatever the CLI uses."""
        return self.cache / "standins"

    def provider_plugin(self, name: str, version: str) -> Path:
        return self.plugins / f"resource-{name}-v{version}" / f"pulumi-resource-{name}"

    def plugin_kinds(self) -> dict[str, str]:
        """Which language host and which command and TLS providers the CLI runs here, by the
        versions requirements.txt's SDKs declare."""
        kinds = {"pulumi-language-python": plugin_kind(self.bin / "pulumi-language-python")}
        for name, package in (("command", "pulumi_command"), ("tls", "pulumi_tls")):
            version = sdk_plugin_version(package)
            kinds[f"pulumi-resource-{name} v{version}"] = plugin_kind(self.provider_plugin(name, version))
        return kinds

    def not_built(self) -> list[str]:
        return self.missing((*PULUMI_TOOLS, *KUBE_TOOLS)) + self.missing_plugins()


def cached_tools() -> Tools:
    return Tools(default_cache())


def not_built_reason(tools: Tools) -> str | None:
    missing = tools.not_built()
    if not missing:
        return None
    return (f"integration tier NOT RUN: tools not built ({', '.join(missing)} missing in "
            f"{tools.cache}); run tools/build")


def plugins_report(tools: Tools) -> str:
    """One line: the plugins the tier ran with, real or stand-in, each by name."""
    kinds = tools.plugin_kinds()
    return "integration tier plugins: " + ", ".join(f"{name} {kind}" for name, kind in kinds.items())


def real_tls_missing_reason(tools: Tools) -> str | None:
    """Why a scenario on the default `kdsTls.mode: generated` cannot run here, if it cannot."""
    version = sdk_plugin_version("pulumi_tls")
    if plugin_kind(tools.provider_plugin("tls", version)) == REAL:
        return None
    return (f"kdsTls.mode generated NOT RUN: no pulumi-resource-tls v{version} in {tools.plugins} "
            "(the Go module registry does not serve it and it has no stand-in; README: Running "
            "the integration tier)")
