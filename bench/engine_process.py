"""Pulumi's mock engine in a process of its own, reached over gRPC, as `pulumi up` reaches its
engine.

Under `pulumi up`, the Python program sends each registration over gRPC to the engine, a
separate (Go) process; the engine's work happens there. `pulumi.runtime.set_mocks` instead runs
the stock `MockMonitor` inside the program's process: each registration is deserialized, given
to the mocks, and its outputs serialized again on a fresh event loop, all on the program's GIL.
At 10,000 objects that is most of the registration time, and none of it is the program's.

So the benchmark serves the unchanged `MockMonitor`, with the tests' `FederationMocks`, from a
forked process over gRPC, and the program reaches it through the SDK's own `ResourceMonitorStub`
(what `Settings(monitor="host:port")` builds for `pulumi up`). The program's side of each call
(building and serializing the request, the gRPC round trip, reading the answer) stays in the
figures, as it would for a real engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Each monitor method of the gRPC service the SDK calls (resource.proto's ResourceMonitor).
_MONITOR_METHODS = (
    "Call", "ExistsResource", "GetDeploymentInfo", "Invoke", "ReadResource", "RegisterErrorHook",
    "RegisterPackage", "RegisterResource", "RegisterResourceHook", "RegisterResourceOutputs",
    "RegisterStackInvokeTransform", "RegisterStackTransform", "SignalAndWaitForShutdown",
    "SupportsFeature",
)


def _servicer(monitor: Any) -> Any:
    """The gRPC servicer for `monitor`: gRPC passes (request, context), MockMonitor takes request."""
    from pulumi.runtime.proto import resource_pb2, resource_pb2_grpc

    def forward(name: str) -> Callable[[Any, Any, Any], Any]:
        def method(self: Any, request: Any, context: Any) -> Any:
            answer = getattr(monitor, name)(request)
            if name == "SupportsFeature":
                # MockMonitor answers with a plain object; the wire needs the message.
                return resource_pb2.SupportsFeatureResponse(hasSupport=answer.hasSupport)
            return answer

        return method

    methods = {name: forward(name) for name in _MONITOR_METHODS if hasattr(monitor, name)}
    return type("MockMonitorServicer", (resource_pb2_grpc.ResourceMonitorServicer,), methods)()


def serve(preview: bool, conn: Any) -> None:
    """Run in the forked process: serve a counting MockMonitor until told to stop, then send
    back the parent of every registration (what the benchmark's figures count)."""
    from concurrent.futures import ThreadPoolExecutor

    import grpc
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.proto import resource_pb2_grpc

    from tests.pulumi_harness import FederationMocks

    parents: list[str] = []

    class CountingMonitor(MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            if request.type != "pulumi:pulumi:Stack":
                parents.append(request.parent)
            return super().RegisterResource(request)

    monitor = CountingMonitor(FederationMocks(preview))
    server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="engine"))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_servicer(monitor), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        conn.send(f"127.0.0.1:{port}")
        conn.recv()  # the program is done
        conn.send(parents)
    finally:
        server.stop(grace=None)


def monitor_stub(address: str) -> Any:
    """The SDK's own client for an engine at `address`, with the channel options it uses."""
    import grpc
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
    from pulumi.runtime.proto import resource_pb2_grpc

    return resource_pb2_grpc.ResourceMonitorStub(
        grpc.insecure_channel(address, options=_GRPC_CHANNEL_OPTIONS))
