"""One Pulumi driver (tier 1, tier 2, tools/local): the real `pulumi` CLI on a clone of this
project: a local file backend, a passphrase secrets provider, plugins only from the tools cache
(never downloaded).

A clone is the project's own files copied to a new directory with a virtualenv of its own at
`.venv` (Pulumi.yaml's `virtualenv:`). The virtualenv is made without pip and sees the test
runner's installed packages through a .pth file: a second interpreter path and project root for
the no-changes check, without a second five-minute install of the same pinned requirements.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from local_federation.assets import REPO_ROOT


class ToolPaths(Protocol):
    @property
    def bin(self) -> Path: ...

    @property
    def plugins(self) -> Path: ...

    def path(self, name: str) -> str: ...

PASSPHRASE = "integration-passphrase"
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt", "components")


def copy_project_files(destination: Path, names: tuple[str, ...] = PROJECT_FILES) -> Path:
    """The repository's `names` (files or folders, no caches) copied into a new `destination`."""
    destination.mkdir(parents=True)
    for name in names:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def clone_project(destination: Path) -> Path:
    copy_project_files(destination)
    venv = destination / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "integration-runner.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return destination


@dataclass
class Pulumi:
    """One project directory, one stack, one backend."""

    tools: ToolPaths
    project: Path
    backend: Path
    home: Path
    stack: str
    path_prefix: str = ""
    passphrase: str = PASSPHRASE

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
        env.update({
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "NO_COLOR": "1",
            # helm and kubectl, which the program's commands run, from the tools cache.
            "PATH": os.pathsep.join(filter(None, [self.path_prefix, str(self.tools.bin),
                                                  os.environ.get("PATH", "")])),
        })
        return env

    def argv(self, *args: str) -> list[str]:
        # Every command names its stack: a second clone has none selected.
        argv = list(args)
        if args[:2] != ("stack", "init"):
            argv[argv.index("--") if "--" in argv else len(argv):0] = ["--stack", self.stack]
        return [self.tools.path("pulumi"), "--non-interactive", *argv]

    def run(self, *args: str, check: bool = True, timeout: float = 900,
            shown: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.argv(*args), cwd=self.project, env=self.env(), text=True,
                                capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"pulumi {shown or ' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}")
        return result

    def init(self, config: dict[str, Any], secrets: dict[str, str] | None = None) -> None:
        """A new stack with this config (plain values in the stack file, secrets encrypted)."""
        self.home.mkdir(parents=True, exist_ok=True)
        plugins = self.home / "plugins"
        if not plugins.exists():
            plugins.symlink_to(self.tools.plugins)
        self.backend.mkdir(parents=True, exist_ok=True)
        self.run("stack", "init", self.stack)
        self.write_config(config)
        for key, value in (secrets or {}).items():
            self.set_secret(key, value)

    def write_config(self, config: dict[str, Any]) -> None:
        """Plain values merged into the stack file, keeping the encrypted ones and the salt."""
        stack_file = self.project / f"Pulumi.{self.stack}.yaml"
        current = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else {}
        current = current or {}
        current.setdefault("config", {}).update(config)
        stack_file.write_text(yaml.safe_dump(current, sort_keys=False))

    def set_secret(self, key: str, value: str) -> None:
        # `--`: a PEM starts with dashes. The value is never shown in a failure.
        self.run("config", "set", "--secret", "--path", key, "--", value,
                 shown=f"config set --secret --path {key} [secret]")

    def preview(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("preview", "--diff", *extra, check=check)

    def up(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--yes", "--skip-preview", *extra, check=check)

    def start_up(self, output: Path) -> subprocess.Popen[bytes]:
        """`pulumi up` in the background, its output to `output`, in a process group of its own as
        a terminal's foreground job is: a Ctrl-C there reaches the whole group (`os.killpg`)."""
        with output.open("wb") as sink:
            return subprocess.Popen(self.argv("up", "--yes", "--skip-preview"), cwd=self.project,
                                    env=self.env(), stdout=sink, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def destroy(self) -> subprocess.CompletedProcess[str]:
        return self.run("destroy", "--yes", "--skip-preview")

    def export_state(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "export").stdout))

    def state_text(self) -> str:
        """Every byte the backend holds for the project (state, backups, history)."""
        chunks = []
        for path in sorted(self.backend.rglob("*")):
            if path.is_file():
                chunks.append(path.read_bytes().decode("utf-8", "replace"))
        return "\n".join(chunks)

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json").stdout))

    def resources(self) -> list[dict[str, Any]]:
        return list(self.export_state()["deployment"].get("resources") or [])
