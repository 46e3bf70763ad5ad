"""Where the real tools are, and what is missing.

The tools cache (`$MESH_FEDERATION_TOOLS`, default `~/.cache/mesh-federation/tools`) is looked at
first, then `PATH`: `tools/build` fills the cache's `bin/` and `pulumi-home/plugins`; kuma-cp and
kumactl are found there or on `PATH`, where a user who installed Kuma's release binaries has them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# What the kube environment and the pulumi driver need, and what the real control plane needs.
KUBE_TOOLS = ("etcd", "kube-apiserver", "kubectl", "helm")
PULUMI_TOOLS = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")
KUMA_TOOLS = ("kuma-cp", "kumactl")
PLUGINS = ("resource-kubernetes", "resource-command")


def _upstream() -> Path:
    """../shared/upstream/kuma-v2.14.3 beside the clone, or beside an ancestor (a git worktree
    lives deeper), or `$MESH_FEDERATION_UPSTREAM`."""
    if os.environ.get("MESH_FEDERATION_UPSTREAM"):
        return Path(os.environ["MESH_FEDERATION_UPSTREAM"])
    for ancestor in REPO_ROOT.parents:
        candidate = ancestor / "shared" / "upstream" / "kuma-v2.14.3"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "upstream" / "kuma-v2.14.3"


# The kuma chart the zone is installed from (the air-gapped path: a local chart directory).
UPSTREAM = _upstream()
KUMA_CHART = UPSTREAM / "charts" / "kuma"


def default_cache() -> Path:
    default = Path.home() / ".cache" / "mesh-federation" / "tools"
    return Path(os.environ.get("MESH_FEDERATION_TOOLS") or default)


@dataclass(frozen=True)
class Assets:
    """The tools cache and, behind it, PATH."""

    cache: Path

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def plugins(self) -> Path:
        return self.cache / "pulumi-home" / "plugins"

    def find(self, name: str) -> str | None:
        cached = self.bin / name
        if os.access(cached, os.X_OK):
            return str(cached)
        return shutil.which(name)

    def path(self, name: str) -> str:
        found = self.find(name)
        if found is None:
            raise FileNotFoundError(f"{name} is neither in {self.bin} nor on PATH")
        return found

    def missing(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.find(name) is None]

    def missing_plugins(self) -> list[str]:
        installed = [p.name for p in self.plugins.iterdir()] if self.plugins.is_dir() else []
        return [f"plugin {plugin}" for plugin in PLUGINS
                if not any(name.startswith(f"{plugin}-v") for name in installed)]

    def search_path(self) -> str:
        """PATH with the cache's bin first: helm and kubectl for the program's own commands."""
        return os.pathsep.join(filter(None, [str(self.bin), os.environ.get("PATH", "")]))


def cached_assets() -> Assets:
    return Assets(default_cache())


def kuma_missing_reason(assets: Assets) -> str | None:
    """Why the real control plane cannot run here, or None."""
    missing = assets.missing(KUMA_TOOLS)
    if not missing:
        return None
    return (f"{' and '.join(missing)} not found (neither in {assets.bin} nor on PATH): the Go module "
            "registry may refuse github.com/kumahq/kuma/v2; install Kuma 2.14.3's release binaries "
            f"on PATH or place them in {assets.bin}")


def federation_missing_reason(assets: Assets) -> str | None:
    """Why a local federation cannot start here (tools, plugins, chart, kuma-cp), or None."""
    missing = assets.missing((*KUBE_TOOLS, *PULUMI_TOOLS)) + assets.missing_plugins()
    if missing:
        return f"tools not built ({', '.join(missing)} missing in {assets.cache}); run tools/build"
    if not (KUMA_CHART / "Chart.yaml").is_file():
        return f"the kuma chart is not in {KUMA_CHART} (../shared/upstream absent)"
    return kuma_missing_reason(assets)
