"""Where the integration tier finds the real tools that `tools/build` built, and what is missing.

The cache lives outside the repository (`$MESH_FEDERATION_TOOLS`, default
`~/.cache/mesh-federation/tools`); its `bin/` holds the binaries, its `pulumi-home/plugins` the
provider plugins installed with `pulumi plugin install --file`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARIES = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "helm", "kubectl",
            "kube-apiserver", "etcd")
PLUGINS = ("resource-kubernetes", "resource-command")


@dataclass(frozen=True)
class Tools:
    cache: Path

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def plugins(self) -> Path:
        return self.cache / "pulumi-home" / "plugins"

    def path(self, name: str) -> str:
        return str(self.bin / name)

    def missing(self) -> list[str]:
        absent = [name for name in BINARIES if not os.access(self.bin / name, os.X_OK)]
        installed = [p.name for p in self.plugins.iterdir()] if self.plugins.is_dir() else []
        absent += [f"plugin {plugin}" for plugin in PLUGINS
                   if not any(name.startswith(f"{plugin}-v") for name in installed)]
        return absent


def cached_tools() -> Tools:
    default = Path.home() / ".cache" / "mesh-federation" / "tools"
    return Tools(Path(os.environ.get("MESH_FEDERATION_TOOLS") or default))


def not_built_reason(tools: Tools) -> str | None:
    missing = tools.missing()
    if not missing:
        return None
    return (f"integration tier NOT RUN: tools not built ({', '.join(missing)} missing in "
            f"{tools.cache}); run tools/build")
