"""Real Kubernetes API servers on 127.0.0.1, one per cluster, as controller-runtime's envtest runs them.

One etcd (its own data dir, no fsync) and a kube-apiserver per cluster, each with its own
`--etcd-prefix`, a static token, `AlwaysAllow` authorization, service-account keys made here and
`--enable-aggregator-routing` (webhooks are called at their endpoints, never at a ClusterIP). One
kubeconfig holds a context per cluster, named as the cluster. Everything started is stopped on
exit, also when a test fails.

Nothing runs pods: there is no kubelet and no controller-manager. `PodlessControllers` plays the
few controllers whose results Helm, kubectl and the program wait for, and says so:
- a Deployment gets the ReplicaSet the deployment controller would make (its template, the
  `pod-template-hash` label, the controller owner reference) and both get a rolled-out, ready
  status: Helm's wait finds the new ReplicaSet ready (helm pkg/kube/ready.go), `kubectl rollout
  status` sees generation observed and replicas updated and available;
- a Job (the chart's hook Jobs) is marked succeeded, as the job controller would once its pod
  exited 0: Helm waits for hook Jobs to complete;
- a LoadBalancer Service gets an ingress address through the status subresource, as a cloud
  controller would;
- the kuma chart's admission webhooks are deleted as soon as they appear (tier 1 only, where no
  kuma-cp runs to serve them: with `failurePolicy: Fail` every kuma.io write would fail);
- a foreground delete (pulumi-kubernetes' default) completes, as the garbage collector would
  complete it for an object without dependents.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.tools import Tools

ADMIN_TOKEN = "integration-admin-token"  # test-only static token of the AlwaysAllow API servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(what: str, ready: Any, timeout: float, process: subprocess.Popen[bytes],
                log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def _http_ok(url: str, token: str | None = None) -> bool:
    # Readiness only: the server's certificate is made at its start, read after.
    http = urllib3.PoolManager(cert_reqs="CERT_NONE", timeout=2.0, retries=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return bool(http.request("GET", url, headers=headers).status == 200)


@dataclass
class Etcd:
    tools: Tools
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> None:
        client, peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{client}"
        log = self.workdir / "etcd.log"
        self.process = subprocess.Popen(
            [self.tools.path("etcd"), "--data-dir", str(self.workdir / "etcd-data"),
             "--name", "integration",
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"integration=http://127.0.0.1:{peer}",
             "--unsafe-no-fsync", "--log-level", "warn"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        _wait_until("etcd", lambda: _http_ok(f"{self.url}/health"), 60, self.process, log)

    def stop(self) -> None:
        _terminate(self.process)


@dataclass
class ApiServer:
    name: str
    tools: Tools
    workdir: Path
    etcd_url: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        home = self.workdir / self.name
        (home / "certs").mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (home / "sa.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        (home / "sa.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        (home / "tokens.csv").write_text(f'{ADMIN_TOKEN},admin,admin,"system:masters"\n')
        self.port = free_port()
        log = home / "kube-apiserver.log"
        self.process = subprocess.Popen(
            [self.tools.path("kube-apiserver"),
             "--etcd-servers", self.etcd_url, "--etcd-prefix", f"/{self.name}",
             "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
             "--secure-port", str(self.port), "--cert-dir", str(home / "certs"),
             "--service-account-issuer", f"https://{self.name}.integration.local",
             "--service-account-key-file", str(home / "sa.pub"),
             "--service-account-signing-key-file", str(home / "sa.key"),
             "--token-auth-file", str(home / "tokens.csv"),
             "--authorization-mode", "AlwaysAllow",
             "--disable-admission-plugins", "ServiceAccount",
             "--enable-aggregator-routing=true", "--endpoint-reconciler-type", "none",
             "--service-cluster-ip-range", "10.96.0.0/16", "--allow-privileged=true",
             "--enable-priority-and-fairness=false", "--v", "0"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        _wait_until(f"kube-apiserver {self.name}", lambda: _http_ok(f"{self.url}/readyz", ADMIN_TOKEN),
                    120, self.process, log)

    def ca_data(self) -> str:
        return base64.b64encode((self.workdir / self.name / "certs" / "apiserver.crt").read_bytes()).decode()

    def stop(self) -> None:
        _terminate(self.process)


def _terminate(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def write_kubeconfig(path: Path, servers: Sequence[ApiServer]) -> None:
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": s.name, "cluster": {"server": s.url, "certificate-authority-data": s.ca_data()}}
                     for s in servers],
        "users": [{"name": "admin", "user": {"token": ADMIN_TOKEN}}],
        "contexts": [{"name": s.name, "context": {"cluster": s.name, "user": "admin"}} for s in servers],
        "current-context": servers[0].name,
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


# The namespaced kinds whose foreground deletes PodlessControllers completes.
GARBAGE_COLLECTED = (("/api/v1", "secrets"), ("/api/v1", "configmaps"), ("/api/v1", "services"),
                     ("/api/v1", "serviceaccounts"), ("/apis/apps/v1", "deployments"),
                     ("/apis/apps/v1", "replicasets"), ("/apis/batch/v1", "jobs"))


class KubeRest:
    """The few REST calls the podless controllers make, on plain JSON (no client models)."""

    def __init__(self, server: ApiServer) -> None:
        ca = server.workdir / server.name / "certs" / "apiserver.crt"
        self._base = server.url
        self._http = urllib3.PoolManager(ca_certs=str(ca), timeout=10.0, retries=False)
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


@dataclass
class PodlessControllers:
    """The controllers Helm, kubectl and the program wait on, played without pods (module doc)."""

    server: ApiServer
    load_balancer_ip: str = "127.0.0.1"
    delete_webhooks: bool = True
    interval: float = 0.3
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._api = KubeRest(self.server)
        self._thread = threading.Thread(target=self._run, name=f"podless-{self.server.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for step in (self._deployments, self._jobs, self._load_balancers, self._webhooks,
                         self._garbage_collector):
                try:
                    step()
                except Exception as exc:  # the thread must live on; the test reads `errors`
                    self.errors.append(f"{step.__name__}: {exc!r}"[:2000])
            self._stop.wait(self.interval)

    # -- the deployment controller and a kubelet whose pods start at once --------------------

    def _deployments(self) -> None:
        for deployment in self._api.items("/apis/apps/v1/deployments"):
            self._roll_out(deployment)

    def _roll_out(self, deployment: dict[str, Any]) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        namespace, name = meta["namespace"], meta["name"]
        apps = f"/apis/apps/v1/namespaces/{namespace}"
        replicas = int(spec.get("replicas", 1))
        template = json.loads(json.dumps(spec["template"]))
        template_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        rs_name = f"{name}-{template_hash}"
        owned = [rs for rs in self._api.items(f"{apps}/replicasets")
                 if any(ref.get("uid") == meta["uid"] for ref in rs["metadata"].get("ownerReferences", []))]
        current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
        if current is None:
            revision = 1 + max((int(rs["metadata"].get("annotations", {}).get(
                "deployment.kubernetes.io/revision", "0")) for rs in owned), default=0)
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
            current = self._api.call("POST", f"{apps}/replicasets", {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name, "namespace": namespace, "labels": template["metadata"]["labels"],
                    "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                         "uid": meta["uid"], "controller": True,
                                         "blockOwnerDeletion": True}],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": template},
            }, content_type="application/json")
            if current is None:
                return
            # Older ReplicaSets scale down, as the rollout replaces their pods.
            for old in owned:
                old_name = old["metadata"]["name"]
                self._api.call("PATCH", f"{apps}/replicasets/{old_name}", {"spec": {"replicas": 0}})
                self._api.call("PATCH", f"{apps}/replicasets/{old_name}/status", {"status": {
                    "replicas": 0, "fullyLabeledReplicas": 0, "readyReplicas": 0,
                    "availableReplicas": 0}})
        if int(current["spec"].get("replicas", 1)) != replicas:
            # A template rolled back to: its old ReplicaSet scales up again.
            self._api.call("PATCH", f"{apps}/replicasets/{rs_name}", {"spec": {"replicas": replicas}})
        if int(current.get("status", {}).get("readyReplicas", 0)) != replicas:
            self._api.call("PATCH", f"{apps}/replicasets/{rs_name}/status", {"status": {
                "replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas,
                "observedGeneration": current["metadata"].get("generation", 1)}})
        observed = deployment.get("status", {})
        if (observed.get("observedGeneration") != meta.get("generation")
                or observed.get("updatedReplicas") != replicas
                or observed.get("availableReplicas") != replicas):
            self._api.call("PATCH", f"{apps}/deployments/{name}/status", {"status": {
                "observedGeneration": meta.get("generation"), "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                ]}})

    # -- the job controller: every Job's pod exits 0 ---------------------------------------------

    def _jobs(self) -> None:
        for job in self._api.items("/apis/batch/v1/jobs"):
            status = job.get("status", {})
            if any(c["type"] == "Complete" and c["status"] == "True" for c in status.get("conditions", [])):
                continue
            meta = job["metadata"]
            path = f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}/status"
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            start = status.get("startTime") or now
            if "startTime" not in status:
                self._api.call("PATCH", path, {"status": {"startTime": start}})
            self._api.call("PATCH", path, {"status": {
                "startTime": start, "completionTime": now, "succeeded": 1, "active": 0,
                "ready": 0, "terminating": 0,
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                     "lastTransitionTime": now, "lastProbeTime": now},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                     "lastTransitionTime": now, "lastProbeTime": now},
                ]}})

    # -- a cloud controller ------------------------------------------------------------------------

    def _load_balancers(self) -> None:
        for service in self._api.items("/api/v1/services"):
            if service["spec"].get("type") != "LoadBalancer":
                continue
            if not service.get("status", {}).get("loadBalancer", {}).get("ingress"):
                meta = service["metadata"]
                path = f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status"
                ingress = [{"ip": self.load_balancer_ip}]
                self._api.call("PATCH", path, {"status": {"loadBalancer": {"ingress": ingress}}})

    # -- the garbage collector's part in a foreground delete --------------------------------------

    def _garbage_collector(self) -> None:
        """pulumi-kubernetes deletes with `propagationPolicy: Foreground`: the API server marks the
        object with the `foregroundDeletion` finalizer and the garbage collector removes it once
        the dependents are gone. The kinds the program deletes (Secrets, and what a Helm release
        holds) have no dependents here: the finalizer is removed at once."""
        for base, kind in GARBAGE_COLLECTED:
            for obj in self._api.items(f"{base}/{kind}"):
                meta = obj["metadata"]
                finalizers = meta.get("finalizers") or []
                if meta.get("deletionTimestamp") and "foregroundDeletion" in finalizers:
                    path = f"{base}/namespaces/{meta['namespace']}/{kind}/{meta['name']}"
                    left = [f for f in finalizers if f != "foregroundDeletion"]
                    self._api.call("PATCH", path, {"metadata": {"finalizers": left or None}})

    # -- no kuma-cp to serve the admission webhooks (tier 1) ---------------------------------------

    def _webhooks(self) -> None:
        if not self.delete_webhooks:
            return
        for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            base = f"/apis/admissionregistration.k8s.io/v1/{kind}"
            for hook in self._api.items(base):
                self._api.call("DELETE", f"{base}/{hook['metadata']['name']}")


def helm_env(home: Path) -> dict[str, str]:
    """Helm's cache, config and data beside the kubeconfig, never the runner's own."""
    return {**os.environ, "HELM_CACHE_HOME": str(home / "helm-cache"),
            "HELM_CONFIG_HOME": str(home / "helm-config"), "HELM_DATA_HOME": str(home / "helm-data")}


@dataclass
class Clusters:
    """Running API servers, their kubeconfig and their podless controllers."""

    kubeconfig: Path
    servers: dict[str, ApiServer]
    controllers: dict[str, PodlessControllers]
    tools: Tools

    def kubectl(self, context: str, *args: str, input: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.tools.bin / "kubectl"), "--kubeconfig", str(self.kubeconfig),
                               "--context", context, *args],
                              input=input, text=True, capture_output=True, check=check, timeout=120)

    def helm(self, context: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.tools.bin / "helm"), "--kubeconfig", str(self.kubeconfig),
                               "--kube-context", context, *args],
                              input=input, text=True, capture_output=True, check=True, timeout=300,
                              env=helm_env(self.kubeconfig.parent))

    def get_json(self, context: str, *args: str) -> Any:
        return json.loads(self.kubectl(context, "get", "-o", "json", *args).stdout)

    def controller_errors(self) -> list[str]:
        return [error for c in self.controllers.values() for error in c.errors]


@contextlib.contextmanager
def running_clusters(tools: Tools, workdir: Path, names: Sequence[str], *,
                     delete_webhooks: bool = True) -> Iterator[Clusters]:
    """Start etcd and one API server per name; yield them; stop everything, whatever happens."""
    workdir.mkdir(parents=True, exist_ok=True)
    etcd = Etcd(tools, workdir)
    servers: dict[str, ApiServer] = {}
    controllers: dict[str, PodlessControllers] = {}
    try:
        etcd.start()
        for name in names:
            servers[name] = ApiServer(name, tools, workdir, etcd.url)
            servers[name].start()
        kubeconfig = workdir / "kubeconfig"
        write_kubeconfig(kubeconfig, list(servers.values()))
        for name in names:
            controllers[name] = PodlessControllers(servers[name], delete_webhooks=delete_webhooks)
            controllers[name].start()
        yield Clusters(kubeconfig, servers, controllers, tools)
    finally:
        for controller in controllers.values():
            controller.stop()
        for server in servers.values():
            server.stop()
        etcd.stop()
