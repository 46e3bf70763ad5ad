"""A zone as Kuma's quickstart leaves it, on a real API server: the `kuma` chart installed standalone
with the helm CLI (plus one value of the user's own), a demo mesh with mTLS, Secrets and a few
hundred policies applied with kubectl; and the zone's Kuma API, played by the loopback fake zone
(tests/export/fake_zone.py) serving exactly the objects read back from that API server, since no
kuma-cp runs here (tier 1).

The chart is the whole `kuma` chart at v2.14.3 in ../shared/upstream (the air-gapped path users
have: `chartRepository` set to a local chart directory).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.export.fake_zone import FakeZone, Obj, load_types
from tests.integration.clusters import Clusters
from tests.integration.tools import REPO_ROOT

UPSTREAM = REPO_ROOT.parent / "shared" / "upstream" / "kuma-v2.14.3"
KUMA_CHART = UPSTREAM / "charts" / "kuma"
RESOURCES_JSON = UPSTREAM / "api" / "_resources.json"
SYSTEM_NAMESPACE = "kuma-system"
RELEASE = "kuma"
# A value of the user's own, set at install: the switch to zone mode must keep it.
USER_VALUE = ("controlPlane.resources.requests.cpu", "123m")
POLICY_KINDS = ("MeshTimeout", "MeshRetry", "MeshCircuitBreaker")


def install_standalone(clusters: Clusters, context: str) -> None:
    """`helm install` as the quickstart does: standalone, in kuma-system."""
    clusters.helm(context, "install", RELEASE, str(KUMA_CHART), "--namespace", SYSTEM_NAMESPACE,
                  "--create-namespace", "--set", f"{USER_VALUE[0]}={USER_VALUE[1]}", "--timeout", "120s")


def _secret(name: str, value: str, *, mesh: str | None,
            kind: str = "system.kuma.io/secret") -> dict[str, Any]:
    labels = {"kuma.io/mesh": mesh} if mesh else {}
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "data": {"value": base64.b64encode(value.encode()).decode()}}


def demo_objects(zone: str, policies: int, *, mesh: str = "default") -> list[dict[str, Any]]:
    """What a zone holds after the quickstart and some use: a Mesh with builtin mTLS, the CA and
    token signing Secrets kuma-cp makes at start (made here, no kuma-cp runs), a user Secret, and
    `policies` targetRef policies in the system namespace (hence mesh-wide, exported)."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": mesh},
         "spec": {"mtls": {"enabledBackend": "ca-1", "backends": [
             {"name": "ca-1", "type": "builtin", "dpCert": {"rotation": {"expiration": "1d"}},
              "conf": {"caCert": {"RSAbits": 2048, "expiration": "10y"}}}]}}},
        _secret(f"{mesh}.ca-builtin-cert-ca-1", f"{zone} ca cert", mesh=mesh),
        _secret(f"{mesh}.ca-builtin-key-ca-1", f"{zone} ca key", mesh=mesh),
        _secret(f"{mesh}-db-password", f"{zone}-db-password-plaintext", mesh=mesh),
        _secret("user-token-signing-key-1", f"{zone} user token signing key",
                mesh=None, kind="system.kuma.io/global-secret"),
        _secret("admin-user-token", f"{zone}-admin-user-token-plaintext",
                mesh=None, kind="system.kuma.io/global-secret"),
    ]
    for i in range(policies):
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
        objects.append({"apiVersion": "kuma.io/v1alpha1", "kind": kind,
                        "metadata": {"name": f"{kind.lower()}-{i:04d}", "namespace": SYSTEM_NAMESPACE,
                                     "labels": {"kuma.io/mesh": mesh}},
                        "spec": spec})
    return objects


def apply(clusters: Clusters, context: str, objects: Iterable[Mapping[str, Any]]) -> None:
    """`kubectl apply -f -`, as a user does (so objects carry kubectl's last-applied annotation)."""
    clusters.kubectl(context, "apply", "-f", "-", input=yaml.safe_dump_all(list(objects)))


def stored_objects(clusters: Clusters, context: str) -> list[dict[str, Any]]:
    """Every kuma.io object and Kuma Secret the zone's API server stores, as it stores them."""
    kinds = "meshes.kuma.io,meshtimeouts.kuma.io,meshretries.kuma.io,meshcircuitbreakers.kuma.io"
    items = list(clusters.get_json(context, kinds, "--all-namespaces")["items"])
    secrets = clusters.get_json(context, "secrets", "--namespace", SYSTEM_NAMESPACE)["items"]
    items += [s for s in secrets if str(s.get("type", "")).startswith("system.kuma.io/")]
    return items


def fake_zone_api(objects: Iterable[Mapping[str, Any]], *, token: str, zone_name: str | None = None,
                  mode_zone: bool = False) -> FakeZone:
    """The zone's Kuma API over exactly these stored objects: items answer `?format=k8s` with the
    stored object (pkg/api-server/resource_endpoints.go → the k8s mapper)."""
    served: list[Obj] = []
    for obj in objects:
        kind, meta = str(obj["kind"]), obj["metadata"]
        labels = meta.get("labels") or {}
        if kind == "Secret":
            kuma_type = "GlobalSecret" if obj.get("type") == "system.kuma.io/global-secret" else "Secret"
            served.append(Obj(kuma_type, meta["name"], labels.get("kuma.io/mesh"), dict(obj)))
        elif kind == "Mesh":
            served.append(Obj("Mesh", meta["name"], None, dict(obj)))
        else:
            # On Kubernetes a namespaced object's Kuma name is `<name>.<namespace>`.
            served.append(Obj(kind, f"{meta['name']}.{meta['namespace']}", labels.get("kuma.io/mesh"),
                              dict(obj)))
    return FakeZone(resource_types=load_types(str(RESOURCES_JSON)), objects=served, token=token,
                    zone_name=zone_name if mode_zone else None)


def without_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object as compared across clusters: what the API server sets on its own dropped."""
    copy = json.loads(json.dumps(obj))
    meta = copy.get("metadata", {})
    for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                "selfLink", "ownerReferences"):
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    annotations.pop("pulumi.com/autonamed", None)
    if not annotations:
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    copy.pop("status", None)
    return dict(copy)


def chart_present() -> str | None:
    if not (KUMA_CHART / "Chart.yaml").is_file():
        return f"the kuma chart is not in {KUMA_CHART} (../shared/upstream absent)"
    return None


def read_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]
