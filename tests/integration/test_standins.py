"""The stand-ins of tools/standins (test tooling) under the real Pulumi CLI, beside the real plugins.

tools/build builds the pulumi CLI v3.274.1 into ${MESH_FEDERATION_TOOLS:-~/.cache/mesh-federation/tools}
and tools/standins/install keeps in its standins/ the Python language host and the command provider
v1.2.1 that the Go module registry does not serve (and puts them where the CLI looks only where no
real plugin is). These tests run that CLI on a tiny Python project in a temporary folder (local file
backend, its own PULUMI_HOME whose plugins/ is the cache's) and hold the stand-ins to what upstream
does, as cited in each test: pulumi-command v1.2.1
provider/pkg/provider/local/{commandController,commandOutputs}.go, pulumi-go-provider v1.3.0
infer/resource.go (which pulumi-command is built on), and pulumi-language-python's main.go. The
lifecycle runs twice: on the stand-ins (named as project plugins, so the CLI runs them whatever
else the cache holds) and on the real plugins where the cache has them, so that the same
expectations hold the stand-ins to the real thing.

The CLI tests are skipped, saying why, when the cache has no CLI or no stand-ins (or, for the real
run, no real plugins). Each pulumi run costs seconds, so one stack goes through the whole lifecycle
in one test.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.integration.tools import REAL, Tools

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tools" / "standins"
CACHE = Path(os.environ.get("MESH_FEDERATION_TOOLS") or Path.home() / ".cache" / "mesh-federation" / "tools")
PULUMI = CACHE / "bin" / "pulumi"
STANDIN_HOST = CACHE / "standins" / "pulumi-language-python"
STANDIN_COMMAND = CACHE / "standins" / "pulumi-resource-command"
COMMAND_VERSION = "1.2.1"
TOKEN = "s3cret-zone-token-4711"


def _cli_missing() -> str | None:
    missing = [str(p) for p in (PULUMI, STANDIN_HOST, STANDIN_COMMAND) if not p.exists()]
    if missing:
        return (f"integration tools not cached: {', '.join(missing)} missing (run tools/build, which builds "
                "the pulumi CLI and runs tools/standins/install)")
    if sys.prefix == sys.base_prefix:
        return "the tests' python is not a virtualenv, the test project's `virtualenv` option"
    return None


def _real_missing() -> str | None:
    kinds = Tools(CACHE).plugin_kinds()
    wanted = ("pulumi-language-python", f"pulumi-resource-command v{COMMAND_VERSION}")
    absent = [name for name in wanted if kinds.get(name) != REAL]
    if absent:
        return f"no real {' or '.join(absent)} in {CACHE} (README: Running the integration tier)"
    return None


needs_cli = pytest.mark.skipif(_cli_missing() is not None, reason=_cli_missing() or "")


# Project plugins (Pulumi.yaml `plugins:`) come before anything else the CLI would find.
STANDINS_AS_PROJECT_PLUGINS = (
    "plugins:\n"
    f"  languages:\n    - name: python\n      path: {STANDIN_HOST.parent}\n"
    f"  providers:\n    - name: command\n      version: {COMMAND_VERSION}\n"
    f"      path: {STANDIN_COMMAND.parent}\n")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"standin_{name}", STANDINS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


PROGRAM = '''\
import pulumi
from pulumi_command import local

config = pulumi.Config()
probe = local.Command(
    "probe",
    create=config.require("create"),
    update=config.require("update"),
    delete=config.require("delete"),
    stdin=config.require_secret("token"),
    # A secret nested in a map: the engine itself only re-marks top-level secret inputs.
    environment={"GREETING": "hello", "TOKEN": config.require_secret("token")},
    triggers=[config.require("trigger")],
)
pulumi.export("stdout", probe.stdout)
pulumi.export("stderr", probe.stderr)
'''

# stdout is the digest of stdin, so the secret reaches the command without being echoed anywhere.
CREATE = 'sha256sum | cut -c1-64; echo "created $GREETING" >&2'
UPDATE = 'sha256sum | cut -c1-64; echo "updated after $PULUMI_COMMAND_STDERR" >&2'
FAILING_CREATE = "echo broke >&2; exit 7"


class Stack:
    def __init__(self, tmp_path: Path, project_plugins: str = "") -> None:
        self.project = tmp_path / "project"
        self.project.mkdir()
        (tmp_path / "state").mkdir()
        home = tmp_path / "pulumi-home"
        home.mkdir()
        (home / "plugins").symlink_to(CACHE / "pulumi-home" / "plugins")
        (self.project / "Pulumi.yaml").write_text(
            "name: standins\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
            f"    virtualenv: {sys.prefix}\n{project_plugins}")
        (self.project / "__main__.py").write_text(PROGRAM)
        self.deleted_marker = tmp_path / "deleted"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        self.env.update({
            "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "x",
            "PULUMI_HOME": str(home),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        })

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(PULUMI), *args, "--non-interactive", "--color", "never"], cwd=self.project,
                              env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if ok and done.returncode != 0:
            pytest.fail(f"pulumi {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def config(self, key: str, value: str, secret: bool = False) -> None:
        self.run("config", "set", *(["--secret"] if secret else []), key, value)

    def up(self, ok: bool = True) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        """`up` without its preview (a program run saved); the engine events tell the steps' ops."""
        done = self.run("up", "--yes", "--skip-preview", "--json", ok=ok)
        ops = []
        for line in done.stdout.splitlines():
            step = json.loads(line).get("resourcePreEvent", {}).get("metadata", {})
            if step.get("urn", "").endswith("::probe"):
                ops.append(step["op"])
        return ops, done

    def outputs(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout)
        return result

    def export(self) -> str:
        return self.run("stack", "export").stdout

    def probe_id(self) -> str:
        resources = json.loads(self.export())["deployment"]["resources"]
        (probe,) = (r for r in resources if r["urn"].endswith("::probe"))
        return str(probe["id"])


@pytest.fixture(params=["stand-in", "real"])
def plugins(request: pytest.FixtureRequest) -> str:
    """Pulumi.yaml's `plugins:` for the stand-ins, or none: the real plugins the cache holds."""
    if request.param == "stand-in":
        return STANDINS_AS_PROJECT_PLUGINS
    reason = _real_missing()
    if reason:
        pytest.skip(reason)
    return ""


@needs_cli
def test_command_lifecycle_under_the_real_cli(plugins: str, tmp_path: Path) -> None:
    stack = Stack(tmp_path, plugins)
    stack.run("stack", "init", "test")
    stack.config("token", TOKEN, secret=True)
    stack.config("create", CREATE)
    stack.config("update", UPDATE)
    stack.config("delete", f'printf %s "$PULUMI_COMMAND_STDOUT" > {stack.deleted_marker}')
    stack.config("trigger", "t1")
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()

    # Preview runs nothing: stdout and stderr are unknown (infer/resource.go markComputed on create).
    preview = stack.run("preview").stdout
    assert re.search(r"\+ +command:local:Command +probe +create", preview), preview
    assert "stdout: [unknown]" in preview and "stderr: [unknown]" in preview

    # Create: the secret stdin reaches the command, the environment too; one trailing newline is
    # trimmed from stdout and stderr (commandOutputs.go run).
    ops, up = stack.up()
    assert ops == ["create"]
    assert stack.outputs() == {"stdout": digest, "stderr": "created hello"}
    first_id = stack.probe_id()
    assert first_id.startswith("probe") and len(first_id) == len("probe") + 8  # resource.NewUniqueHex

    # No drift: a second preview proposes nothing.
    stack.run("preview", "--expect-no-changes")

    # The secret stdin and the secret in the environment are secret inputs and secret outputs in
    # state, never plaintext (ende keeps each input's secret markers at the same paths of the
    # outputs), nor in what the CLI printed.
    exported = stack.export()
    assert TOKEN not in exported and TOKEN not in up.stdout + up.stderr
    probe = next(r for r in json.loads(exported)["deployment"]["resources"] if r["urn"].endswith("::probe"))
    for props in (probe["inputs"], probe["outputs"]):
        for secret in (props["stdin"], props["environment"]["TOKEN"]):
            assert secret["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
        assert props["environment"]["GREETING"] == "hello"
    assert TOKEN in stack.run("stack", "export", "--show-secrets").stdout

    # A changed create is an update that runs `update`, with the previous stderr in
    # PULUMI_COMMAND_STDERR (commandController.go Update); the id stays.
    stack.config("create", CREATE + " # v2")
    assert stack.up()[0] == ["update"]
    assert stack.outputs() == {"stdout": digest, "stderr": "updated after created hello"}
    assert stack.probe_id() == first_id

    # A changed trigger replaces: `create` runs again for a new id.
    stack.config("trigger", "t2")
    assert stack.up()[0] == ["create-replacement", "replace", "delete-replaced"]
    assert stack.outputs() == {"stdout": digest, "stderr": "created hello"}
    assert stack.probe_id() != first_id

    # A failing command fails `up` with upstream's error: the exit, the quoted command, the output.
    stack.config("trigger", "t3")
    stack.config("create", FAILING_CREATE)
    _, failed = stack.up(ok=False)
    assert failed.returncode != 0
    diagnostics = [json.loads(line).get("diagnosticEvent", {}) for line in failed.stdout.splitlines()]
    errors = [d["message"] for d in diagnostics
              if d.get("severity") == "error" and d.get("urn", "").endswith("::probe")]
    assert errors and errors[0].startswith(f'exit status 7: running "{FAILING_CREATE}":\nbroke'), errors

    # Destroy runs `delete` with the stdout of the last successful run in PULUMI_COMMAND_STDOUT.
    stack.run("destroy", "--yes", "--skip-preview")
    assert stack.deleted_marker.read_text() == digest


@pytest.fixture(scope="module")
def provider() -> ModuleType:
    return _load("command_provider")


@pytest.fixture(scope="module")
def language_host() -> ModuleType:
    return _load("language_host")


def test_detailed_diff_keys_and_kinds_follow_upstream(provider: ModuleType) -> None:
    # resource.PropertyPath.String: `a.b`, `a[0]`, `a["k-y"]`; NewDetailedDiffFromObjectDiff: element
    # updates of an array, map key adds and deletes, whole-property adds and deletes.
    old = {"triggers": ["a", "b"], "environment": {"A": "1", "K-Y": "2"}, "dir": "/x"}
    new = {"triggers": ["a", "c", "d"], "environment": {"A": "1", "B": "3"}, "create": "true"}
    assert provider.detailed_diff(old, new) == {
        "triggers[1]": provider.UPDATE, "triggers[2]": provider.ADD,
        "environment.B": provider.ADD, 'environment["K-Y"]': provider.DELETE,
        "dir": provider.DELETE, "create": provider.ADD,
    }
    # Secrets compare by their contents (PropertyValue.DeepEquals).
    secret = provider.Secret("s")
    assert provider.detailed_diff({"stdin": secret}, {"stdin": provider.Secret("s")}) == {}
    changed = provider.detailed_diff({"stdin": secret}, {"stdin": provider.Secret("t")})
    assert changed == {"stdin": provider.UPDATE}


def test_go_quote_matches_strconv_quote(provider: ModuleType) -> None:
    # The command appears in the error as fmt's %q prints it.
    assert provider.go_quote('echo "a\tb" \\ é\x01') == '"echo \\"a\\tb\\" \\\\ é\\x01"'


def test_plugin_version_translation_follows_upstream_examples(language_host: ModuleType) -> None:
    # The examples in the doc comment of upstream's determinePluginVersion.
    assert language_host.plugin_version("1.0") == "1.0.0"
    assert language_host.plugin_version("1.2.3a4") == "1.2.3-alpha.4"
    assert language_host.plugin_version("1.2.3rc4") == "1.2.3-rc.4"
    assert language_host.plugin_version("1.2.3.post4") == "1.2.3+post4"
    assert language_host.plugin_version("1.2.3.post4.dev5") == "1.2.3+post4dev5"
    with pytest.raises(ValueError, match="epochs"):
        language_host.plugin_version("1!2.0")


def test_config_reaches_the_executor_as_go_marshals_it(language_host: ModuleType) -> None:
    # encoding/json.Marshal of map[string]string: sorted keys, HTML characters escaped; the secret
    # keys always set, "[]" when there are none (constructConfig, constructConfigSecretKeys).
    env = language_host.run_environment({"PATH": "/bin"}, {"p:b": "<&>", "p:a": "1"}, [])
    assert env["PULUMI_CONFIG"] == '{"p:a":"1","p:b":"\\u003c\\u0026\\u003e"}'
    assert env["PULUMI_CONFIG_SECRET_KEYS"] == "[]"
    assert "PULUMI_CONFIG" not in language_host.run_environment({}, {}, ["p:a"])
