"""A re-run against a zone already federated exports the set the first run did.

Once federated, the zone also holds what the global synced into it. Built from Kuma v2.14.3:
the global's KDS mappers (pkg/kds/context/context.go) label it `kuma.io/origin: global` and
rename it (policies to pkg/kds/hash HashedName, zone token signing keys to their public key);
Meshes, Secrets and GlobalSecrets keep their names (SkipKDSHash) and replace the zone's own;
a Kubernetes zone stores the display name as an annotation
(pkg/plugins/resources/k8s/store.go SplitLabelsAndAnnotations) in its system namespace.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fake_zone import FakeZone, Obj, k8s_object

from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.export import ExportOptions, ExportResult, export_zone
from components.rules.merge import object_key
from components.rules.preflight import preflight
from tests import factories

Loader = Callable[[str, str], dict[str, Any]]
# k8s.io/apimachinery/pkg/util/rand SafeEncodeString's alphabet.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
THIS_GLOBAL = "grpcs://host.minikube.internal:5685"   # factories.config()'s kdsAddress


def hashed_name(mesh: str, name: str, *values: str) -> str:
    """pkg/kds/hash/hash.go HashedName: FNV-64a of mesh, name and values, hex, safe-encoded."""
    digest = 0xCBF29CE484222325
    for byte in "".join((mesh, name, *values)).encode():
        digest = ((digest ^ byte) * 0x100000001B3) % 2**64
    encoded = "".join(_SAFE[ord(c) % len(_SAFE)] for c in digest.to_bytes(8, "big").hex())
    return f"{name}-{encoded}"


def test_hashed_name_matches_kumas_own_sync_vector() -> None:
    # pkg/kds/context/testdata/full_sync/policy-simple/zone-1.golden.yaml (v2.14.3): the global's
    # MeshTimeout default-timeout-global as zone-1 stores it.
    assert hashed_name("default", "default-timeout-global") == "default-timeout-global-54dbd4c66zwbcf9c"


def _as_synced_to_zone(obj: Obj, system_namespace: str) -> Obj:
    """The global's copy of `obj` as a Kubernetes zone stores it after KDS sync."""
    k8s = copy.deepcopy(obj.k8s)
    meta = k8s["metadata"]
    display = meta["name"]
    labels = {**meta.get("labels", {}), "kuma.io/origin": "global"}
    name = hashed_name(obj.mesh or "", display,
                       *[labels[key] for key in ("kuma.io/zone", "k8s.kuma.io/namespace") if key in labels])
    meta.update(name=name, labels=labels,
                annotations={**meta.get("annotations", {}), "kuma.io/display-name": display})
    if "namespace" in meta:   # a namespaced type: kept in the zone's system namespace
        meta["namespace"] = system_namespace
    return Obj(obj.type, name, obj.mesh, k8s)


def _standalone(kube_input: Loader) -> list[Obj]:
    return [
        Obj("Mesh", "default", None, kube_input("Mesh", "default"), {"type": "Mesh", "name": "default"}),
        Obj("GlobalSecret", "user-token-signing-key-1", None,
            kube_input("GlobalSecret", "user-token-signing-key-1")),
        Obj("MeshAccessLog", "mal-1", "default", kube_input("MeshAccessLog", "mal-1")),
        Obj("Retry", "retry-all-default", "default", kube_input("Retry", "retry-all-default")),
    ]


def _federated(kube_input: Loader) -> list[Obj]:
    own = _standalone(kube_input)
    mesh = copy.deepcopy(own[0])
    # The global's Mesh replaced the zone's, same name, labelled as the global's.
    mesh.k8s["metadata"].setdefault("labels", {})["kuma.io/origin"] = "global"
    policies = [obj for obj in own if obj.mesh is not None]
    # pkg/kds/context/context.go MapZoneTokenSigningKeyGlobalToPublicKey: the global's zone token
    # signing key arrives renamed, its display name kept.
    public_key = k8s_object(
        "Secret", "zone-token-signing-public-key-1", api_version="v1",
        labels={"kuma.io/origin": "global"},
        annotations={"kuma.io/display-name": "zone-token-signing-key-1"},
        extra={"type": "system.kuma.io/global-secret", "data": {"value": "cHVibGlj"}})
    return [mesh, *own[1:], *[_as_synced_to_zone(p, "kuma-system") for p in policies],
            Obj("GlobalSecret", "zone-token-signing-public-key-1", None, public_key)]


def _export(zone: FakeZone) -> ExportResult:
    with KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client:
        return export_zone(client, ExportOptions(profile="federation-with-policies",
                                                 target_namespace="kong-mesh-system"))


def _registered(result: ExportResult) -> list[Any]:
    cfg = factories.config()
    checked = preflight(cfg, 0, cfg.zones[0], result.control_plane, result.documents)
    return sorted(map(object_key, checked.documents), key=str)


def test_a_rerun_against_the_federated_zone_registers_the_first_runs_set(
    resource_types: list[dict[str, Any]],
    kube_input: Loader,
    zone_factory: Callable[..., FakeZone],
) -> None:
    first = _export(zone_factory(resource_types, _standalone(kube_input), zone_name=None))
    again = _export(zone_factory(resource_types, _federated(kube_input), global_address=THIS_GLOBAL))

    assert _registered(again) == _registered(first)
    # mal-1 is named `default` in its vector; Retry is cluster-scoped.
    assert sorted(again.from_global) == sorted([
        f"MeshAccessLog kuma-system/{hashed_name('default', 'default')}",
        f"Retry {hashed_name('default', 'retry-all-default')}",
        "GlobalSecret kuma-system/zone-token-signing-public-key-1",
    ])
    assert any("not exported" in w and "zone-token-signing-public-key-1" in w for w in again.warnings)


def test_the_zones_own_objects_with_a_display_name_are_exported(
    resource_types: list[dict[str, Any]],
    kube_input: Loader,
    zone_factory: Callable[..., FakeZone],
) -> None:
    # Kuma adds the display-name annotation to the zone's own objects too (equal to the name),
    # and its own objects carry kuma.io/origin: zone: neither is a copy from the global.
    own = _standalone(kube_input)
    for obj in own:
        obj.k8s["metadata"].setdefault("annotations", {})["kuma.io/display-name"] = obj.name
    result = _export(zone_factory(resource_types, own, global_address=THIS_GLOBAL))
    assert not result.from_global
    assert len(result.documents) == len(own)
