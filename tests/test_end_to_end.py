"""The whole program, under the mock engine, against a zone control plane API on 127.0.0.1.

The real exporter reads the loopback zone (meshes, secrets, a few hundred policies over several
pages); the assertions read what was registered.
"""

from __future__ import annotations

import base64
import json

import pytest

from components.config import parse_config
from components.program import build
from components.stack_outputs import outputs
from tests.export.fake_kube_api import FakeKubeApi
from tests.export.fake_zone import FakeZone, Obj, k8s_object, load_types
from tests.pulumi_harness import UNKNOWN, monitor_of, run_program
from tests.upstream import upstream_path

TOKEN = "zone-admin-token-value"
SECRET_VALUE = base64.b64encode(b"tls-key-material-do-not-leak").decode()
POLICIES_PER_MESH = 150
MESHES = ("default", "payments")
NS = "kong-mesh-system"


def zone_objects() -> list[Obj]:
    objects = [Obj("Mesh", m, None, k8s_object("Mesh", m, namespace=None, spec={})) for m in MESHES]
    for mesh in MESHES:
        objects.append(Obj("Secret", f"{mesh}-db-password", mesh, k8s_object(
            "Secret", f"{mesh}-db-password", api_version="v1", mesh=mesh, namespace=NS,
            extra={"type": "system.kuma.io/secret", "data": {"value": SECRET_VALUE}})))
        for i in range(POLICIES_PER_MESH):
            objects.append(Obj("MeshTimeout", f"{mesh}-timeout-{i:03d}", mesh, k8s_object(
                "MeshTimeout", f"{mesh}-timeout-{i:03d}", mesh=mesh, namespace=NS,
                spec={"targetRef": {"kind": "Mesh"}, "to": [{"targetRef": {"kind": "Mesh"},
                      "default": {"idleTimeout": "20s"}}]})))
        dataplane = k8s_object("Dataplane", f"{mesh}-dp", mesh=mesh, namespace=NS)
        objects.append(Obj("Dataplane", f"{mesh}-dp", mesh, dataplane))
    objects.append(Obj("GlobalSecret", "user-token-signing-key-1", None, k8s_object(
        "Secret", "user-token-signing-key-1", api_version="v1", namespace=NS,
        extra={"type": "system.kuma.io/global-secret", "data": {"value": SECRET_VALUE}})))
    return objects


def serve_zone(token: str | None) -> FakeZone:
    types = load_types(str(upstream_path("api/_resources.json")))
    return FakeZone(types, zone_objects(), system_namespace=NS, product="Kong Mesh", token=token)


@pytest.fixture
def zone():
    with serve_zone(TOKEN) as server:
        yield server


@pytest.fixture
def anonymous_zone():
    """Reached through the service proxy, Kuma sees no token: reads are open to anonymous."""
    with serve_zone(None) as server:
        yield server


def stack_config(zone_url: str, kds_address: str | None):
    global_cfg = {"kubeContext": "mesh-global"}
    if kds_address:
        global_cfg["kdsAddress"] = kds_address
    # Without a known KDS address no certificate can name it ahead of time: skipVerify here.
    tls = {} if kds_address else {"kdsTls": {"mode": "skipVerify"}}
    return parse_config({**tls, "global": global_cfg, "zones": [
        {"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": zone_url, "apiToken": TOKEN}]})


def run(zone_url: str, *, preview: bool, kds_address: str | None = "kds.example.com"):
    cfg = stack_config(zone_url, kds_address)
    def program():
        federation = build(cfg)
        return outputs(cfg, federation)["kdsUrl"]
    return run_program(program, preview=preview)


@pytest.mark.parametrize("preview", [True, False])
def test_a_zone_with_hundreds_of_policies_federates_in_one_program(zone, preview):
    monitor = run(zone.base_url, preview=preview)

    releases = [r for r in monitor.registrations if r.type == "kubernetes:helm.sh/v3:Release"]
    assert [r.name for r in releases] == ["global-release"]
    assert releases[0].inputs["values"]["kuma"]["controlPlane"]["mode"] == "global"

    global_provider = next(r for r in monitor.registrations
                           if r.type == "pulumi:providers:kubernetes" and r.name == "global")
    exported = [r for r in monitor.registrations if r.parent.endswith("exported")]
    kinds = [r.type.rsplit(":", 1)[1] for r in exported]
    assert kinds.count("MeshTimeout") == POLICIES_PER_MESH * len(MESHES)
    assert kinds.count("Mesh") == len(MESHES)
    assert kinds.count("Secret") == len(MESHES) + 1  # mesh secrets and the signing key
    assert "Dataplane" not in kinds
    for registration in exported:
        assert registration.provider.startswith(global_provider.urn + "::")
        if registration.type == "kubernetes:core/v1:Secret":
            assert "data" in registration.secret_paths()
        assert SECRET_VALUE not in registration.plaintext()
        assert registration.inputs["metadata"].get("namespace", "kong-mesh-system") == "kong-mesh-system"

    upgrade = next(r for r in monitor.registrations if r.name == "zone-zone-1-upgrade")
    assert releases[0].urn in upgrade.dependencies
    assert {r.urn for r in exported} <= set(upgrade.dependencies)
    if not preview:
        values = json.loads(upgrade.inputs["stdin"])
        assert values["kuma"]["controlPlane"]["kdsGlobalAddress"] == "grpcs://kds.example.com:5685"

    check = next(r for r in monitor.registrations if r.name == "check-zone-1-run")
    assert "stdin" in check.secret_paths()
    for registration in monitor.registrations:
        assert TOKEN not in registration.plaintext(), registration.name


def test_preview_without_kds_address_succeeds(zone):
    monitor = run(zone.base_url, preview=True, kds_address=None)
    upgrade = next(r for r in monitor.registrations if r.name == "zone-zone-1-upgrade")
    assert upgrade.inputs["stdin"] == UNKNOWN
    exported = [r for r in monitor.registrations if r.parent.endswith("exported")]
    assert len(exported) == POLICIES_PER_MESH * len(MESHES) + len(MESHES) * 2 + 1


def test_a_failing_export_registers_nothing(zone):
    cfg = stack_config(zone.base_url, "kds.example.com")
    wrong = parse_config({"global": {"kubeContext": "g", "kdsAddress": "kds"}, "zones": [
        {"name": "zone-1", "kubeContext": "z", "apiUrl": cfg.zones[0].api_url, "apiToken": "wrong"}]})
    with pytest.raises(Exception) as error:
        run_program(lambda: build(wrong), preview=True)
    assert "zones[0].api.token" in str(error.value)
    assert monitor_of(error.value).registrations == []


def test_without_api_url_the_zone_is_read_through_its_kubernetes_api(anonymous_zone, tmp_path):
    """The default path: no port-forward, no token: the objects are listed in the zone's
    Kubernetes API (one LIST per kind), Kuma's Secrets there by type, and the zone API is asked
    through the API server's service proxy only for what the control plane knows."""
    with FakeKubeApi(anonymous_zone) as api:
        cfg = parse_config({
            "kubeconfig": api.kubeconfig(tmp_path / "kubeconfig"),
            "global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com"},
            "zones": [{"name": "zone-1", "kubeContext": "mesh-zone"}]})
        monitor = run_program(lambda: build(cfg).global_.kds_url, preview=True)
    exported = [r for r in monitor.registrations if r.parent.endswith("exported")]
    kinds = [r.type.rsplit(":", 1)[1] for r in exported]
    assert kinds.count("MeshTimeout") == POLICIES_PER_MESH * len(MESHES)
    secret_names = sorted(r.inputs["metadata"]["name"] for r in exported
                          if r.type == "kubernetes:core/v1:Secret")
    assert secret_names == ["default-db-password", "payments-db-password", "user-token-signing-key-1"]
    assert not [r for r in anonymous_zone.requests if "format=k8s" in r]
    assert [r for r in api.requests if r.startswith("/apis/kuma.io/v1alpha1/meshtimeouts")]
    assert [r for r in api.requests if r.startswith(f"/api/v1/namespaces/{NS}/secrets")]


def test_an_unreachable_zone_api_names_the_address_and_the_port_forward():
    cfg = parse_config({"global": {"kubeContext": "g", "kdsAddress": "kds"}, "zones": [
        {"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:9", "apiToken": "t"}]})
    with pytest.raises(Exception) as error:
        run_program(lambda: build(cfg), preview=True)
    message = str(error.value)
    assert "http://127.0.0.1:9" in message
    assert ("kubectl --context mesh-zone port-forward -n kong-mesh-system "
            "svc/kong-mesh-control-plane") in message
    assert "zones[0].api.url" in message
    assert monitor_of(error.value).registrations == []
