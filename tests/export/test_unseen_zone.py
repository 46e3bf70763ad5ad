"""A zone API the exporter has never seen, exported with every profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from fake_zone import FakeZone, Obj, k8s_object, names
from zone_data import (
    PAGED_POLICIES,
    UNKNOWN_TYPE,
    federation_with_policies_order,
    zone_objects,
)

from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.export import ExportOptions, ExportResult, export_zone, to_yaml


@pytest.fixture
def zone(resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]) -> FakeZone:
    return zone_factory([*resource_types, UNKNOWN_TYPE], zone_objects(), token="zone-token")


def run(zone: FakeZone, **options: Any) -> ExportResult:
    with KumaApiClient(ApiTarget(zone.base_url, token="zone-token", retries=0)) as client:
        return export_zone(client, ExportOptions(**options))


def by_name(result: ExportResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in result.documents}


def test_federation_with_policies_exact(zone: FakeZone, validate_crds: Callable[[Any], int]) -> None:
    result = run(zone)
    assert names(result.documents) == federation_with_policies_order()
    assert validate_crds(result.documents) == 3 + 1 + PAGED_POLICIES + 2
    docs = by_name(result)

    default = docs[("Mesh", "default")]["spec"]
    assert default["mtls"] == {
        "enabledBackend": "ca-1",
        "backends": [
            {
                "name": "ca-1",
                "type": "provided",
                "dpCert": {"rotation": {"expiration": "1d"}},
                "conf": {
                    "cert": {"secret": "default.ca-builtin-cert-ca-1"},
                    "key": {"secret": "default.ca-builtin-key-ca-1"},
                },
            }
        ],
        "skipValidation": True,
    }
    assert default["networking"] == {"outbound": {"passthrough": False}}
    assert default["skipCreatingInitialPolicies"] == ["*"]
    payments = docs[("Mesh", "payments")]["spec"]
    assert payments["mtls"]["backends"][0]["conf"]["cert"] == {"secret": "payments-ca-cert"}
    assert "skipValidation" not in payments["mtls"]
    assert docs[("Mesh", "legacy")]["spec"] == {"skipCreatingInitialPolicies": ["*"]}

    for doc in result.documents:
        meta = doc["metadata"]
        for server_field in ("resourceVersion", "ownerReferences", "uid", "generation", "managedFields"):
            assert server_field not in meta
        assert "kuma.io/origin" not in meta.get("labels", {})
        assert "kuma.io/origin" not in meta.get("annotations", {})
        assert meta.get("namespace", "kuma-system") == "kuma-system"
    mtp = docs[("MeshTrafficPermission", "allow-all")]["metadata"]
    assert mtp["labels"] == {"kuma.io/mesh": "payments", "kuma.io/zone": "zone-1"}
    assert mtp["annotations"] == {"note": "kept"}

    assert dict(result.dataplanes) == {"default": 3, "legacy": 0, "payments": 2}
    assert any("MeshFooBar" in w for w in result.warnings)
    assert result.requests == len(zone.requests)
    # Every page was read, from our own base URL, never from `next`'s host.
    assert any("meshes/default/meshtimeouts?" in p and "offset=1000" in p for p in zone.requests)
    assert all(p.startswith("/") for p in zone.requests)
    # Never fetched: CAs that must stay in the zone, dataplanes, unknown types.
    assert not any("envoy-admin-ca" in p or "inter-cp-ca" in p for p in zone.requests)
    assert not any("/dataplanes/" in p or "meshfoobars" in p for p in zone.requests)


def test_output_is_yaml_of_the_documents(zone: FakeZone) -> None:
    result = run(zone)
    text = to_yaml(result.documents)
    assert list(yaml.safe_load_all(text)) == list(result.documents)
    assert text.count("\n---\n") == len(result.documents) - 1


def test_strip_zone_label(zone: FakeZone) -> None:
    result = run(zone, strip_zone_label=True)
    mtp = by_name(result)[("MeshTrafficPermission", "allow-all")]["metadata"]
    assert mtp["labels"] == {"kuma.io/mesh": "payments"}


def test_federation_profile_drops_targetref_policies_and_gateways(
    zone: FakeZone, validate_crds: Callable[[Any], int]
) -> None:
    result = run(zone, profile="federation")
    kinds = {d["kind"] for d in result.documents}
    assert kinds == {"Mesh", "Secret", "TrafficPermission"}
    validate_crds(result.documents)


def test_no_dataplanes_profile(zone: FakeZone, validate_crds: Callable[[Any], int]) -> None:
    result = run(zone, profile="no-dataplanes")
    kinds = {d["kind"] for d in result.documents}
    assert "Dataplane" not in kinds and "Secret" not in kinds
    assert "MeshService" in kinds
    # The namespace filter applies to every profile but `all`.
    assert ("MeshRetry", "team-retry") not in by_name(result)
    validate_crds(result.documents)


def test_profile_all_keeps_everything_but_zone_only_cas(
    zone: FakeZone, validate_crds: Callable[[Any], int]
) -> None:
    result = run(zone, profile="all", include_admin=True)
    docs = by_name(result)
    assert ("MeshRetry", "team-retry") in docs
    assert docs[("MeshRetry", "team-retry")]["metadata"]["namespace"] == "team-a"
    assert ("Dataplane", "default-dp-0") in docs
    assert ("Secret", "envoy-admin-ca") not in docs and ("Secret", "inter-cp-ca") not in docs
    # Profile all keeps the origin label, as kumactl does.
    assert docs[("MeshTrafficPermission", "allow-all")]["metadata"]["labels"]["kuma.io/origin"] == "zone"
    assert names(result.documents)[-2:] == [
        ("Secret", "user-token-signing-key-1"),
        ("Secret", "user-token-signing-key-2"),
    ]
    assert dict(result.dataplanes) == {"default": 3, "legacy": 0, "payments": 2}
    validate_crds(result.documents)


def test_target_namespace_differs(zone: FakeZone) -> None:
    """A global with another system namespace: the zone's own system-namespace objects move
    there; a policy in a workload namespace (team-a) stays out, as kumactl leaves it out. The
    zone is never asked for `namespace=`: its mapper would put every object there."""
    result = run(zone, target_namespace="kong-mesh-system")
    assert not any("namespace=" in p for p in zone.requests)
    for doc in result.documents:
        assert doc["metadata"].get("namespace", "kong-mesh-system") == "kong-mesh-system"
    assert names(result.documents) == federation_with_policies_order()
    assert ("MeshRetry", "team-retry") not in names(result.documents)
    assert any("outside the zone's system namespace kuma-system are not exported" in w
               and "MeshRetry team-a/team-retry" in w for w in result.warnings)


def test_secret_source_replaces_the_api(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]
) -> None:
    objects = zone_objects()

    def refuse_secrets(handler: Any, path: str, query: Any) -> bool:
        if "secrets" in path:
            FakeZone._send(handler, 403, {"title": "Access Denied", "details": "anonymous"})
            return True
        return False

    zone = zone_factory([*resource_types, UNKNOWN_TYPE], objects, fault=refuse_secrets)
    calls: list[str] = []

    def source(kind: str) -> list[dict[str, Any]]:
        calls.append(kind)
        return [o.k8s for o in reversed(objects) if o.type == kind]

    with KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client:
        result = export_zone(client, ExportOptions(secret_source=source))
    assert sorted(calls) == ["GlobalSecret", "Secret"]
    assert names(result.documents) == federation_with_policies_order()
    assert not any("secrets" in p for p in zone.requests)


def test_concurrency_does_not_change_output(zone: FakeZone) -> None:
    first = run(zone, concurrency=1)
    second = run(zone, concurrency=32)
    assert first.documents == second.documents
    assert first.requests == second.requests


def test_missing_builtin_ca_secret_is_reported(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]
) -> None:
    objects = [o for o in zone_objects() if o.name != "default.ca-builtin-key-ca-1"]
    zone = zone_factory(resource_types, objects, token="zone-token")
    result = run(zone)
    assert any("default.ca-builtin-key-ca-1" in w for w in result.warnings)


def test_discover(zone: FakeZone) -> None:
    info = run(zone).control_plane
    assert (info.product, info.version, info.mode, info.environment) == (
        "Kuma", "2.14.3", "zone", "kubernetes",
    )  # fmt: skip
    assert (info.zone_name, info.global_address, info.system_namespace) == (
        "zone-1", None, "kuma-system",
    )  # fmt: skip


def test_counts_by_kind(zone: FakeZone) -> None:
    from components.export import counts_by_kind

    counts = counts_by_kind(run(zone).documents)
    assert counts == {
        "Mesh": 3, "Secret": 7, "MeshGateway": 1, "MeshTimeout": PAGED_POLICIES,
        "MeshTrafficPermission": 1, "TrafficPermission": 1,
    }  # fmt: skip


def test_kong_mesh_rbac_types_follow_the_zones_federation_flags(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]
) -> None:
    """Kong Mesh's RBAC types are known: exported where /_resources includes them in federation,
    left out (and not reported as unknown) where it does not."""
    rbac = [
        {"name": "AccessRole", "path": "accessroles", "scope": "Global", "readOnly": False,
         "includeInFederation": True},
        {"name": "AccessAudit", "path": "accessaudits", "scope": "Global", "readOnly": False,
         "includeInFederation": False},
    ]
    objects = [
        *zone_objects(),
        Obj("AccessRole", "admin", None, k8s_object("AccessRole", "admin", namespace=None,
                                                      spec={"rules": [{"types": ["*"]}]})),
        Obj("AccessAudit", "audit", None, k8s_object("AccessAudit", "audit", namespace=None,
                                                       spec={"rules": [{"types": ["*"]}]})),
    ]
    zone = zone_factory([*resource_types, *rbac], objects, token="zone-token")
    result = run(zone)
    exported = names(result.documents)
    assert ("AccessRole", "admin") in exported
    assert ("AccessAudit", "audit") not in exported
    assert not any("unknown" in w for w in result.warnings)
