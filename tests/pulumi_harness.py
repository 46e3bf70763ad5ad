"""Run the program under Pulumi's mock engine and keep every registration request.

Assertions read what the SDK actually sent to the engine (dependencies, provider references,
serialized inputs with their secret markers), not what the code meant to send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar, Unpack, overload

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
ISSUED_ZONE_TOKEN = "eyJhbGciOiJSUzI1NiJ9.mock-issued-zone-token.c2ln"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the SDK's wire value for an unknown

# The Pulumi SDK leaves pulumi.runtime.test and MockMonitor's methods unannotated; these are the
# types they have. pulumi.runtime.test runs the function under the mock engine, waits for the
# Output or Future it returns, and returns None.
_mock_engine_test: Callable[[Callable[[], object]], Callable[[], None]] = pulumi.runtime.test
RegisterHandler = Callable[[resource_pb2.RegisterResourceRequest], resource_pb2.RegisterResourceResponse]
ReadHandler = Callable[[resource_pb2.ReadResourceRequest], resource_pb2.ReadResourceResponse]


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]        # serialized, secrets still wrapped
    custom: bool
    read_id: str | None = None
    secret_outputs: list[str] = field(default_factory=list)   # additional_secret_outputs
    ignore_changes: list[str] = field(default_factory=list)
    retain_on_delete: bool = False

    def secret_paths(self) -> list[str]:
        found: list[str] = []

        def walk(value: Any, path: str) -> None:
            if isinstance(value, dict):
                if value.get(SECRET_SIG) == SECRET_VALUE:
                    found.append(path)
                    return
                for key, item in value.items():
                    walk(item, f"{path}.{key}" if path else key)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    walk(item, f"{path}[{index}]")

        walk(self.inputs, "")
        return found

    def plaintext(self) -> str:
        """The inputs with secret values left out: what must never hold a secret."""
        def strip(value: Any) -> Any:
            if isinstance(value, dict):
                if value.get(SECRET_SIG) == SECRET_VALUE:
                    return "[secret]"
                return {k: strip(v) for k, v in value.items()}
            if isinstance(value, list):
                return [strip(v) for v in value]
            return value
        return json.dumps(strip(self.inputs))


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(
            self, request: resource_pb2.RegisterResourceRequest) -> resource_pb2.RegisterResourceResponse:
        register: RegisterHandler = super().RegisterResource  # unannotated in the SDK
        response = register(request)
        if request.type == "pulumi:pulumi:Stack":
            return response  # the root every program has: not the program's own work
        self.registrations.append(Registration(
            type=request.type, name=request.name, urn=response.urn, parent=request.parent,
            provider=request.provider, dependencies=list(request.dependencies),
            inputs=json_format.MessageToDict(request.object), custom=request.custom,
            secret_outputs=list(request.additionalSecretOutputs),
            ignore_changes=list(request.ignoreChanges),
            retain_on_delete=bool(request.retainOnDelete),
        ))
        return response

    def ReadResource(self, request: resource_pb2.ReadResourceRequest) -> resource_pb2.ReadResourceResponse:
        read: ReadHandler = super().ReadResource  # unannotated in the SDK
        response = read(request)
        self.registrations.append(Registration(
            type=request.type, name=request.name, urn=response.urn, parent=request.parent,
            provider=request.provider, dependencies=list(request.dependencies),
            inputs=json_format.MessageToDict(request.properties), custom=True, read_id=request.id,
        ))
        return response

    def of_type(self, prefix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.startswith(prefix)]

    def one(self, type_: str, name_contains: str = "") -> Registration:
        found = [r for r in self.registrations if r.type == type_ and name_contains in r.name]
        assert len(found) == 1, f"expected one {type_} {name_contains!r}, got {[r.name for r in found]}"
        return found[0]


class FederationMocks(pulumi.runtime.Mocks):
    """Resource outputs as a fresh stack would see them. In preview, nothing exists yet: a
    release's status and a Service read are left out, so the SDK makes them unknown."""

    def __init__(self, preview: bool, load_balancer_ip: str = "203.0.113.10",
                 stack_outputs: dict[str, Any] | None = None,
                 failing: Mapping[str, str] | None = None) -> None:
        self.preview = preview
        # Resource name -> the error its create fails with, as a provider would report it.
        self.failing = dict(failing or {})
        self.load_balancer_ip = load_balancer_ip
        self.stack_outputs = stack_outputs or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.name in self.failing:
            raise RuntimeError(self.failing[args.name])
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": self.stack_outputs,
                               "secretOutputNames": []}
        if args.typ == "kubernetes:helm.sh/v3:Release" and not self.preview:
            state["status"] = {"name": args.inputs.get("name"), "namespace": args.inputs.get("namespace"),
                               "status": "deployed", "revision": 1}
        if args.typ == "kubernetes:core/v1:Service" and args.resource_id not in (None, "", UNKNOWN):
            state["status"] = {"loadBalancer": {"ingress": [{"ip": self.load_balancer_ip}]}}
        if args.typ == "command:local:Command" and not self.preview:
            # The zone token issuer prints a token; the check prints its result.
            state["stdout"] = (ISSUED_ZONE_TOKEN + "\n" if args.name.endswith("-issue")
                               else json.dumps({"zone": "mock", "online": True}))
        if args.typ.startswith("tls:") and not self.preview:
            # Stand-ins for what pulumi-tls computes; recognisable in any output they reach.
            state.setdefault("privateKeyPem", f"-----BEGIN PRIVATE KEY----- {args.name}")
            state.setdefault("certPem", f"-----BEGIN CERTIFICATE----- {args.name}")
            state.setdefault("certRequestPem", f"-----BEGIN CERTIFICATE REQUEST----- {args.name}")
        if self.preview and args.typ in ("command:local:Command", "kubernetes:helm.sh/v3:Release"):
            state.pop("stdout", None)
        return (None if self.preview else f"{args.name}-id"), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class MockOptions(TypedDict, total=False):
    """What run_program passes on to FederationMocks."""

    load_balancer_ip: str
    stack_outputs: dict[str, Any] | None
    failing: Mapping[str, str] | None


MonitorT = TypeVar("MonitorT", bound=MockMonitor)


@overload
def run_program(program: Callable[[], object], *, preview: bool,
                **mock_options: Unpack[MockOptions]) -> RecordingMonitor: ...


@overload
def run_program(program: Callable[[], object], *, preview: bool,
                monitor_class: Callable[[pulumi.runtime.Mocks], MonitorT],
                **mock_options: Unpack[MockOptions]) -> MonitorT: ...


def run_program(program: Callable[[], object], *, preview: bool,
                monitor_class: Callable[[pulumi.runtime.Mocks], MockMonitor] = RecordingMonitor,
                **mock_options: Unpack[MockOptions]) -> MockMonitor:
    """Run `program` under the mock engine; return the monitor once every registration is done.

    `monitor_class` lets a benchmark count registrations without the recorder's per-request
    serialization (which is test instrumentation, not the program's cost)."""
    mocks = FederationMocks(preview, **mock_options)
    monitor = monitor_class(mocks)
    pulumi.runtime.set_mocks(mocks, project="mesh-federation", stack="test", preview=preview,
                             monitor=monitor)
    failures: list[BaseException] = []

    @_mock_engine_test
    def body() -> object:
        try:
            result = program()
        except BaseException as error:  # surfaced after the engine settles
            failures.append(error)
            return None
        return result

    try:
        body()
    except BaseException as error:  # a registration failed (e.g. `failing`): keep what was seen
        error.monitor = monitor  # type: ignore[attr-defined]
        raise
    if failures:
        # Tests that expect a failure still read what was registered before it.
        failures[0].monitor = monitor  # type: ignore[attr-defined]
        raise failures[0]
    return monitor


def monitor_of(error: BaseException) -> RecordingMonitor:
    """The monitor run_program attached to the error it raised: what was registered before it."""
    monitor: RecordingMonitor = error.monitor  # type: ignore[attr-defined]  # set by run_program
    return monitor
