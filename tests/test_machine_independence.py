"""Nothing of the machine that runs `pulumi up` enters a registered input.

pulumi-command re-runs `create` when an input changes: an interpreter path or a checkout path in
the zone token issuer's inputs would issue new tokens, and restart every zone control plane,
whenever a colleague, a CI runner or another virtualenv runs `up`. The program runs here twice,
from two clones with two interpreters and two home directories, and must register the same
inputs; the commands it registers must still run, from the project root, as pulumi-command runs
them (`/bin/sh -c <create>`, provider/pkg/provider/local/commandOutputs.go in pulumi-command
v1.2.1, in the provider's working directory: the project root).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_federation.pulumi_cli import copy_project_files
from tests.pulumi_harness import RecordingMonitor
from tests.test_program import COMMAND, federate

REPO = Path(__file__).resolve().parents[1]
CLONE_FILES = ("components", "tests", "Pulumi.yaml", "__main__.py", "pyproject.toml")

# Run in the clone, by the clone's interpreter: every registration's whole inputs (secret
# payloads included), as JSON.
REGISTRATIONS_SCRIPT = """
import json, sys
from tests.test_program import federate
monitor = federate(False)
json.dump(sorted([r.type, r.name, r.inputs] for r in monitor.registrations), sys.stdout,
          sort_keys=True)
"""


def clone(into: Path) -> Path:
    return copy_project_files(into, CLONE_FILES)


def other_interpreter(at: Path) -> Path:
    """This interpreter under another path: a virtualenv layout (pyvenv.cfg beside bin/) whose
    python is a link to the real one; its packages come through PYTHONPATH."""
    (at / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys.prefix) / "pyvenv.cfg", at / "pyvenv.cfg")
    python = at / "bin" / "python"
    python.symlink_to(Path(sys.executable).resolve())
    return python


def registrations(root: Path, python: Path, home: Path) -> tuple[list[Any], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join([str(root), *site.getsitepackages()]))
    done = subprocess.run([str(python), "-c", REGISTRATIONS_SCRIPT], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stdout


def test_two_clones_with_two_interpreters_register_identical_inputs(tmp_path: Path) -> None:
    first_root, second_root = clone(tmp_path / "alice" / "mesh-federation"), clone(
        tmp_path / "ci-runner" / "work" / "checkout")
    first_python = other_interpreter(tmp_path / "alice" / "venv")
    second_python = other_interpreter(tmp_path / "ci-runner" / "py311")
    first, first_text = registrations(first_root, first_python, tmp_path / "alice")
    second, _ = registrations(second_root, second_python, tmp_path / "ci-runner")
    assert [r[:2] for r in first] == [r[:2] for r in second]
    for a, b in zip(first, second, strict=True):
        assert a == b, f"{a[0]} {a[1]} differs between the two clones"
    assert any(r[0] == COMMAND and "components.zone_token" in r[2]["create"] for r in first)
    for machine_specific in (str(tmp_path), "alice", sys.executable, str(REPO)):
        assert machine_specific not in first_text


def project_with_venv(at: Path) -> Path:
    """A project root as `pulumi install` leaves it: the code, and .venv/bin/python (Pulumi.yaml's
    `virtualenv: .venv`), here a wrapper around this interpreter."""
    at.mkdir()
    (at / "components").symlink_to(REPO / "components")
    (at / ".venv" / "bin").mkdir(parents=True)
    python = at / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return at


def run_create(monitor: RecordingMonitor, name: str, root: Path) -> subprocess.CompletedProcess[str]:
    command = monitor.one(COMMAND, name).inputs
    assert "dir" not in command, "no directory: the command runs in the project root"
    # The provider's environment (the engine's), without anything pointing at an interpreter,
    # with the command's `environment` merged over it.
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MESH_FEDERATION_PYTHON")}
    env.update(command.get("environment", {}))
    return subprocess.run(["/bin/sh", "-c", command["create"]], cwd=root, env=env, input="{",
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("name", "says"), [
    ("check-zone-1-run", "federation check: bad spec"),
    ("zone-token-zone-1-issue", "zone token: the zone token spec is not valid JSON"),
])
def test_the_registered_command_runs_the_module_from_the_project_root(
        tmp_path: Path, name: str, says: str) -> None:
    monitor = federate(False)
    done = run_create(monitor, name, project_with_venv(tmp_path / "project"))
    # The module itself answered (a spec that is not JSON): it ran, with the project's interpreter.
    assert says in done.stderr, done.stderr


def test_without_an_interpreter_the_launcher_says_what_to_do(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "components").symlink_to(REPO / "components")
    env = {"PATH": "/nonexistent"}
    done = subprocess.run(["/bin/sh", "components/run_module.sh", "components.check"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 127
    assert "pulumi install" in done.stderr and "MESH_FEDERATION_PYTHON" in done.stderr
