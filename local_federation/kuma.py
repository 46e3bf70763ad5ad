"""Setup steps for a zone as Kuma's quickstart leaves it, on any cluster `kube.Kube` reaches.

Each step is a plain function of the cluster (kuma's e2e framework calls them InstallFuncs):
`install_standalone` (the `kuma` chart with helm, as the quickstart does, plus one value of the
user's own), `demo_mesh` and `policies` (objects to `apply` with kubectl, through the webhooks
when a real kuma-cp serves them), `admin_token` (the token kuma-cp writes once it leads).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from local_federation.assets import KUMA_CHART
from local_federation.kube import Kube

SYSTEM_NAMESPACE = "kuma-system"
RELEASE = "kuma"
# A value of the user's own, set at install: the switch to zone mode must keep it.
USER_VALUE = ("controlPlane.resources.requests.cpu", "123m")
POLICY_KINDS = ("MeshTimeout", "MeshRetry", "MeshCircuitBreaker")
CONTROL_PLANE = "kuma-control-plane"


def install_standalone(kube: Kube, context: str, *extra: str) -> None:
    """`helm install` as the quickstart does: standalone, in kuma-system."""
    kube.helm(context, "install", RELEASE, str(KUMA_CHART), "--namespace", SYSTEM_NAMESPACE,
              "--create-namespace", "--set", f"{USER_VALUE[0]}={USER_VALUE[1]}", "--timeout", "180s",
              *extra)


def secret(name: str, value: str, *, mesh: str | None, kind: str = "system.kuma.io/secret") -> dict[str, Any]:
    labels = {"kuma.io/mesh": mesh} if mesh else {}
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "data": {"value": base64.b64encode(value.encode()).decode()}}


def mtls_mesh(mesh: str = "default") -> dict[str, Any]:
    """A Mesh with builtin mTLS, as the quickstart's demo turns it on."""
    return {"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": mesh},
            "spec": {"mtls": {"enabledBackend": "ca-1", "backends": [
                {"name": "ca-1", "type": "builtin", "dpCert": {"rotation": {"expiration": "1d"}},
                 "conf": {"caCert": {"RSAbits": 2048, "expiration": "10y"}}}]}}}


def demo_mesh(zone: str, mesh: str = "default") -> list[dict[str, Any]]:
    """The mesh and a Secret of the user's own in it."""
    return [mtls_mesh(mesh), secret(f"{mesh}-db-password", f"{zone}-db-password-plaintext", mesh=mesh)]


def policies(count: int, *, mesh: str = "default", prefix: str = "") -> list[dict[str, Any]]:
    """`count` targetRef policies of several kinds in the system namespace (mesh-wide, exported)."""
    made: list[dict[str, Any]] = []
    for i in range(count):
        kind = POLICY_KINDS[i % len(POLICY_KINDS)]
        spec: dict[str, Any] = {"targetRef": {"kind": "Mesh"}}
        if kind == "MeshTimeout":
            spec["to"] = [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": f"{i % 60 + 1}s"}}]
        elif kind == "MeshRetry":
            spec["to"] = [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"numRetries": i % 5 + 1}}}]
        else:
            detectors = {"totalFailures": {"consecutive": i % 9 + 1}}
            spec["to"] = [{"targetRef": {"kind": "Mesh"},
                           "default": {"outlierDetection": {"disabled": False, "detectors": detectors}}}]
        made.append({"apiVersion": "kuma.io/v1alpha1", "kind": kind,
                     "metadata": {"name": f"{prefix}{kind.lower()}-{i:04d}", "namespace": SYSTEM_NAMESPACE,
                                  "labels": {"kuma.io/mesh": mesh}},
                     "spec": spec})
    return made


DEMO_NAMESPACE = "kuma-demo"
DEMO_APPS = (("demo-app", 5000), ("redis", 6379))  # the quickstart's demo, by name and port


def demo_workloads() -> list[dict[str, Any]]:
    """The quickstart's demo namespace (sidecar injection on) with its two apps, a Deployment and
    a Service each: their pods go through the injector, their Dataplanes come from kuma-cp."""
    objects: list[dict[str, Any]] = [{
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": DEMO_NAMESPACE, "labels": {"kuma.io/sidecar-injection": "enabled"}}}]
    for app, port in DEMO_APPS:
        labels = {"app": app}
        objects.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": DEMO_NAMESPACE, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": app, "image": f"kumahq/{app}:latest",
                                         "ports": [{"containerPort": port, "name": "main"}]}]}}}})
        objects.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "namespace": DEMO_NAMESPACE, "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": port, "targetPort": port, "name": "main",
                                                    "appProtocol": "http" if app == "demo-app" else "tcp"}]}})
    return objects


def apply(kube: Kube, context: str, objects: Iterable[Mapping[str, Any]]) -> None:
    """`kubectl apply -f -`, as a user does (so objects carry kubectl's last-applied annotation).
    Bounded by the count: each object passes Kuma's webhooks one after another (3,000 policies
    took more than two minutes on 2 cores)."""
    documents = list(objects)
    kube.kubectl(context, "apply", "-f", "-", input=yaml.safe_dump_all(documents),
                 timeout=apply_timeout(len(documents)))


def apply_timeout(count: int) -> float:
    """A ceiling for `kubectl apply` of `count` objects: generous, never the expected time."""
    return 120 + 0.5 * count


def admin_token(kube: Kube, context: str, timeout: float = 120) -> str:
    """The `admin-user-token` kuma-cp writes a few seconds after it takes the leader lease (the
    chart turns localhost-is-admin off, so the API needs it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = kube.kubectl(context, "get", "secret", "admin-user-token", "-n", SYSTEM_NAMESPACE,
                             "-o", "json", check=False)
        if found.returncode == 0:
            return base64.b64decode(json.loads(found.stdout)["data"]["value"]).decode()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{context}: kuma-cp wrote no admin-user-token in {timeout} s")
        time.sleep(1)


def wait_for(kube: Kube, context: str, what: str, *args: str, timeout: float = 120) -> Any:
    """`kubectl get -o json ARGS` until it answers (kuma-cp makes the object itself)."""
    deadline = time.monotonic() + timeout
    while True:
        found = kube.kubectl(context, "get", "-o", "json", *args, check=False)
        if found.returncode == 0:
            return json.loads(found.stdout)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{context}: {what} did not appear in {timeout} s: {found.stderr.strip()}")
        time.sleep(1)
