"""Stand-in for the Python language host `pulumi-language-python` -- TEST TOOLING, never shipped.

The integration tier runs the program with the real Pulumi CLI, but the Go module registry serves no
version of `github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3`, so the real language
host cannot be built here. This is a port, in Python, of what the CLI calls on it in preview, up,
destroy, refresh, stack output and config, read from upstream:

- `sdk/python/cmd/pulumi-language-python/main.go` of pulumi/pulumi (the newest revision readable here,
  commit f7520826c104 of 2026-08-21, the 3.260 development line: no v3.274.1 tag is in the mirror and
  the module is not served): `main` (flags, port on stdout), `Handshake`, `GetPluginInfo`,
  `GetRequiredPackages` (`listPulumiPackageInfos`, `pulumiPluginJSONPathsScript`,
  `packageDependencyFromPluginJSON`, `determinePluginVersion`), `GetRequiredPlugins` (Unimplemented),
  `Run` (`constructArguments`, `constructConfig`, `constructConfigSecretKeys`, the exit-code mapping:
  32 is a bail), `InstallDependencies`, `About`, `GetProgramDependencies`, `Cancel`;
- `sdk/python/toolchain/{toolchain,pip}.go` of the sdk/v3 module at v3.274.1 (the version the CLI is
  built from): `ResolveToolchain`, `resolveVirtualEnvironmentPath` (the `virtualenv` option is relative
  to the project root), `ActivateVirtualEnv`, `ValidateVenv`/`NewVirtualEnvError`, `EnsureVenv`,
  `InstallDependencies`, `ListPackages` (`pip list --format json`, PEP 503 names), `About`;
- `sdk/go/common/util/rpcutil/{health,serve}.go` (the engine health check, 127.0.0.1 listener) and
  `sdk/go/common/resource/plugin/{plugin,langruntime_plugin}.go` (how the CLI launches a language
  host: `[--logtostderr] [-v=N] [--tracing X] ENGINE_ADDRESS`, reads one line with the port).

The program itself runs through the real `pulumi-language-python-exec` (from the sdk/v3 module),
found next to the wrapper that launches this script, exactly as upstream finds it next to its binary.

Not ported, and refused with a clear error rather than ignored: the `uv` and `poetry` toolchains
(also when auto-detected from a uv.lock/poetry.lock), the `typechecker` option, `attachDebugger`,
`useLanguageVersionTools` (pyenv), plugins (`RunPlugin`, plugin installs), code generation, `Pack`,
`Link`, `Template`, `RuntimeOptionsPrompts`, OpenTelemetry/Zipkin tracing (the flag is accepted and
passed on to the executor as upstream does, nothing is emitted).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _stub_parent_packages() -> None:
    """Only the gRPC stubs of the pulumi package are needed: placeholder parent packages keep its
    heavy __init__ modules (the whole SDK) from loading, a third of a second saved at every launch.
    Only when run as the plugin: imported (by the tests), the real packages stay."""
    spec = importlib.util.find_spec("pulumi")
    if spec is None or not spec.submodule_search_locations or "pulumi" in sys.modules:
        return
    root = next(iter(spec.submodule_search_locations))
    for name, path in (("pulumi", root), ("pulumi.runtime", os.path.join(root, "runtime"))):
        package = types.ModuleType(name)
        package.__path__ = [path]
        sys.modules[name] = package


if __name__ == "__main__":
    _stub_parent_packages()

import grpc  # noqa: E402
from google.protobuf import empty_pb2, json_format  # noqa: E402
from pulumi.runtime.proto import (  # noqa: E402
    engine_pb2,
    engine_pb2_grpc,
    language_pb2,
    language_pb2_grpc,
    plugin_pb2,
)

# upstream: const pythonDefaultExec, pulumiConfigVar, pulumiConfigSecretKeysVar,
# pythonProcessExitedAfterShowingUserActionableMessage.
EXECUTOR_NAME = "pulumi-language-python-exec"
CONFIG_VAR = "PULUMI_CONFIG"
CONFIG_SECRET_KEYS_VAR = "PULUMI_CONFIG_SECRET_KEYS"
BAIL_EXIT_CODE = 32
# upstream: minimumSupportedPythonVersion / eolPythonVersion (both 3.7.0).
MINIMUM_PYTHON = (3, 7, 0)
# rpcutil: maxRPCMessageSize, and the health check period the hosts pass to rpcutil.Healthcheck.
MAX_RPC_MESSAGE_SIZE = 1024 * 1024 * 400
HEALTH_CHECK_PERIOD_SECONDS = 5 * 60
# exec.Cmd.WaitDelay upstream gives the program between the interrupt and the kill.
CANCEL_WAIT_SECONDS = 5.0

# upstream: packagesWithoutPlugins.
PACKAGES_WITHOUT_PLUGINS = frozenset({"pulumi-policy", "pulumi-esc-sdk"})

# upstream: pulumiPluginJSONPathsScript, byte for byte (it runs in the program's interpreter).
PLUGIN_JSON_PATHS_SCRIPT = """import importlib.metadata, importlib.util, os, sys, json
result = {}
for pkg_name in sys.argv[1:]:
	try:
		dist = importlib.metadata.distribution(pkg_name)
		module = dist.metadata['Name'].replace('-', '_')
		spec = importlib.util.find_spec(module)
		locs = list(spec.submodule_search_locations or []) if spec else []
		found = [p for l in locs for p in [os.path.join(str(l), 'pulumi-plugin.json')] if os.path.isfile(p)]
		result[pkg_name] = found[0] if found else ''
	except Exception:
		result[pkg_name] = ''
print(json.dumps(result))"""


class HostError(Exception):
    """An error upstream returns from an RPC: the CLI shows its message."""


class Unsupported(HostError):
    """Something upstream supports that this stand-in deliberately does not."""


# ---------------------------------------------------------------------------------------------
# Options and toolchain (upstream parseOptions, toolchain.ResolveToolchain and the pip toolchain)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PythonOptions:
    root: str
    program_dir: str
    virtualenv: str  # the option as written in Pulumi.yaml; "" for the ambient python


def parse_options(root: str, program_dir: str, options: Mapping[str, Any], is_plugin: bool) -> PythonOptions:
    virtualenv = options.get("virtualenv", "")
    if not isinstance(virtualenv, str):
        raise HostError("virtualenv option must be a string")
    typechecker = options.get("typechecker")
    if typechecker is not None:
        if not isinstance(typechecker, str):
            raise HostError("typechecker option must be a string")
        if typechecker not in ("mypy", "pyright"):
            raise HostError(f"unsupported typechecker option: {typechecker}")
        raise Unsupported(f"the language host stand-in does not run the typechecker option ({typechecker})")
    toolchain = options.get("toolchain")
    if toolchain is not None:
        if not isinstance(toolchain, str):
            raise HostError("toolchain option must be a string")
        if toolchain not in ("pip", "poetry", "uv"):
            raise HostError(f"unsupported toolchain option: {toolchain}")
        if toolchain != "pip":
            raise Unsupported(f"the language host stand-in supports only the pip toolchain, not {toolchain}")
    else:
        # toolchain.Auto: uv or poetry when their lock file is found upwards, pip otherwise.
        for lock in ("uv.lock", "poetry.lock"):
            if _search_up(program_dir, lock):
                raise Unsupported(f"the language host stand-in supports only the pip toolchain; found {lock} "
                                  f"above {program_dir}, so upstream would use {lock.split('.')[0]}")
    if is_plugin and virtualenv == "":
        virtualenv = "venv"
    return PythonOptions(root=root, program_dir=program_dir, virtualenv=virtualenv)


def _search_up(directory: str, name: str) -> bool:
    current = Path(directory)
    while True:
        if (current / name).exists():
            return True
        if current.parent == current:
            return False
        current = current.parent


def virtualenv_path(opts: PythonOptions) -> str:
    """upstream resolveVirtualEnvironmentPath: relative to the project root."""
    if opts.virtualenv == "":
        return ""
    return opts.virtualenv if os.path.isabs(opts.virtualenv) else os.path.join(opts.root, opts.virtualenv)


def is_virtualenv(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "bin", "python"))


def activate_virtualenv(environ: Mapping[str, str], venv: str) -> dict[str, str]:
    """upstream ActivateVirtualEnv: venv/bin first on PATH, PYTHONHOME unset, VIRTUAL_ENV set."""
    result: dict[str, str] = {}
    has_path = False
    for key, value in environ.items():
        upper = key.upper()
        if upper == "PATH":
            has_path = True
            result[key] = os.path.join(venv, "bin") + os.pathsep + value
        elif upper in ("PYTHONHOME", "VIRTUAL_ENV"):
            continue
        else:
            result[key] = value
    if not has_path:
        result["PATH"] = os.path.join(venv, "bin")
    result["VIRTUAL_ENV"] = venv
    return result


def ambient_python() -> str:
    """upstream CommandPath: PULUMI_PYTHON_CMD, else python3, else python, looked up on PATH."""
    env_cmd = os.environ.get("PULUMI_PYTHON_CMD", "")
    candidates = [env_cmd] if env_cmd else ["python3", "python"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise HostError(f"failed to locate any of {json.dumps(candidates)} on your PATH. "
                    "Have you installed Python 3.10 or greater?")


def python_command(opts: PythonOptions, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """upstream pip.Command: the virtualenv's python with the virtualenv activated, else the ambient one."""
    venv = virtualenv_path(opts)
    if venv == "":
        return [ambient_python(), *args], dict(os.environ)
    return [os.path.join(venv, "bin", "python"), *args], activate_virtualenv(os.environ, venv)


def validate_venv(opts: PythonOptions) -> None:
    """upstream pip.ValidateVenv and NewVirtualEnvError."""
    venv = virtualenv_path(opts)
    if opts.virtualenv == "" or is_virtualenv(venv):
        return
    message = "doesn't exist" if not os.path.exists(venv) else "doesn't appear to be a virtual environment"
    venv_python = os.path.join(venv, "bin", "python")
    commands = (f"    1. python3 -m venv {venv}\n"
                f"    2. {venv_python} -m pip install --upgrade pip setuptools wheel\n"
                f"    3. {venv_python} -m pip install -r requirements.txt\n")
    raise HostError(
        f"The 'virtualenv' option in Pulumi.yaml is set to {json.dumps(opts.virtualenv)}, but "
        f"{json.dumps(venv)} {message}; run the following commands to create the virtual environment and "
        f"install dependencies into it:\n\n{commands}\n\n"
        "For more information see: https://www.pulumi.com/docs/intro/languages/python/#virtual-environments")


Writer = Callable[[str], None]


def ensure_venv(opts: PythonOptions, cwd: str, out: Writer, err: Writer) -> None:
    """upstream pip.EnsureVenv: create the virtualenv (and install requirements) when missing or empty."""
    if opts.virtualenv == "":
        return
    venv = virtualenv_path(opts)
    if is_virtualenv(venv):
        return
    if os.path.exists(venv):
        if not os.path.isdir(venv):
            raise HostError(f"the 'virtualenv' option in Pulumi.yaml is set to {json.dumps(venv)} "
                            "but it is not a directory")
        if os.listdir(venv):
            return
    install_dependencies(cwd, venv, out, err)


def install_dependencies(cwd: str, venv: str, out: Writer, err: Writer) -> None:
    """upstream toolchain.InstallDependencies (without pyenv, without the transient-error retries)."""
    if venv:
        out("Creating virtual environment...\n")
        if not os.path.isabs(venv):
            raise HostError(f"virtual environment path must be absolute: {venv}")
        created = subprocess.run([ambient_python(), "-m", "venv", venv], capture_output=True, check=False)
        if created.returncode != 0:
            output = (created.stdout + created.stderr).decode(errors="replace")
            if output:
                err(output + "\n")
            raise HostError(f"creating virtual environment at '{venv}': exit status {created.returncode}")
        out("Finished creating virtual environment\n")

    def pip_install(what: str, *args: str) -> None:
        python = os.path.join(venv, "bin", "python") if venv else ambient_python()
        argv = [python, "-m", "pip", "install", *args]
        env = activate_virtualenv(os.environ, venv) if venv else dict(os.environ)
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        out(done.stdout.decode(errors="replace"))
        stderr = done.stderr.decode(errors="replace")
        err(stderr)
        if done.returncode != 0:
            detail = f": {stderr.strip()}" if stderr.strip() else ""
            raise HostError(f"{what} via '{' '.join(argv)}': exit status {done.returncode}{detail}")

    out("Updating pip, setuptools, and wheel in virtual environment...\n")
    pip_install("updating pip, setuptools, and wheel", "--upgrade", "pip", "setuptools", "wheel")
    out("Finished updating\n")
    if not os.path.exists(os.path.join(cwd, "requirements.txt")):
        return
    out("Installing dependencies in virtual environment...\n")
    pip_install("installing dependencies", "-r", "requirements.txt")
    out("Finished installing dependencies\n")


def normalize_package_name(name: str) -> str:
    """upstream normalizePythonPackageName (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.lower())


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str


def list_packages(opts: PythonOptions, transitive: bool) -> list[Dependency]:
    """upstream pip.ListPackages: `python -m pip list --format json [--not-required]`."""
    args = ["-m", "pip", "list", "--format", "json"]
    if not transitive:
        args.append("--not-required")
    argv, env = python_command(opts, args)
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise HostError(f"calling `{' '.join(argv)}`: exit status {done.returncode}")
    try:
        raw = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise HostError(f"parsing `python {' '.join(argv)}` output: {error}") from error
    return [Dependency(normalize_package_name(str(entry["name"])), str(entry["version"])) for entry in raw]


# ---------------------------------------------------------------------------------------------
# Required packages (upstream listPulumiPackageInfos, packageDependencyFromPluginJSON)
# ---------------------------------------------------------------------------------------------


def plugin_json_paths(opts: PythonOptions, packages: Sequence[Dependency]) -> dict[str, str]:
    """upstream readAllPulumiPluginJSONPaths: a failed script means no pulumi-plugin.json at all."""
    if not packages:
        return {}
    argv, env = python_command(opts, ["-c", PLUGIN_JSON_PATHS_SCRIPT, *(p.name for p in packages)])
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        return {}
    try:
        paths = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise HostError(f"failed to parse pulumi-plugin.json paths: {error}") from error
    return {str(k): str(v) for k, v in paths.items()}


@dataclass(frozen=True)
class PulumiPackage:
    dependency: Dependency
    plugin_json: dict[str, Any] | None


def list_pulumi_packages(opts: PythonOptions) -> list[PulumiPackage]:
    packages = list_packages(opts, transitive=True)
    paths = plugin_json_paths(opts, packages)
    result: list[PulumiPackage] = []
    for package in packages:
        if package.name in PACKAGES_WITHOUT_PLUGINS:
            continue
        plugin_json: dict[str, Any] | None = None
        path = paths.get(package.name, "")
        if path:
            try:
                text = Path(path).read_text()
            except OSError:
                text = None  # upstream logs and carries on without it
            if text is not None:
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError as error:
                    raise HostError(
                        f"failed to parse pulumi-plugin.json for {package.name}: {error}") from error
                plugin_json = parsed if isinstance(parsed, dict) else {}
        if plugin_json is None and not package.name.startswith("pulumi-"):
            continue
        result.append(PulumiPackage(package, plugin_json))
    return result


def _parameterization(raw: Any) -> plugin_pb2.PackageParameterization | None:
    if not isinstance(raw, dict):
        return None
    value = raw.get("value") or ""
    # Go's encoding/json carries the []byte value as base64.
    return plugin_pb2.PackageParameterization(name=str(raw.get("name", "")),
                                              version=str(raw.get("version", "")),
                                              value=base64.b64decode(value) if value else b"")


def package_dependency(package: PulumiPackage) -> plugin_pb2.PackageDependency | None:
    """upstream packageDependencyFromPluginJSON."""
    name = version = server = ""
    parameterization = extension = None
    if package.plugin_json is not None:
        if not package.plugin_json.get("resource", False):
            return None
        parameterization = _parameterization(package.plugin_json.get("parameterization"))
        extension = _parameterization(package.plugin_json.get("extensionParameterization"))
        name = str(package.plugin_json.get("name") or "")
        version = str(package.plugin_json.get("version") or "")
        server = str(package.plugin_json.get("server") or "")
    if name == "":
        name = package.dependency.name.removeprefix("pulumi-")
    if version == "":
        try:
            version = plugin_version(package.dependency.version)
        except ValueError:
            return None  # upstream: cannot determine the plugin version, skip the package
    if not version.startswith("v"):
        version = "v" + version
    return plugin_pb2.PackageDependency(name=name, version=version, kind="resource", server=server,
                                        parameterization=parameterization, extension=extension)


def plugin_version(package_version: str) -> str:
    """upstream determinePluginVersion: a PEP 440 package version as a plugin (semver) version."""
    if not package_version:
        raise ValueError("cannot parse empty string")
    if not package_version.isascii():
        raise ValueError("not ascii")

    def number(s: str) -> tuple[str, str]:
        i = 0
        while i < len(s) and s[i].isdigit():
            i += 1
        return s[:i], s[i:]

    first, after_first = number(package_version)
    if first and after_first.startswith("!"):
        raise ValueError("epochs are not supported")
    segments: list[str] = []
    rest = package_version
    found_dot = False
    while True:
        num, rest = number(rest)
        if not num:
            break
        found_dot = False
        segments.append(num)
        if rest.startswith("."):
            rest = rest[1:]
            found_dot = True
        else:
            break
    if found_dot:
        rest = "." + rest
    while len(segments) < 3:
        segments.append("0")
    if rest == "":
        return ".".join(segments)
    pre = ""
    if rest.startswith("a"):
        pre, rest = number(rest[1:])
        pre = "-alpha." + pre
    elif rest.startswith("b"):
        pre, rest = number(rest[1:])
        pre = "-beta." + pre
    elif rest.startswith("rc"):
        pre, rest = number(rest[2:])
        pre = "-rc." + pre
    post = ""
    if rest.startswith(".post"):
        post, rest = number(rest[5:])
        post = "+post" + post
    dev = ""
    if rest.startswith(".dev"):
        dev, rest = number(rest[4:])
        dev = ("" if post else "+") + "dev" + dev
    if rest:
        raise ValueError(f"'{rest}' still unparsed")
    return ".".join(segments) + pre + post + dev


def python_version_warning(opts: PythonOptions) -> str | None:
    """upstream validateVersion: the warning it prints to stderr, if any."""
    try:
        argv, env = python_command(opts, ["--version"])
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
    except (HostError, OSError) as error:
        return f"Failed to resolve python version command: {error}"
    text = done.stdout.decode().strip().removeprefix("Python ")
    text = re.sub(r"-?rc\d+$", "", text)
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text)
    if done.returncode != 0 or match is None:
        return f"Failed to parse python version: '{text}'"
    parsed = tuple(int(part) for part in match.groups())
    if parsed < MINIMUM_PYTHON:
        return f"Pulumi does not support Python {text}. Please upgrade to at least 3.7.0"
    return None


# ---------------------------------------------------------------------------------------------
# Run (upstream Run, constructArguments, constructConfig, constructConfigSecretKeys)
# ---------------------------------------------------------------------------------------------


def go_json(value: Any) -> str:
    """encoding/json.Marshal: sorted map keys, no spaces, and <, >, &, U+2028, U+2029 escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def executor_arguments(request: Any, engine_address: str, tracing: str) -> list[str]:
    """upstream constructArguments: --flag value pairs for the non-empty ones, the entry point, the args."""
    args: list[str] = []

    def maybe(key: str, value: str) -> None:
        if value != "":
            args.extend(["--" + key, value])

    maybe("monitor", request.monitor_address)
    maybe("engine", engine_address)
    maybe("project", request.project)
    maybe("root_directory", request.info.root_directory)
    maybe("stack", request.stack)
    maybe("pwd", request.pwd)
    maybe("dry_run", "true" if request.dryRun else "false")
    maybe("parallel", str(request.parallel))
    maybe("tracing", tracing)
    maybe("organization", request.organization)
    args.append(request.info.entry_point)
    args.extend(request.args)
    return args


def run_environment(base: Mapping[str, str], config: Mapping[str, str],
                    secret_keys: Sequence[str]) -> dict[str, str]:
    """upstream Run: PULUMI_CONFIG only when there is config, PULUMI_CONFIG_SECRET_KEYS always."""
    env = dict(base)
    if config:
        env[CONFIG_VAR] = go_json(dict(config))
    env[CONFIG_SECRET_KEYS_VAR] = go_json(list(secret_keys))
    return env


def exit_error(returncode: int) -> str | None:
    """upstream Run's mapping of the executor's exit: None for success, "" for a bail, else the error."""
    if returncode == 0:
        return None
    if returncode == BAIL_EXIT_CODE:
        return ""
    # syscall.WaitStatus.ExitStatus() is -1 for a process killed by a signal.
    return f"program exited with non-zero exit code: {returncode if returncode > 0 else -1}"


# ---------------------------------------------------------------------------------------------
# The gRPC service
# ---------------------------------------------------------------------------------------------


def _options(info: Any) -> dict[str, Any]:
    return json_format.MessageToDict(info.options) if info.HasField("options") else {}


class EngineLog:
    """upstream createEngineWriters/logWriter: ephemeral engine log messages on one stream id."""

    def __init__(self, engine_address: str, severity: engine_pb2.LogSeverity.ValueType) -> None:
        self._channel = grpc.insecure_channel(engine_address)
        self._engine = engine_pb2_grpc.EngineStub(self._channel)
        self._stream_id = random.randint(0, 2**31 - 1)
        self._severity = severity

    def __call__(self, text: str) -> None:
        if text:
            self._engine.Log(engine_pb2.LogRequest(message=text, urn="", ephemeral=True,
                                                   streamId=self._stream_id, severity=self._severity))


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, executor: str, engine_address: str, tracing: str, version: str,
                 on_engine_gone: Callable[[], None]) -> None:
        self.executor = executor
        self.engine_address = engine_address
        self.tracing = tracing
        self.version = version
        self.on_engine_gone = on_engine_gone
        self.cancelled = threading.Event()

    # Every RPC goes through here: an error upstream returns becomes a gRPC error with its message.
    @staticmethod
    def _fail(context: Any, error: Exception) -> None:
        code = grpc.StatusCode.UNIMPLEMENTED if isinstance(error, Unsupported) else grpc.StatusCode.UNKNOWN
        context.abort(code, str(error))

    def Handshake(self, request: Any, context: Any) -> Any:
        self.engine_address = request.engine_address
        start_health_check(self.engine_address, self.on_engine_gone)
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=self.version)

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "method GetRequiredPlugins not implemented")

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        try:
            opts = parse_options(request.info.root_directory, request.info.program_directory,
                                 _options(request.info), is_plugin=False)
            ensure_venv(opts, request.info.program_directory,
                        EngineLog(self.engine_address, engine_pb2.INFO),
                        EngineLog(self.engine_address, engine_pb2.ERROR))
            warning = python_version_warning(opts)
            if warning:
                print(warning, file=sys.stderr, flush=True)
            packages = [dependency for dependency in map(package_dependency, list_pulumi_packages(opts))
                        if dependency is not None]
        except HostError as error:
            self._fail(context, error)
        return language_pb2.GetRequiredPackagesResponse(packages=packages)

    def Run(self, request: Any, context: Any) -> Any:
        if self.engine_address == "":
            context.abort(grpc.StatusCode.UNKNOWN,
                          "when debugging or running explicitly, must call Handshake before Run")
        try:
            opts = parse_options(request.info.root_directory, request.info.program_directory,
                                 _options(request.info), is_plugin=False)
            if request.attach_debugger:
                raise Unsupported("the language host stand-in cannot attach a debugger")
            executor_args = executor_arguments(request, self.engine_address, self.tracing)
            argv, base_env = python_command(opts, [self.executor, *executor_args])
            validate_venv(opts)
        except HostError as error:
            self._fail(context, error)
        env = run_environment(base_env, request.config, request.configSecretKeys)
        try:
            # The CLI reads this process's stdout and stderr (upstream: cmd.Stdout = os.Stdout).
            process = subprocess.Popen(argv, env=env)
        except OSError as error:
            return language_pb2.RunResponse(
                error=f"problem executing program (could not run language executor): {error}")
        returncode = self._wait(process, context)
        outcome = exit_error(returncode)
        if outcome is None:
            return language_pb2.RunResponse()
        if outcome == "":
            return language_pb2.RunResponse(error="", bail=True)
        return language_pb2.RunResponse(error=outcome)

    def _wait(self, process: subprocess.Popen[bytes], context: Any) -> int:
        """Wait for the program; on Cancel or a dropped request, interrupt it, then kill it after 5 s."""
        while True:
            try:
                return process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
            if self.cancelled.is_set() or not context.is_active():
                process.send_signal(signal.SIGINT)
                try:
                    return process.wait(timeout=CANCEL_WAIT_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    return process.wait()

    def InstallDependencies(self, request: Any, context: Any) -> Iterator[Any]:
        try:
            opts = parse_options(request.info.root_directory, request.info.program_directory,
                                 _options(request.info), is_plugin=request.is_plugin)
            if request.use_language_version_tools:
                raise Unsupported("the language host stand-in does not install Python versions (pyenv)")
            if request.is_plugin:
                raise Unsupported("the language host stand-in does not install plugins")
        except HostError as error:
            self._fail(context, error)
        chunks: list[Any] = []

        def out(text: str) -> None:
            if text:
                chunks.append(language_pb2.InstallDependenciesResponse(stdout=text.encode()))

        def err(text: str) -> None:
            if text:
                chunks.append(language_pb2.InstallDependenciesResponse(stderr=text.encode()))

        out("Installing dependencies...\n\n")
        try:
            install_dependencies(request.info.program_directory, virtualenv_path(opts), out, err)
        except HostError as error:
            yield from chunks
            self._fail(context, error)
        out("Finished installing dependencies\n\n")
        yield from chunks

    def About(self, request: Any, context: Any) -> Any:
        try:
            opts = PythonOptions(root="", program_dir="", virtualenv="")
            if request.HasField("info"):
                opts = parse_options(request.info.root_directory, request.info.program_directory,
                                     _options(request.info), is_plugin=False)
            commands = [python_command(opts, args) for args in (
                ["-c", "import sys; print(sys.executable)"], ["--version"], ["-m", "pip", "--version"])]
        except HostError as error:
            self._fail(context, error)
        # upstream pip.About runs the three in parallel (errgroup); only the executable must succeed.
        with futures.ThreadPoolExecutor(max_workers=3) as pool:
            runs = [pool.submit(subprocess.run, argv, env=env, capture_output=True, check=False)
                    for argv, env in commands]
            executable, version, pip = (run.result() for run in runs)
        if executable.returncode != 0:
            self._fail(context, HostError("failed to get python executable path: "
                                          f"exit status {executable.returncode}"))
        pip_words = pip.stdout.decode().split()
        return language_pb2.AboutResponse(
            executable=executable.stdout.decode().strip(),
            version=version.stdout.decode().strip().removeprefix("Python "),
            metadata={"toolchain": "pip", "toolchainVersion": pip_words[1] if len(pip_words) > 1 else "0.0.0",
                      "typechecker": "none"})

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:
        try:
            opts = parse_options(request.info.root_directory, request.info.program_directory,
                                 _options(request.info), is_plugin=False)
            dependencies = list_packages(opts, transitive=request.transitiveDependencies)
        except HostError as error:
            self._fail(context, HostError(f"failed to get python dependencies: {error}"))
        return language_pb2.GetProgramDependenciesResponse(dependencies=[
            language_pb2.DependencyInfo(name=d.name, version=d.version) for d in dependencies])

    def Cancel(self, request: Any, context: Any) -> Any:
        self.cancelled.set()
        return empty_pb2.Empty()

    def _unsupported(self, name: str, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"the language host stand-in does not implement {name}")

    def RunPlugin(self, request: Any, context: Any) -> Any:
        return self._unsupported("RunPlugin", context)

    def GenerateProject(self, request: Any, context: Any) -> Any:
        return self._unsupported("GenerateProject", context)

    def GenerateProgram(self, request: Any, context: Any) -> Any:
        return self._unsupported("GenerateProgram", context)

    def GeneratePackage(self, request: Any, context: Any) -> Any:
        return self._unsupported("GeneratePackage", context)

    def Pack(self, request: Any, context: Any) -> Any:
        return self._unsupported("Pack", context)

    def Link(self, request: Any, context: Any) -> Any:
        return self._unsupported("Link", context)

    def Template(self, request: Any, context: Any) -> Any:
        return self._unsupported("Template", context)

    def RuntimeOptionsPrompts(self, request: Any, context: Any) -> Any:
        return self._unsupported("RuntimeOptionsPrompts", context)


def start_health_check(address: str, on_gone: Callable[[], None]) -> None:
    """rpcutil.Healthcheck: every 5 minutes ask the engine's grpc.health.v1 service; any error but
    Unimplemented means the engine is gone, and the host stops."""
    channel = grpc.insecure_channel(address)
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda _: b"", response_deserializer=lambda raw: raw)

    def loop() -> None:
        while True:
            time.sleep(HEALTH_CHECK_PERIOD_SECONDS)
            try:
                check(None, timeout=30)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    on_gone()
                    return

    threading.Thread(target=loop, name="engine-health-check", daemon=True).start()


# ---------------------------------------------------------------------------------------------
# main (upstream main: Go flag parsing, the executor next to the binary, the port on stdout)
# ---------------------------------------------------------------------------------------------

# Go's flag package with glog's flags registered (logging.InitLogging): bool flags take no value.
BOOL_FLAGS = frozenset({"version", "logtostderr", "alsologtostderr"})
VALUE_FLAGS = frozenset({"tracing", "use-executor", "v", "vmodule", "log_dir", "log_backtrace_at",
                         "stderrthreshold", "standin-version", "standin-binary-dir"})


def parse_flags(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Go flag semantics: -x or --x, -x=v or -x v, parsing stops at the first non-flag or `--`."""
    flags: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if name in BOOL_FLAGS:
            flags[name] = value if has_value else "true"
        elif name in VALUE_FLAGS:
            if not has_value:
                i += 1
                if i >= len(argv):
                    raise SystemExit(f"flag needs an argument: -{name}")
                value = argv[i]
            flags[name] = value
        else:
            raise SystemExit(f"flag provided but not defined: -{name}")
        i += 1
    return flags, list(argv[i:])


def main(argv: Sequence[str]) -> int:
    flags, args = parse_flags(argv)
    version = flags.get("standin-version", "")
    if flags.get("version") == "true":
        print(version)
        return 0
    executor = flags.get("use-executor", "")
    if executor == "":
        # upstream: "By default, the -exec script is installed next to the language host."
        binary_dir = flags.get("standin-binary-dir") or os.path.dirname(os.path.abspath(sys.argv[0]))
        executor = os.path.join(binary_dir, EXECUTOR_NAME)
        if not os.path.exists(executor):
            print(f"error: missing executor {executor}: no such file or directory", file=sys.stderr)
            return 255
    engine_address = args[0] if args else ""

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[
        ("grpc.max_receive_message_length", MAX_RPC_MESSAGE_SIZE),
        ("grpc.max_send_message_length", MAX_RPC_MESSAGE_SIZE)])
    stopped = threading.Event()
    host = LanguageHost(executor, engine_address, flags.get("tracing", ""), version, stopped.set)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    if engine_address:
        start_health_check(engine_address, stopped.set)
    server.start()
    # The CLI reads exactly one line from stdout: the port.
    print(port, flush=True)
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
