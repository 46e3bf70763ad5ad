"""Stand-in for pulumi-command v1.2.1, `command:local:Command` only -- TEST TOOLING, never shipped.

The integration tier runs the program with the real Pulumi CLI, but the Go module registry serves no
version of `github.com/pulumi/pulumi-command/provider`, so the real plugin cannot be built here. This
is a port, in Python, of what `command:local:Command` does at tag v1.2.1 of pulumi/pulumi-command:

- `provider/pkg/provider/local/commandController.go`: Create (an id of the name and 8 random hex
  characters; in a preview nothing runs; no `create` means nothing runs), Update (in a preview nothing
  runs; `update`, else `create`, else nothing; the previous stdout/stderr kept until overwritten),
  Delete (`delete` if set, with the state's inputs and outputs);
- `local/commandOutputs.go` `run`: the interpreter (default `["/bin/sh", "-c"]`) with the command as
  last argument, `dir` (else the provider's working directory, which the engine sets to the program's
  directory), the provider's environment plus `environment`, plus `PULUMI_COMMAND_STDOUT` and
  `PULUMI_COMMAND_STDERR` from the previous run unless `addPreviousOutputInEnv` is false, `stdin` when
  non-empty, the error `<exit error>: running "<command>":\\n<stdout and stderr interleaved>`, and one
  trailing newline trimmed from stdout and stderr;
- `local/logging.go` and `util/util.go`: the `logging` modes (stdout, stderr, stdoutAndStderr, none;
  default both), each line of the logged streams sent to the engine as an ephemeral info message of
  the resource (LogStatus);
- `local/base.go`, `local/command.go`, `common/inputs.go`: the inputs and outputs (outputs are the
  inputs plus stdout and stderr), `triggers` replace on change;
- and the pulumi-go-provider v1.3.0 machinery the provider is built on (its go.mod): `provider.go`
  (Configure answers acceptSecrets/supportsPreview/acceptResources/acceptOutputs and reads whether the
  engine sends old inputs; CheckConfig adds `__pulumi-go-provider-version`; DiffConfig, GetSchema of
  a provider without config, Handshake: Unimplemented), `infer/resource.go` (Check: the inputs decoded
  against the input type; Diff: old inputs against new ones, `version` and `__` keys dropped, ignored
  changes taken from the state, a top-level key listed as replaceOnChanges (`triggers`) replaces --
  element changes such as `triggers[0]` are updates to the provider and replaces only through the
  SDK's `replace_on_changes=["triggers[*]"]` option, exactly as upstream; Create/Update: the outputs
  keep the inputs' secret and unknown markers at the same paths (`ende`), and in a preview an output
  that is not a mirrored input becomes unknown on create, and on update when any input is unknown or
  changed; secretness flows only from an input to the output of the same name, so stdout is not made
  secret by a secret stdin, as upstream; Read: state and inputs returned as they are) and
  `middleware/cancel` (Cancel and the operation timeout stop the command);
- `sdk/go/common/resource` of pulumi/pulumi (property diff, DeepEquals, property paths) and
  `resource/plugin/rpc.go` (the wire form of secrets, unknowns and output values).

Not ported, and refused with a clear error rather than ignored: `assetPaths` and `archivePaths` (the
asset hashing and glob syntax of gobwas/glob), the `command:local:run` function and every `remote`
resource, GetSchema (upstream's schema is not ours to copy), a `logging` value outside the four modes
(upstream would silently log nothing), stdout or stderr that are not UTF-8 (upstream fails there too,
when marshalling), Windows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias


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
from google.protobuf import empty_pb2, json_format, struct_pb2  # noqa: E402
from pulumi.runtime.proto import (  # noqa: E402
    engine_pb2,
    engine_pb2_grpc,
    plugin_pb2,
    provider_pb2,
    provider_pb2_grpc,
)

PLUGIN_VERSION = "1.2.1"
# pulumi-go-provider v1.3.0: frameworkStateKeyName and the content of its .version file.
FRAMEWORK_STATE_KEY = "__pulumi-go-provider-version"
FRAMEWORK_VERSION = "1.2.0"
COMMAND_TYPE = "command:local:Command"
MAX_RPC_MESSAGE_SIZE = 1024 * 1024 * 400
HEALTH_CHECK_PERIOD_SECONDS = 5 * 60

# sdk/go/common/resource/sig and plugin/rpc.go.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# ---------------------------------------------------------------------------------------------
# Property values (resource.PropertyValue): plain JSON values plus secrets, unknowns and outputs.
# Assets, archives and resource references stay the signed objects they are on the wire.
# ---------------------------------------------------------------------------------------------


class Unknown:
    """resource.Computed: a value not known during a preview."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "Unknown()"


@dataclass(frozen=True)
class Secret:
    element: Value


@dataclass(frozen=True)
class Output:
    element: Value
    known: bool
    secret: bool
    dependencies: tuple[str, ...] = ()


Value: TypeAlias = bool | float | str | list["Value"] | dict[str, "Value"] | Unknown | Secret | Output | None
PropertyMap: TypeAlias = dict[str, Value]


def from_wire(raw: Any) -> Value:
    """plugin.UnmarshalPropertyValue with KeepUnknowns, KeepSecrets, KeepOutputValues, SkipNulls."""
    if isinstance(raw, str):
        return Unknown() if raw == UNKNOWN else raw
    if isinstance(raw, list):
        return [from_wire(item) for item in raw]
    if isinstance(raw, dict):
        sig = raw.get(SIG_KEY)
        if sig == SECRET_SIG:
            return Secret(from_wire(raw.get("value")))
        if sig == OUTPUT_SIG:
            known = "value" in raw
            return Output(from_wire(raw["value"]) if known else None, known, bool(raw.get("secret", False)),
                          tuple(str(d) for d in raw.get("dependencies", [])))
        if sig is not None:
            return dict(raw)  # asset, archive or resource reference: carried as it came
        return {key: from_wire(value) for key, value in raw.items() if value is not None}
    if isinstance(raw, bool) or raw is None:
        return raw
    return float(raw)


def to_wire(value: Value) -> Any:
    """plugin.MarshalPropertyValue with KeepUnknowns, KeepSecrets, KeepOutputValues, SkipNulls."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "value": to_wire(value.element)}
    if isinstance(value, Output):
        wire: dict[str, Any] = {SIG_KEY: OUTPUT_SIG}
        if value.known:
            wire["value"] = to_wire(value.element)
        if value.secret:
            wire["secret"] = True
        if value.dependencies:
            wire["dependencies"] = list(value.dependencies)
        return wire
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        if SIG_KEY in value:
            return value
        return {key: to_wire(item) for key, item in value.items() if item is not None}
    return value


def map_from_struct(struct: struct_pb2.Struct) -> PropertyMap:
    decoded = from_wire(json_format.MessageToDict(struct))
    assert isinstance(decoded, dict)
    return decoded


def map_to_struct(properties: Mapping[str, Value]) -> struct_pb2.Struct:
    return json_format.ParseDict(to_wire(dict(properties)), struct_pb2.Struct())


def is_secret(value: Value) -> bool:
    return isinstance(value, Secret) or (isinstance(value, Output) and value.secret)


def is_unknown(value: Value) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, Output) and not value.known)


def contains_unknowns(value: Value) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, (Secret, Output)):
        return contains_unknowns(value.element)
    if isinstance(value, list):
        return any(map(contains_unknowns, value))
    if isinstance(value, dict) and SIG_KEY not in value:
        return any(map(contains_unknowns, value.values()))
    return False


def contains_secrets(value: Value) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, Output):
        return contains_secrets(value.element)
    if isinstance(value, list):
        return any(map(contains_secrets, value))
    if isinstance(value, dict) and SIG_KEY not in value:
        return any(map(contains_secrets, value.values()))
    return False


def plain(value: Value) -> Value:
    """The value with every secret and output marker stripped (what `ende` decodes into Go types)."""
    if isinstance(value, (Secret, Output)):
        return plain(value.element)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict) and SIG_KEY not in value:
        return {key: plain(item) for key, item in value.items()}
    return value


def deep_equals(a: Value, b: Value) -> bool:
    """resource.PropertyValue.DeepEquals: secrets and outputs compare their markers and contents."""
    if isinstance(a, Secret) or isinstance(b, Secret):
        return isinstance(a, Secret) and isinstance(b, Secret) and deep_equals(a.element, b.element)
    if isinstance(a, Output) or isinstance(b, Output):
        return (isinstance(a, Output) and isinstance(b, Output) and a.known == b.known
                and a.secret == b.secret and a.dependencies == b.dependencies
                and deep_equals(a.element, b.element))
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(deep_equals(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return False
        keys = {k for k, v in a.items() if v is not None} | {k for k, v in b.items() if v is not None}
        return all(deep_equals(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


# ---------------------------------------------------------------------------------------------
# Diff (resource.PropertyMap.Diff, plugin.NewDetailedDiffFromObjectDiff, PropertyPath.String)
# ---------------------------------------------------------------------------------------------

PathElement: TypeAlias = str | int
if TYPE_CHECKING:
    DiffKind: TypeAlias = provider_pb2.PropertyDiff.Kind.ValueType
ADD, ADD_REPLACE, DELETE, DELETE_REPLACE, UPDATE, UPDATE_REPLACE = (
    provider_pb2.PropertyDiff.ADD, provider_pb2.PropertyDiff.ADD_REPLACE, provider_pb2.PropertyDiff.DELETE,
    provider_pb2.PropertyDiff.DELETE_REPLACE, provider_pb2.PropertyDiff.UPDATE,
    provider_pb2.PropertyDiff.UPDATE_REPLACE)
AS_REPLACE = {ADD: ADD_REPLACE, DELETE: DELETE_REPLACE, UPDATE: UPDATE_REPLACE}


def path_string(path: Sequence[PathElement]) -> str:
    """resource.PropertyPath.String: `a.b`, `a[0]`, and `a["k-y"]` for keys with other characters."""
    out = []
    for i, element in enumerate(path):
        if isinstance(element, int):
            out.append(f"[{element}]")
        elif all(c.isascii() and (c.isalnum() or c == "_") for c in element):
            out.append(element if i == 0 else "." + element)
        else:
            out.append('["' + element.replace('"', '\\"') + '"]')
    return "".join(out)


def detailed_diff(old: Mapping[str, Value], new: Mapping[str, Value]) -> dict[str, DiffKind]:
    """The detailed diff upstream derives from `oldInputs.Diff(news)`, keyed by property path."""
    result: dict[str, DiffKind] = {}
    _object_diff([], old, new, result)
    return result


def _object_diff(prefix: list[PathElement], old: Mapping[str, Value], new: Mapping[str, Value],
                 acc: dict[str, DiffKind]) -> None:
    for key, old_value in old.items():
        path = [*prefix, key]
        if key in new:
            new_value = new[key]
            if _value_differs(old_value, new_value):
                if old_value is None:
                    acc[path_string(path)] = ADD
                elif new_value is None:
                    acc[path_string(path)] = DELETE
                else:
                    _value_diff(path, old_value, new_value, acc)
        elif old_value is not None:
            acc[path_string(path)] = DELETE
    for key, new_value in new.items():
        if key not in old and new_value is not None:
            acc[path_string([*prefix, key])] = ADD


def _value_differs(old: Value, new: Value) -> bool:
    if isinstance(old, list) and isinstance(new, list):
        return len(old) != len(new) or any(_value_differs(a, b) for a, b in zip(old, new, strict=False))
    if isinstance(old, dict) and isinstance(new, dict) and SIG_KEY not in old and SIG_KEY not in new:
        keys = set(old) | set(new)
        return any(_value_differs(old.get(k), new.get(k)) for k in keys)
    return not deep_equals(old, new)


def _value_diff(path: list[PathElement], old: Value, new: Value, acc: dict[str, DiffKind]) -> None:
    if isinstance(old, list) and isinstance(new, list):
        for i in range(min(len(old), len(new))):
            if _value_differs(old[i], new[i]):
                _value_diff([*path, i], old[i], new[i], acc)
        for i in range(len(old), len(new)):
            acc[path_string([*path, i])] = ADD
        for i in range(len(new), len(old)):
            acc[path_string([*path, i])] = DELETE
    elif isinstance(old, dict) and isinstance(new, dict) and SIG_KEY not in old and SIG_KEY not in new:
        _object_diff(path, old, new, acc)
    elif old is None:
        acc[path_string(path)] = ADD
    elif new is None:
        acc[path_string(path)] = DELETE
    else:
        acc[path_string(path)] = UPDATE


def path_head(key: str) -> str:
    """The top-level property of a detailed-diff key (ParsePropertyPath(k)[0])."""
    if key.startswith('["'):
        end = 2
        while key[end] != '"' or key[end - 1] == "\\":
            end += 1
        return key[2:end].replace('\\"', '"')
    for i, c in enumerate(key):
        if c in ".[":
            return key[:i]
    return key


# ---------------------------------------------------------------------------------------------
# The inputs of command:local:Command (common.ResourceInputs + local.BaseInputs)
# ---------------------------------------------------------------------------------------------

INPUT_TYPES: dict[str, str] = {
    "triggers": "array", "create": "string", "update": "string", "delete": "string",
    "stdin": "string", "logging": "logging", "interpreter": "[]string", "dir": "string",
    "environment": "map[string]string", "assetPaths": "[]string", "archivePaths": "[]string",
    "addPreviousOutputInEnv": "bool",
}
OUTPUT_ONLY = ("stdout", "stderr", "assets", "archive")
REPLACE_ON_CHANGES = frozenset({"triggers"})
LOGGING_MODES = ("stdout", "stderr", "stdoutAndStderr", "none")
UNSUPPORTED_INPUTS = {"assetPaths", "archivePaths"}
INPUTS_TYPE_NAME = "local.CommandInputs"


def _go_type(value: Value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def check_failures(inputs: Mapping[str, Value]) -> list[tuple[str, str]]:
    """What mapper.Decode into local.CommandInputs rejects, plus what this stand-in cannot do."""
    failures: list[tuple[str, str]] = []

    def wrong(key: str, expect: str, got: Value) -> None:
        failures.append((key, f"Field '{key}' on '{INPUTS_TYPE_NAME}' must be a '{expect}'; "
                              f"got '{_go_type(got)}' instead"))

    def check(key: str, kind: str, value: Value) -> None:
        # Unknown and secret markers are stripped before decoding, an unknown decodes as the zero value.
        if isinstance(value, (Secret, Output)):
            if isinstance(value, Output) and not value.known:
                return
            check(key, kind, value.element)
            return
        if isinstance(value, Unknown) or value is None:
            return
        if kind in ("string", "logging"):
            if not isinstance(value, str):
                wrong(key, "string", value)
            elif kind == "logging" and value not in LOGGING_MODES:
                failures.append((key, f"logging must be one of {', '.join(LOGGING_MODES)}, not {value!r} "
                                      "(the command provider stand-in refuses what upstream would silently "
                                      "treat as no logging)"))
        elif kind == "bool":
            if not isinstance(value, bool):
                wrong(key, "bool", value)
        elif kind in ("array", "[]string"):
            if not isinstance(value, list):
                wrong(key, "[]" + ("interface {}" if kind == "array" else "string"), value)
            elif kind == "[]string":
                for i, item in enumerate(value):
                    check(f"{key}[{i}]", "string", item)
        elif kind == "map[string]string":
            if not isinstance(value, dict) or SIG_KEY in value:
                wrong(key, "map[string]string", value)
            else:
                for name, item in value.items():
                    check(f"{key}.{name}", "string", item)

    for key, value in inputs.items():
        kind = INPUT_TYPES.get(key)
        if kind is None:
            failures.append((key, f"Unrecognized field '{key}' on '{INPUTS_TYPE_NAME}'"))
        elif key in UNSUPPORTED_INPUTS and value is not None:
            failures.append((key, f"{key} is not supported by the command provider stand-in "
                                  "(test tooling): it would be silently wrong, so it is refused"))
        else:
            check(key, kind, value)
    return failures


@dataclass(frozen=True)
class CommandSpec:
    """The decoded (plain) inputs run() needs, and the previous outputs for PULUMI_COMMAND_*."""

    stdin: str | None = None
    logging: str | None = None
    interpreter: tuple[str, ...] = ()
    dir: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    add_previous_output_in_env: bool | None = None

    @staticmethod
    def from_properties(properties: Mapping[str, Value]) -> CommandSpec:
        p = plain(dict(properties))
        assert isinstance(p, dict)
        interpreter = p.get("interpreter")
        environment = p.get("environment")
        add_previous = p.get("addPreviousOutputInEnv")
        return CommandSpec(
            stdin=_optional_str(p.get("stdin")),
            logging=_optional_str(p.get("logging")),
            interpreter=tuple(str(a) for a in interpreter) if isinstance(interpreter, list) else (),
            dir=_optional_str(p.get("dir")),
            environment=({str(k): str(v) for k, v in environment.items()}
                         if isinstance(environment, dict) else {}),
            add_previous_output_in_env=add_previous if isinstance(add_previous, bool) else None,
        )


def _optional_str(value: Value) -> str | None:
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------------------
# Running a command (local/commandOutputs.go run)
# ---------------------------------------------------------------------------------------------


class CommandFailed(Exception):
    pass


def go_quote(text: str) -> str:
    """strconv.Quote, as fmt's %q prints the command in the error."""
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}
    out = ['"']
    for char in text:
        code = ord(char)
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def exit_description(returncode: int) -> str:
    """os.ProcessState.String: `exit status N`, or `signal: killed` and the like."""
    if returncode >= 0:
        return f"exit status {returncode}"
    name = signal.strsignal(-returncode) or f"signal {-returncode}"
    return "signal: " + name[:1].lower() + name[1:]


class LineLogger:
    """util.LogOutput: the logged streams, interleaved as written, sent to the engine line by line."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._pending = b""
        self._lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        with self._lock:
            self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for line in lines:
                self._log(line.removesuffix(b"\r").decode(errors="replace"))

    def close(self) -> None:
        with self._lock:
            if self._pending:
                self._log(self._pending.removesuffix(b"\r").decode(errors="replace"))
            self._pending = b""


@dataclass
class RunResult:
    stdout: str
    stderr: str


def run_command(command: str, spec: CommandSpec, previous: RunResult, log: Callable[[str], None],
                should_stop: Callable[[], bool]) -> RunResult:
    args = [*(spec.interpreter or ("/bin/sh", "-c")), command]
    cwd = spec.dir if spec.dir is not None else os.getcwd()
    env = dict(os.environ)
    env.update(spec.environment)
    if spec.add_previous_output_in_env is None or spec.add_previous_output_in_env:
        if previous.stdout != "":
            env["PULUMI_COMMAND_STDOUT"] = previous.stdout
        if previous.stderr != "":
            env["PULUMI_COMMAND_STDERR"] = previous.stderr
    log_stdout = spec.logging in (None, "stdout", "stdoutAndStderr")
    log_stderr = spec.logging in (None, "stderr", "stdoutAndStderr")
    stdin_data = spec.stdin.encode() if spec.stdin else None

    if not os.path.isdir(cwd):
        raise CommandFailed(f"chdir {cwd}: no such file or directory: running {go_quote(command)}:\n")
    try:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL)
    except OSError as error:
        reason = error.strerror or str(error)
        prefix = f"fork/exec {args[0]}" if "/" in args[0] else f'exec: "{args[0]}"'
        if "/" not in args[0] and isinstance(error, FileNotFoundError):
            reason = "executable file not found in $PATH"
        raise CommandFailed(f"{prefix}: {reason}: running {go_quote(command)}:\n") from error

    stdout, stderr, combined = bytearray(), bytearray(), bytearray()
    combined_lock = threading.Lock()
    logger = LineLogger(log)

    def pump(stream: Any, own: bytearray, logged: bool) -> None:
        while chunk := stream.read1(65536):
            own.extend(chunk)
            with combined_lock:
                combined.extend(chunk)
            if logged:
                logger.feed(chunk)

    def feed_stdin() -> None:
        assert process.stdin is not None and stdin_data is not None
        try:
            process.stdin.write(stdin_data)
            process.stdin.close()
        except BrokenPipeError:
            pass  # the command exited without reading it all: os/exec ignores EPIPE on stdin too

    threads = [threading.Thread(target=pump, args=(process.stdout, stdout, log_stdout)),
               threading.Thread(target=pump, args=(process.stderr, stderr, log_stderr))]
    if stdin_data is not None:
        threads.append(threading.Thread(target=feed_stdin))
    for thread in threads:
        thread.start()
    while True:
        try:
            process.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if should_stop():
                process.kill()  # exec.CommandContext kills the process when the context ends
    for thread in threads:
        thread.join()
    logger.close()
    if process.returncode != 0:
        output = combined.decode(errors="replace")
        raise CommandFailed(f"{exit_description(process.returncode)}: running {go_quote(command)}:\n{output}")
    try:
        return RunResult(stdout.decode().removesuffix("\n"), stderr.decode().removesuffix("\n"))
    except UnicodeDecodeError as error:
        raise CommandFailed(f"the output of {go_quote(command)} is not UTF-8, which a Pulumi string cannot "
                            f"carry: {error}") from error


# ---------------------------------------------------------------------------------------------
# Create, Update, Delete and the preview outputs (infer/resource.go + local/commandController.go)
# ---------------------------------------------------------------------------------------------


def _top_level_unknown(value: Value) -> bool:
    """putil.IsComputed: unknown, or a secret or output wrapping an unknown."""
    if isinstance(value, Secret):
        return _top_level_unknown(value.element)
    return is_unknown(value)


def mark_outputs(outputs: PropertyMap, inputs: Mapping[str, Value], state: Mapping[str, Value] | None,
                 preview: bool) -> PropertyMap:
    """infer's markComputed for the outputs that mirror no input (stdout, stderr): unknown in the
    preview of a create, and in the preview of an update when an input is unknown or differs from its
    value in the old state."""
    if not preview:
        return outputs
    changed = state is None or any(
        _top_level_unknown(inputs.get(key)) or (key in state and not deep_equals(inputs.get(key), state[key]))
        for key in INPUT_TYPES)
    if not changed:
        return outputs
    return {key: (Unknown() if key in OUTPUT_ONLY and not is_unknown(value) else value)
            for key, value in outputs.items()}


def command_outputs(inputs: Mapping[str, Value], result: RunResult) -> PropertyMap:
    # The inputs come back as they came, secret and unknown markers included (ende's Encoder).
    outputs: PropertyMap = {k: v for k, v in inputs.items() if k in INPUT_TYPES and v is not None}
    outputs["stdout"] = result.stdout
    outputs["stderr"] = result.stderr
    return outputs


def previous_result(state: Mapping[str, Value]) -> RunResult:
    p = plain(dict(state))
    assert isinstance(p, dict)
    stdout, stderr = p.get("stdout"), p.get("stderr")
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise ValueError("the state of the command has no stdout or stderr string: "
                         f"Missing required field 'stdout' on '{INPUTS_TYPE_NAME}'")
    return RunResult(stdout, stderr)


# ---------------------------------------------------------------------------------------------
# The gRPC service
# ---------------------------------------------------------------------------------------------


def fix_config_encoding(value: Value) -> Value:
    """middleware/complexconfig fixEncoding for a provider without a config schema: a string that
    parses as JSON is the JSON-encoded value the engine sends for a non-string config value."""
    if isinstance(value, Secret):
        return Secret(fix_config_encoding(value.element))
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return from_wire(decoded)


class Engine:
    """The engine's Log service, for the ephemeral per-resource messages of LogStatus."""

    def __init__(self, address: str) -> None:
        self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address)) if address else None

    def log_status(self, urn: str, message: str) -> None:
        if self._stub is not None:
            self._stub.Log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message=message, urn=urn,
                                                 ephemeral=True))


class Stopper:
    """middleware/cancel: Cancel stops every operation under way; an operation's timeout stops it."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def for_request(self, context: Any, timeout: float) -> Callable[[], bool]:
        deadline = time.monotonic() + timeout if timeout > 0 else None
        return lambda: (self.cancelled.is_set() or not context.is_active()
                        or (deadline is not None and time.monotonic() > deadline))


class CommandProvider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.supports_old_inputs = False
        self.stopper = Stopper()

    @staticmethod
    def _require_command(request: Any, context: Any) -> None:
        urn: str = request.urn
        resource_type: str = request.type or (urn.split("::")[-2] if urn.count("::") >= 3 else "")
        if resource_type.rsplit("$", 1)[-1] != COMMAND_TYPE:
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"the command provider stand-in serves only {COMMAND_TYPE}, not {urn}")

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=PLUGIN_VERSION)

    def GetSchema(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      "the command provider stand-in (test tooling) does not serve upstream's schema")

    def CheckConfig(self, request: Any, context: Any) -> Any:
        news = {key: fix_config_encoding(value) for key, value in map_from_struct(request.news).items()}
        news[FRAMEWORK_STATE_KEY] = FRAMEWORK_VERSION
        return provider_pb2.CheckResponse(inputs=map_to_struct(news))

    def DiffConfig(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "DiffConfig is not implemented")

    def Configure(self, request: Any, context: Any) -> Any:
        self.supports_old_inputs = request.sends_old_inputs and request.sends_old_inputs_to_delete
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True,
                                              acceptOutputs=True)

    def Check(self, request: Any, context: Any) -> Any:
        self._require_command(request, context)
        news = map_from_struct(request.news)
        failures = check_failures(news)
        return provider_pb2.CheckResponse(
            inputs=map_to_struct(news),
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures])

    def Diff(self, request: Any, context: Any) -> Any:
        self._require_command(request, context)
        state = map_from_struct(request.olds)
        news = map_from_struct(request.news)
        for ignored in request.ignoreChanges:
            if ignored in state:
                news[ignored] = state[ignored]
        news = {k: v for k, v in news.items() if k != "version" and not k.startswith("__")}
        if self.supports_old_inputs:
            old_inputs = map_from_struct(request.old_inputs)
        else:
            old_inputs = {k: state.get(k) for k in INPUT_TYPES}
        detailed = {key: (AS_REPLACE[kind] if key in REPLACE_ON_CHANGES else kind)
                    for key, kind in detailed_diff(old_inputs, news).items()}
        replaces = sorted({path_head(k) for k, kind in detailed.items() if kind in AS_REPLACE.values()})
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if detailed else provider_pb2.DiffResponse.DIFF_NONE,
            detailedDiff={key: provider_pb2.PropertyDiff(kind=kind, inputDiff=False)
                          for key, kind in detailed.items()},
            hasDetailedDiff=True, replaces=replaces, diffs=sorted({path_head(k) for k in detailed}),
            deleteBeforeReplace=False)

    def _stop(self, context: Any, timeout: float) -> Callable[[], bool]:
        return self.stopper.for_request(context, timeout)

    def _log_for(self, urn: str) -> Callable[[str], None]:
        return lambda line: self.engine.log_status(urn, line)

    def Create(self, request: Any, context: Any) -> Any:
        self._require_command(request, context)
        inputs = map_from_struct(request.properties)
        # resource.NewUniqueHex(name, 8, 0): the resource's name and 8 random hex characters.
        resource_id = (request.name or request.urn.split("::")[-1]) + secrets.token_hex(4)
        create = plain(inputs.get("create"))
        if request.preview or not isinstance(create, str):
            outputs = command_outputs(inputs, RunResult("", ""))
            return provider_pb2.CreateResponse(id=resource_id, properties=map_to_struct(
                mark_outputs(outputs, inputs, None, request.preview)))
        try:
            result = run_command(create, CommandSpec.from_properties(inputs), RunResult("", ""),
                                 self._log_for(request.urn), self._stop(context, request.timeout))
        except CommandFailed as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        return provider_pb2.CreateResponse(id=resource_id,
                                           properties=map_to_struct(command_outputs(inputs, result)))

    def Update(self, request: Any, context: Any) -> Any:
        self._require_command(request, context)
        state = map_from_struct(request.olds)
        news = map_from_struct(request.news)
        for ignored in request.ignoreChanges:
            if ignored in state:
                news[ignored] = state[ignored]
        try:
            previous = previous_result(state)
        except ValueError as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        if request.preview:
            outputs = command_outputs(news, previous)
            return provider_pb2.UpdateResponse(
                properties=map_to_struct(mark_outputs(outputs, news, state, preview=True)))
        # Use the create command if update is unspecified; if neither is, run nothing.
        update, create = plain(news.get("update")), plain(news.get("create"))
        command = update if isinstance(update, str) else create
        result = previous
        if isinstance(command, str):
            try:
                result = run_command(command, CommandSpec.from_properties(news), previous,
                                     self._log_for(request.urn), self._stop(context, request.timeout))
            except CommandFailed as error:
                context.abort(grpc.StatusCode.UNKNOWN, str(error))
        return provider_pb2.UpdateResponse(properties=map_to_struct(command_outputs(news, result)))

    def Delete(self, request: Any, context: Any) -> Any:
        self._require_command(request, context)
        state = map_from_struct(request.properties)
        command = plain(state.get("delete"))
        if isinstance(command, str):
            try:
                run_command(command, CommandSpec.from_properties(state), previous_result(state),
                            self._log_for(request.urn), self._stop(context, request.timeout))
            except (CommandFailed, ValueError) as error:
                context.abort(grpc.StatusCode.UNKNOWN, str(error))
        return empty_pb2.Empty()

    def Read(self, request: Any, context: Any) -> Any:
        self._require_command(request, context)
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Invoke(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      f"the command provider stand-in does not implement the function {request.tok}")

    def Call(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Call is not implemented")

    def Construct(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Construct is not implemented")

    def Cancel(self, request: Any, context: Any) -> Any:
        self.stopper.cancelled.set()
        return empty_pb2.Empty()


# ---------------------------------------------------------------------------------------------
# main (pulumi sdk go/pulumi/provider.MainContext)
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> list[str]:
    """Go flag parsing of the flags the engine passes (--logtostderr, -v=N, --tracing X); the
    remaining arguments are the engine address."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        if argv[i] == "--":
            return list(argv[i + 1:])
        name, has_value, _ = argv[i].lstrip("-").partition("=")
        if name in ("tracing", "v", "vmodule", "log_dir", "stderrthreshold") and not has_value:
            i += 1
        elif name not in ("tracing", "v", "vmodule", "log_dir", "stderrthreshold", "logtostderr",
                          "alsologtostderr"):
            raise SystemExit(f"flag provided but not defined: -{name}")
        i += 1
    return list(argv[i:])


def health_check(address: str, on_gone: Callable[[], None]) -> None:
    """rpcutil.Healthcheck: every 5 minutes; any error but Unimplemented means the engine is gone."""
    check = grpc.insecure_channel(address).unary_unary(
        "/grpc.health.v1.Health/Check",
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


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if len(args) > 1:
        print("fatal: could not connect to host RPC; missing argument", file=sys.stderr)
        return 1
    engine_address = args[0] if args else ""
    stopped = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=[
        ("grpc.max_receive_message_length", MAX_RPC_MESSAGE_SIZE),
        ("grpc.max_send_message_length", MAX_RPC_MESSAGE_SIZE)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(CommandProvider(Engine(engine_address)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    if engine_address:
        health_check(engine_address, stopped.set)
    server.start()
    print(port, flush=True)
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
