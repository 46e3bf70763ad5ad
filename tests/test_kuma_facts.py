"""Each Kuma fact kept in one place (issue 24) holds on every one of its users: which mesh an
object belongs to (rules/kuma_mesh.py) for the export's Kubernetes path, the objects the global
receives and the federation check; which GlobalSecrets kumactl applies last
(rules/signing_keys.py); the zone-sync port (rules/chart_names.py) for the config and the chart."""

from __future__ import annotations

from typing import Any

import pytest

from components.export import kube_order
from components.resources import exported_resources
from components.resources.federation_check import expected_policies
from components.rules import kuma_mesh
from components.rules.chart_names import zone_sync_port
from components.rules.products import KDS_PORT, PRODUCTS
from components.rules.signing_keys import applied_last


def policy(mesh_label: str | None = None, top_level: str | None = None,
           kind: str = "MeshTimeout") -> dict[str, Any]:
    labels = {"kuma.io/mesh": mesh_label} if mesh_label is not None else {}
    document: dict[str, Any] = {"apiVersion": "kuma.io/v1alpha1", "kind": kind,
                                "metadata": {"name": "p", "namespace": "kuma-system",
                                             "labels": labels}, "spec": {}}
    if top_level is not None:
        document["mesh"] = top_level
    return document


def mesh_secret(mesh_label: str | None) -> dict[str, Any]:
    labels = {"kuma.io/mesh": mesh_label} if mesh_label is not None else {}
    return {"apiVersion": "v1", "kind": "Secret", "type": "system.kuma.io/secret",
            "metadata": {"name": "s", "namespace": "kuma-system", "labels": labels},
            "data": {"value": "eA=="}}


# (object, its kind as the export names it, its mesh as Kuma v2.14.3 reads it).
CASES = [
    (policy("payments"), "MeshTimeout", "payments"),
    # Generated GetMesh: no label, mesh "default".
    (policy(), "MeshTimeout", "default"),
    # An older kind: `mesh` beside spec, the label the webhook writes agreeing with it.
    (policy("payments", top_level="payments", kind="TrafficPermission"), "TrafficPermission",
     "payments"),
    (policy(top_level="orders", kind="TrafficPermission"), "TrafficPermission", "orders"),
    # KubernetesMetaAdapter.GetMesh: the label, else "default".
    (mesh_secret("payments"), "Secret", "payments"),
    (mesh_secret(None), "Secret", "default"),
]


@pytest.mark.parametrize(("document", "kind", "mesh"), CASES)
def test_the_mesh_of_an_object_is_the_same_for_every_user(
        document: dict[str, Any], kind: str, mesh: str) -> None:
    assert kuma_mesh.mesh_of(document) == mesh
    assert exported_resources.mesh_of(document) == mesh
    if document["apiVersion"].startswith("kuma.io/"):
        assert expected_policies([document]) == [{"type": kind, "mesh": mesh, "name": "p"}]
        assert kube_order.mesh_of(document, kind) == mesh


def test_a_secret_without_its_mesh_label_is_in_no_meshs_list() -> None:
    """Its mesh is "default", but a mesh's list of Secrets is a label selector
    (pkg/plugins/secrets/k8s/store.go List), and kumactl lists per mesh: it is not exported."""
    unlabelled, labelled = mesh_secret(None), mesh_secret("default")
    assert kuma_mesh.secret_listed_in(unlabelled) is None
    grouped = kube_order.by_mesh([unlabelled, labelled], "Secret", ["default"])
    assert grouped == {"default": [labelled]}


def test_global_scoped_objects_have_no_mesh() -> None:
    mesh = {"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": "default"}}
    global_secret = {**mesh_secret(None), "type": "system.kuma.io/global-secret"}
    assert exported_resources.mesh_of(mesh) is None
    assert exported_resources.mesh_of(global_secret) is None
    assert kube_order.mesh_of(mesh, "Mesh") == ""
    assert kube_order.mesh_of(global_secret, "GlobalSecret") == ""


@pytest.mark.parametrize(("name", "last"), [
    ("user-token-signing-key-1", True),
    # kumactl moves the user-token keys only (app/kumactl/cmd/export/export.go).
    ("zone-token-signing-key-1", False),
    ("admin-user-token", False),
    ("inter-cp-ca", False),
])
def test_kumactl_applies_the_user_token_signing_keys_last(name: str, last: bool) -> None:
    assert applied_last(name) is last


@pytest.mark.parametrize(("port", "dialled"), [
    (None, KDS_PORT), (6000, 6000), ("6000", 6000),
    # Refused by config validation, which reads the port meanwhile: the default, no crash.
    ("http", KDS_PORT), (70000, KDS_PORT), (0, KDS_PORT),
])
def test_the_zone_sync_port(port: Any, dialled: int) -> None:
    service = {} if port is None else {"port": port}
    values = {"controlPlane": {"globalZoneSyncService": service}}  # Kuma's chart: no prefix
    assert zone_sync_port(PRODUCTS["kuma"], values) == dialled
