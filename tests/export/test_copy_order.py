"""The copies are created in kumactl's order, read from the dependencies Pulumi registers.

kumactl's output (app/kumactl/cmd/export/export.go) puts each Mesh first, then mesh-scoped
objects, then user token signing keys; `kubectl apply -f` applies it in that order. Kuma's
owner-reference webhook (pkg/plugins/runtime/k8s/webhooks/owner_reference_mutator.go) looks each
mesh-scoped object's Mesh up and answers 400 while it is missing, so the order must hold here
too, where Pulumi would otherwise create every copy at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fake_zone import FakeZone, Obj

from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.config import FederationConfig, ZoneConfig
from components.export import ExportOptions, ExportResult, export_zone
from components.program import build
from components.resources.exported_resources import mesh_of, resource_name
from components.rules.merge import object_key
from components.rules.signing_keys import travels_with_signing_keys
from tests import factories
from tests.pulumi_harness import run_program

Loader = Callable[[str, str], dict[str, Any]]
RELEASE = "kubernetes:helm.sh/v3:Release"


def _zone_objects(kube_input: Loader) -> list[Obj]:
    mtls_mesh = {"type": "Mesh", "name": "mesh-with-mtls",
                 "mtls": {"backends": [{"name": "ca-1", "type": "builtin"}]}}
    return [
        Obj("Mesh", "default", None, kube_input("Mesh", "default"), {"type": "Mesh", "name": "default"}),
        Obj("Mesh", "mesh-with-mtls", None, kube_input("Mesh", "mesh-with-mtls"), mtls_mesh),
        *[Obj("Secret", f"mesh-with-mtls.ca-builtin-{part}-ca-1", "mesh-with-mtls",
              kube_input("Secret", f"mesh-with-mtls.ca-builtin-{part}-ca-1")) for part in ("cert", "key")],
        Obj("GlobalSecret", "user-token-signing-key-1", None,
            kube_input("GlobalSecret", "user-token-signing-key-1")),
        Obj("MeshAccessLog", "mal-1", "default", kube_input("MeshAccessLog", "mal-1")),
        Obj("Retry", "retry-all-default", "default", kube_input("Retry", "retry-all-default")),
    ]


def test_meshes_then_their_secrets_then_their_policies_then_the_signing_keys(
    resource_types: list[dict[str, Any]],
    kube_input: Loader,
    zone_factory: Callable[..., FakeZone],
) -> None:
    cfg = factories.config()
    zone = zone_factory(resource_types, _zone_objects(kube_input))
    with KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client:
        exported = export_zone(client, ExportOptions(profile="federation-with-policies",
                                                     target_namespace=cfg.namespace))

    def exporter(cfg_: FederationConfig, zone_: ZoneConfig, index: int) -> ExportResult:
        return exported

    monitor = run_program(lambda: build(cfg, exporter).global_.kds_url, preview=False)
    release = monitor.one(RELEASE, "global").urn
    documents = list(exported.documents)
    urn = {resource_name(object_key(d)): r.urn for d in documents
           for r in monitor.registrations if r.name == resource_name(object_key(d))}
    deps = {r.urn: set(r.dependencies) for r in monitor.registrations}
    name = {id(d): resource_name(object_key(d)) for d in documents}
    meshes = {d["metadata"]["name"]: urn[name[id(d)]] for d in documents if d["kind"] == "Mesh"}
    secrets: dict[str, set[str]] = {}
    for d in documents:
        if d["kind"] == "Secret" and mesh_of(d) is not None:
            secrets.setdefault(str(mesh_of(d)), set()).add(urn[name[id(d)]])
    assert set(meshes) == {"default", "mesh-with-mtls"} and set(secrets) == {"mesh-with-mtls"}

    checked = 0
    for d in documents:
        mine = deps[urn[name[id(d)]]]
        mesh = mesh_of(d)
        if travels_with_signing_keys(d):
            # Last: after every other copy.
            assert set(urn.values()) - {urn[name[id(d)]]} <= mine
        elif d["kind"] == "Mesh" or mesh is None:
            assert mine == {release}
        elif d["kind"] == "Secret":
            assert mine == {release, meshes[mesh]}
        else:
            # Its Mesh and that Mesh's Secrets, nothing more: O(1) per policy whatever the export.
            assert mine == {release, meshes[mesh], *secrets.get(mesh, set())}
        checked += 1
    assert checked == len(documents) == 7


def test_mesh_scope_is_kumas(resource_types: list[dict[str, Any]], kube_input: Loader) -> None:
    """mesh_of agrees with GET /_resources on every type a federation export carries."""
    for rtype in resource_types:
        if not rtype["includeInFederation"] or rtype["name"] in ("Secret", "GlobalSecret"):
            continue
        document = {"apiVersion": "kuma.io/v1alpha1", "kind": rtype["name"],
                    "metadata": {"name": "x", "labels": {"kuma.io/mesh": "m"}}}
        assert mesh_of(document) == ("m" if rtype["scope"] == "Mesh" else None), rtype["name"]
    assert mesh_of(kube_input("Secret", "mesh-with-mtls.ca-builtin-cert-ca-1")) == "mesh-with-mtls"
    assert mesh_of(kube_input("GlobalSecret", "user-token-signing-key-1")) is None
    # An old-style policy names its mesh at the top level, as the Retry vector does.
    assert mesh_of(kube_input("Retry", "retry-all-default")) == "default"
