"""Network namespaces: the node's, one per pod, and forwarders from 127.0.0.1 into them.

Everything of a local federation runs inside network namespaces the harness makes itself, never
with an address in the machine's own namespace:
- the **node** namespace (lo up, the node's address 10.244.255.1 on lo, forwarding on) holds etcd
  and the kube-apiservers;
- each **pod** gets a namespace of its own (like a pod sandbox), with a veth pair to the node: its
  address (10.244.C.N/32) on its `eth0`, a route back to the node. Two kuma-cp processes so listen
  on the same ports, as two pods do, and the API servers reach the chart's webhooks through the
  Service's EndpointSlice, with the chart's own certificate.

A namespace lives as long as its holder process (`unshare -n sleep infinity`, the pod sandbox's
pause process); processes enter it with `nsenter --net`. The holder dies with the harness
(PR_SET_PDEATHSIG), so a crash leaves no namespace behind.

The machine's own namespace reaches the API servers and the control planes' APIs only through
`Forwarder`s: a listener on 127.0.0.1 whose connections are made from inside a namespace
(a thread that enters it with setns(2) before it connects).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
NODE_ADDRESS = "10.244.255.1"
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Run in a child before exec: killed when the thread that started it ends (the harness)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Network(Protocol):
    """Where processes run and at which address the harness's own processes listen."""

    address: str

    def argv(self, command: Sequence[str]) -> list[str]: ...


@dataclass
class HostNetwork:
    """The machine's own namespace, loopback only (tier 1)."""

    address: str = "127.0.0.1"

    def argv(self, command: Sequence[str]) -> list[str]:
        return list(command)


def _enter(pid: int) -> None:
    """Move the calling thread (only it) into the network namespace of process `pid`."""
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into the network namespace of {pid}: {os.strerror(errno)}")
    finally:
        os.close(fd)


@dataclass
class Namespace:
    """A network namespace held by a sleeping process."""

    name: str
    holder: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.holder is not None, f"namespace {self.name} not started"
        return self.holder.pid

    def start(self) -> None:
        own = os.readlink("/proc/self/ns/net")
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"],
                                       preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        # unshare makes the namespace, then execs sleep: wait until the holder is in it.
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{self.pid}/ns/net") != own:
                    return
            if self.holder.poll() is not None:
                raise RuntimeError(f"unshare --net exited with {self.holder.returncode} (are we root?)")
            time.sleep(0.02)
        raise TimeoutError(f"namespace {self.name}: unshare --net did not make it")

    def argv(self, command: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.pid}/ns/net", "--", *command]

    def sh(self, script: str) -> None:
        result = subprocess.run(self.argv(["sh", "-ec", script]), capture_output=True, text=True,
                                timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"in namespace {self.name}: {script!r}: {result.stderr.strip()}")

    def connect(self, host: str, port: int, timeout: float = 10.0) -> socket.socket:
        """A connection made from inside this namespace (call it in a thread of its own: the
        thread stays in the namespace)."""
        _enter(self.pid)
        return socket.create_connection((host, port), timeout=timeout)

    def stop(self) -> None:
        if self.holder is not None and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait()


@dataclass
class Node(Namespace):
    """The node: API servers on 127.0.0.1 and on NODE_ADDRESS, routes to every pod."""

    address: str = NODE_ADDRESS
    pods: int = 0

    def start(self) -> None:
        super().start()
        self.sh(f"ip link set lo up; ip addr add {self.address}/32 dev lo; "
                "echo 1 > /proc/sys/net/ipv4/ip_forward")

    def pod(self, name: str, address: str) -> Pod:
        """A new pod namespace with `address`, wired to this node."""
        self.pods += 1
        pod = Pod(name, node=self, address=address, link=f"vp{self.pods}")
        pod.start()
        return pod


@dataclass
class Pod(Namespace):
    node: Node | None = None
    address: str = ""
    link: str = ""

    def start(self) -> None:
        super().start()
        assert self.node is not None
        self.node.sh(f"ip link add {self.link} type veth peer name eth0 netns {self.pid}; "
                     f"ip link set {self.link} up; ip route add {self.address}/32 dev {self.link}")
        self.sh(f"ip link set lo up; ip addr add {self.address}/32 dev eth0; ip link set eth0 up; "
                f"ip route add {self.node.address}/32 dev eth0; "
                f"ip route add default via {self.node.address} dev eth0")

    def stop(self) -> None:
        # The veth pair goes with the namespace; the node's route with its link.
        super().stop()


@dataclass
class Forwarder:
    """127.0.0.1:<port> in the machine's namespace to host:port inside a namespace."""

    namespace: Namespace
    host: str
    port: int
    listen_port: int = 0
    _listener: socket.socket | None = None
    _open: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.listen_port}"

    def start(self) -> int:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.listen_port))
        listener.listen(64)
        self.listen_port = int(listener.getsockname()[1])
        self._listener = listener
        threading.Thread(target=self._accept, name=f"forward-{self.listen_port}", daemon=True).start()
        return self.listen_port

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.close()
            self._open.clear()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = self.namespace.connect(self.host, self.port)
        except OSError:
            client.close()  # nothing listening (yet): the client sees the connection closed
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.update((client, upstream))
        pump = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        pump.start()
        self._pump(client, upstream)
        pump.join()
        with self._lock:
            self._open.difference_update((client, upstream))
        client.close()
        upstream.close()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
