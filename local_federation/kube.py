"""Real Kubernetes API servers, one per cluster, as controller-runtime's envtest runs them.

One etcd (its own data dir, no fsync) and a kube-apiserver per cluster, each with its own
`--etcd-prefix`, a static token, `AlwaysAllow` authorization, service-account keys made here and
`--enable-aggregator-routing` (webhooks are called at their endpoints, never at a ClusterIP). One
kubeconfig holds a context per cluster, named as the cluster. `Environment.stop` stops everything
it started, also after a failed start.

Two networks: the machine's loopback (tier 1: every server on 127.0.0.1), or a node namespace
(`netns.Node`): the servers listen inside it, pods reach them at the node's address, and the
machine's side reaches them through forwarders on 127.0.0.1 (the kubeconfig names those).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import trustme
import urllib3
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from components.child_process import stop
from local_federation.netns import Forwarder, HostNetwork, Network, Node, die_with_parent

ADMIN_TOKEN = "integration-admin-token"  # test-only static token of the AlwaysAllow API servers
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
# Inside a node namespace every port is free: fixed ports, one API server port per cluster.
ETCD_PORTS = (2379, 2380)
FIRST_APISERVER_PORT = 6443


class ToolPaths(Protocol):
    def path(self, name: str) -> str: ...


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, ready: Callable[[], bool], timeout: float,
               process: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Poll `ready` until true; fail early, with the log's tail, if `process` exits."""
    deadline = time.monotonic() + timeout

    def tail() -> str:
        return log.read_text(errors="replace")[-3000:] if log else ""

    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail()}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout} s:\n{tail()}")


def http_ok(url: str, token: str | None = None) -> bool:
    # Readiness only: the server's certificate is made at its start, read after.
    http = urllib3.PoolManager(cert_reqs="CERT_NONE", timeout=2.0, retries=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return bool(http.request("GET", url, headers=headers).status == 200)


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    stop(process, grace_seconds=15)


def start_process(network: Network, argv: Sequence[str], log: Path,
                  env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A server process in `network`, its output in `log` (its directory the process's working
    directory), killed if the harness dies."""
    with log.open("wb") as output:
        return subprocess.Popen(network.argv(argv), stdout=output, stderr=subprocess.STDOUT, env=env,
                                cwd=log.parent, preexec_fn=die_with_parent)


@dataclass
class Reachable:
    """A server's port inside its network, and the 127.0.0.1 address the harness uses."""

    network: Network
    port: int
    forwarder: Forwarder | None = None

    def local_port(self) -> int:
        """The port on the machine's 127.0.0.1: the server's own, or its forwarder's."""
        if isinstance(self.network, Node):
            if self.forwarder is None:
                self.forwarder = Forwarder(self.network, "127.0.0.1", self.port)
                self.forwarder.start()
            return self.forwarder.listen_port
        return self.port

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.stop()


@dataclass
class Etcd:
    tools: ToolPaths
    workdir: Path
    network: Network = field(default_factory=HostNetwork)
    process: subprocess.Popen[bytes] | None = None
    reach: Reachable | None = None

    @property
    def url(self) -> str:  # as the API servers, in the same network, reach it
        assert self.reach is not None
        return f"http://127.0.0.1:{self.reach.port}"

    def start(self) -> None:
        client, peer = ETCD_PORTS if isinstance(self.network, Node) else (free_port(), free_port())
        self.reach = Reachable(self.network, client)
        url = f"http://127.0.0.1:{client}"
        log = self.workdir / "etcd.log"
        self.process = start_process(self.network, [
            self.tools.path("etcd"), "--data-dir", str(self.workdir / "etcd-data"),
            "--name", "integration",
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"integration=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync", "--log-level", "warn"], log)
        local = self.reach.local_port()
        wait_until("etcd", lambda: http_ok(f"http://127.0.0.1:{local}/health"), 60, self.process, log)

    def stop(self) -> None:
        terminate(self.process)
        if self.reach is not None:
            self.reach.close()


@dataclass
class ApiServer:
    name: str
    tools: ToolPaths
    workdir: Path
    etcd_url: str
    network: Network = field(default_factory=HostNetwork)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    reach: Reachable | None = None

    @property
    def home(self) -> Path:
        return self.workdir / self.name

    @property
    def url(self) -> str:
        """The URL on the machine's side (the kubeconfig's)."""
        assert self.reach is not None
        return f"https://127.0.0.1:{self.reach.local_port()}"

    @property
    def in_network_url(self) -> str:
        """The URL a pod uses: the node's address inside a namespace, else 127.0.0.1."""
        return f"https://{self.network.address}:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.home / "certs" / "ca.crt"

    def start(self, port: int | None = None) -> None:
        certs = self.home / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.home / "sa.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        (self.home / "sa.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        (self.home / "tokens.csv").write_text(f'{ADMIN_TOKEN},admin,admin,"system:masters"\n')
        # A serving certificate for every name the server is reached by: 127.0.0.1 (the
        # machine's side, the node itself), the node's address (pods), the Service's names.
        ca = trustme.CA()
        serving = ca.issue_cert("127.0.0.1", self.network.address, KUBERNETES_SERVICE_IP, "localhost",
                                "kubernetes", "kubernetes.default", "kubernetes.default.svc")
        ca.cert_pem.write_to_path(str(self.ca_file))
        serving.private_key_and_cert_chain_pem.write_to_path(str(certs / "serving.pem"))
        self.port = port or free_port()
        self.reach = Reachable(self.network, self.port)
        bind = "0.0.0.0" if isinstance(self.network, Node) else "127.0.0.1"
        log = self.home / "kube-apiserver.log"
        self.process = start_process(self.network, [
            self.tools.path("kube-apiserver"),
            "--etcd-servers", self.etcd_url, "--etcd-prefix", f"/{self.name}",
            "--bind-address", bind, "--advertise-address", self.network.address,
            "--secure-port", str(self.port),
            "--tls-cert-file", str(certs / "serving.pem"),
            "--tls-private-key-file", str(certs / "serving.pem"),
            "--service-account-issuer", f"https://{self.name}.integration.local",
            "--service-account-key-file", str(self.home / "sa.pub"),
            "--service-account-signing-key-file", str(self.home / "sa.key"),
            "--token-auth-file", str(self.home / "tokens.csv"),
            "--authorization-mode", "AlwaysAllow",
            "--disable-admission-plugins", "ServiceAccount",
            "--enable-aggregator-routing=true", "--endpoint-reconciler-type", "none",
            "--service-cluster-ip-range", SERVICE_CIDR, "--allow-privileged=true",
            "--enable-priority-and-fairness=false", "--v", "0"], log)
        wait_until(f"kube-apiserver {self.name}", lambda: http_ok(f"{self.url}/readyz", ADMIN_TOKEN),
                   120, self.process, log)

    def ca_data(self) -> str:
        return base64.b64encode(self.ca_file.read_bytes()).decode()

    def stop(self) -> None:
        terminate(self.process)
        if self.reach is not None:
            self.reach.close()


def kubeconfig_document(servers: Sequence[ApiServer], *, in_network: bool = False,
                        token: str = ADMIN_TOKEN) -> dict[str, Any]:
    def server_url(server: ApiServer) -> str:
        return server.in_network_url if in_network else server.url

    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": s.name, "cluster": {"server": server_url(s),
                                                   "certificate-authority-data": s.ca_data()}}
                     for s in servers],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": s.name, "context": {"cluster": s.name, "user": "admin"}} for s in servers],
        "current-context": servers[0].name,
    }


def write_kubeconfig(path: Path, servers: Sequence[ApiServer], *, in_network: bool = False,
                     token: str = ADMIN_TOKEN) -> None:
    path.write_text(yaml.safe_dump(kubeconfig_document(servers, in_network=in_network, token=token)))
    path.chmod(0o600)


class KubeRest:
    """The few REST calls the podless controllers make, on plain JSON (no client models)."""

    def __init__(self, server: ApiServer) -> None:
        self._base = server.url
        self._http = urllib3.PoolManager(ca_certs=str(server.ca_file), timeout=10.0, retries=False,
                                         maxsize=4)
        self._headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: Any = None,
             content_type: str = "application/merge-patch+json") -> Any:
        headers = dict(self._headers)
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        answer = self._http.request(method, self._base + path, body=data, headers=headers)
        if answer.status in (404, 409):  # raced with a delete or another write: next round
            return None
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.data[:1500]!r}")
        return json.loads(answer.data)

    def items(self, path: str) -> list[dict[str, Any]]:
        listed = self.call("GET", path)
        return list(listed["items"]) if listed else []


def helm_env(home: Path) -> dict[str, str]:
    """Helm's cache, config and data beside the kubeconfig, never the runner's own."""
    return {**os.environ, "HELM_CACHE_HOME": str(home / "helm-cache"),
            "HELM_CONFIG_HOME": str(home / "helm-config"), "HELM_DATA_HOME": str(home / "helm-data")}


@dataclass
class Kube:
    """kubectl and helm on the environment's kubeconfig."""

    kubeconfig: Path
    tools: ToolPaths

    def kubectl(self, context: str, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.tools.path("kubectl"), "--kubeconfig", str(self.kubeconfig),
                               "--context", context, *args],
                              input=input, text=True, capture_output=True, check=check, timeout=timeout)

    def helm(self, context: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.tools.path("helm"), "--kubeconfig", str(self.kubeconfig),
                               "--kube-context", context, *args],
                              input=input, text=True, capture_output=True, check=True, timeout=300,
                              env=helm_env(self.kubeconfig.parent))

    def get_json(self, context: str, *args: str) -> Any:
        return json.loads(self.kubectl(context, "get", "-o", "json", *args).stdout)


@dataclass
class Environment:
    """etcd and one API server per name, started and stopped as one (envtest's Environment)."""

    tools: ToolPaths
    workdir: Path
    names: Sequence[str]
    network: Network = field(default_factory=HostNetwork)
    etcd: Etcd | None = None
    servers: dict[str, ApiServer] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def start(self) -> Kube:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.etcd = Etcd(self.tools, self.workdir, self.network)
            self.etcd.start()
            for index, name in enumerate(self.names):
                server = self.servers[name] = ApiServer(name, self.tools, self.workdir, self.etcd.url,
                                                        self.network)
                server.start(FIRST_APISERVER_PORT + index if isinstance(self.network, Node) else None)
            write_kubeconfig(self.kubeconfig, list(self.servers.values()))
        except BaseException:
            self.stop()
            raise
        return Kube(self.kubeconfig, self.tools)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.etcd is not None:
            self.etcd.stop()
