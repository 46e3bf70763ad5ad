"""A zone as Kuma's quickstart leaves it, on a real API server: the `kuma` chart installed standalone
with the helm CLI (plus one value of the user's own), a demo mesh with mTLS, Secrets and a few
hundred policies applied with kubectl; and the zone's Kuma API, played by the loopback fake zone
(tests/export/fake_zone.py) serving exactly the objects read back from that API server, since no
kuma-cp runs here (tier 1).

The chart is the whole `kuma` chart at v2.14.3 in ../shared/upstream (the air-gapped path users
have: `chartRepository` set to a local chart directory).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from local_federation import kuma as steps
from local_federation.assets import KUMA_CHART, REPO_ROOT
from local_federation.kube import Kube
from local_federation.kuma import POLICY_KINDS, RELEASE, SYSTEM_NAMESPACE, USER_VALUE, secret
from tests.export.fake_zone import FakeZone, Obj, load_types
from tests.integration.clusters import Clusters

__all__ = ["KUMA_CHART", "POLICY_KINDS", "RELEASE", "SYSTEM_NAMESPACE", "USER_VALUE"]

UPSTREAM = REPO_ROOT.parent / "shared" / "upstream" / "kuma-v2.14.3"
RESOURCES_JSON = UPSTREAM / "api" / "_resources.json"


def install_standalone(clusters: Clusters, context: str) -> None:
    """`helm install` as the quickstart does: standalone, in kuma-system."""
    steps.install_standalone(Kube(clusters.kubeconfig, clusters.tools), context)


def demo_objects(zone: str, policies: int, *, mesh: str = "default") -> list[dict[str, Any]]:
    """What a zone holds after the quickstart and some use: a Mesh with builtin mTLS, the CA and
    token signing Secrets kuma-cp makes at start (made here, no kuma-cp runs), a user Secret, and
    `policies` targetRef policies in the system namespace (hence mesh-wide, exported)."""
    mesh_object, user_secret = steps.demo_mesh(zone, mesh)
    return [
        mesh_object,
        secret(f"{mesh}.ca-builtin-cert-ca-1", f"{zone} ca cert", mesh=mesh),
        secret(f"{mesh}.ca-builtin-key-ca-1", f"{zone} ca key", mesh=mesh),
        user_secret,
        secret("user-token-signing-key-1", f"{zone} user token signing key",
               mesh=None, kind="system.kuma.io/global-secret"),
        secret("admin-user-token", f"{zone}-admin-user-token-plaintext",
               mesh=None, kind="system.kuma.io/global-secret"),
        *steps.policies(policies, mesh=mesh),
    ]


def apply(clusters: Clusters, context: str, objects: Iterable[Mapping[str, Any]]) -> None:
    """`kubectl apply -f -`, as a user does (so objects carry kubectl's last-applied annotation)."""
    steps.apply(Kube(clusters.kubeconfig, clusters.tools), context, objects)


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
    # Set by the program on copied signing keys: the provider forces its server-side apply over the
    # keys the global's kuma-cp made at start (components/resources/exported_resources.py).
    annotations.pop("pulumi.com/patchForce", None)
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
