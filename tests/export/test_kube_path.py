"""The export through the zone's Kubernetes API gives the documents the zone API path gives.

One data set (the unseen zone of zone_data.py, plus the cases where the Kubernetes order or mesh
differs from the naive one) is served by the fake zone API and, as the same stored objects, by a
fake Kubernetes API server (fake_kube_api.py); both paths are exported and compared document by
document, with their warnings, Dataplane counts and the objects left out as the global's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_zone import FakeZone, Obj, k8s_object
from zone_data import UNKNOWN_TYPE, zone_objects

from components.clients import cluster_access
from components.clients.errors import ApiError
from components.clients.kube_api import KubeApiClient
from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.export import ExportError, ExportOptions, ExportResult, export_zone, to_yaml
from tests.export.fake_kube_api import FakeKubeApi, decode_continue

NS = "kuma-system"
SERVICE = "kuma-control-plane"


def kuma_named(objs: list[Obj]) -> list[Obj]:
    """The zone API names a namespaced object `<name>.<namespace>` (Kuma's k8s store); Secrets
    keep their own names (pkg/plugins/secrets/k8s)."""
    out = []
    for obj in objs:
        ns = obj.k8s.get("metadata", {}).get("namespace")
        name = obj.k8s["metadata"]["name"]
        if ns and obj.type not in ("Secret", "GlobalSecret"):
            obj = Obj(obj.type, f"{name}.{ns}", obj.mesh, obj.k8s, obj.universal)
        out.append(obj)
    return out


def order_cases() -> list[Obj]:
    """Where the order or the mesh of a listed object is not the obvious one."""
    spec = {"targetRef": {"kind": "Mesh"}, "to": [{"targetRef": {"kind": "Mesh"},
                                                  "default": {"idleTimeout": "5s"}}]}
    objs = [
        # "a.kuma-system" sorts after "a-b.kuma-system" ('.' > '-'), although "a" < "a-b".
        Obj("MeshTimeout", "a", "payments", k8s_object("MeshTimeout", "a", mesh="payments", spec=spec)),
        Obj("MeshTimeout", "a-b", "payments",
            k8s_object("MeshTimeout", "a-b", mesh="payments", spec=spec)),
        # No kuma.io/mesh label: Kuma reads it as mesh "default" (generated GetMesh).
        Obj("MeshTimeout", "unlabelled", "default",
            k8s_object("MeshTimeout", "unlabelled", mesh=None, spec=spec)),
        # Synced from the global under a hashed name: left out on both paths.
        Obj("MeshTimeout", "from-global-5b8d7c4f9x2z6w4v", "default", k8s_object(
            "MeshTimeout", "from-global-5b8d7c4f9x2z6w4v", mesh="default", spec=spec,
            labels={"kuma.io/origin": "global"},
            annotations={"kuma.io/display-name": "from-global"})),
    ]
    return objs


def dataset() -> list[Obj]:
    return kuma_named([*zone_objects(), *order_cases()])


@pytest.fixture
def served(resource_types: list[dict[str, Any]],
           zone_factory: Callable[..., FakeZone]) -> Iterator[tuple[FakeZone, FakeKubeApi]]:
    # Anonymous reads, as Kuma allows them through the service proxy (no token reaches it).
    zone = zone_factory([*resource_types, UNKNOWN_TYPE], dataset())
    with FakeKubeApi(zone) as api:
        yield zone, api


def proxy_target(api: FakeKubeApi) -> ApiTarget:
    return ApiTarget(cluster_access.service_proxy_url(api.base_url, NS, SERVICE, 5681), retries=0,
                     headers={"Authorization": f"Bearer {api.token}"})


def kube_target(api: FakeKubeApi, authorization: str | None = None, **changes: Any) -> ApiTarget:
    target = ApiTarget(api.base_url, name="kube context 'mesh-zone'", verify=False,
                       headers={"Authorization": authorization or f"Bearer {api.token}"},
                       retries=2, backoff_factor=0)
    return replace(target, **changes)


def via_zone_api(zone: FakeZone, options: ExportOptions) -> ExportResult:
    with KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client:
        return export_zone(client, options)


def via_kube(api: FakeKubeApi, options: ExportOptions, **target: Any) -> ExportResult:
    with KumaApiClient(proxy_target(api)) as client, \
            KubeApiClient(kube_target(api, **target)) as kube_api:
        return export_zone(client, options, kube_api=kube_api)


@pytest.mark.parametrize("options", [
    ExportOptions(),
    ExportOptions(profile="federation"),
    ExportOptions(profile="all", include_admin=True),
    ExportOptions(profile="no-dataplanes", target_namespace="kong-mesh-system"),
], ids=["federation-with-policies", "federation", "all", "no-dataplanes-moved"])
def test_both_paths_give_the_same_documents(served: tuple[FakeZone, FakeKubeApi],
                                            options: ExportOptions) -> None:
    zone, api = served
    expected = via_zone_api(zone, options)
    # Pages of 100: the 1,504 MeshTimeouts take 16 pages, continued 15 times.
    got = via_kube(api, replace(options, kube_page_size=100))
    assert len(got.documents) == len(expected.documents) > 0
    for index, (mine, theirs) in enumerate(zip(got.documents, expected.documents, strict=True)):
        assert mine == theirs, f"document {index}"
    assert to_yaml(got.documents) == to_yaml(expected.documents)
    assert got.warnings == expected.warnings
    assert got.dataplanes == expected.dataplanes
    assert got.from_global == expected.from_global
    if options.profile != "federation":  # which exports no targetRef policy at all
        assert got.from_global == ("MeshTimeout kuma-system/from-global-5b8d7c4f9x2z6w4v",)
        continued = [r for r in api.requests if "continue=" in r]
        assert len(continued) == 15


def test_the_kube_path_reads_no_object_from_the_zone_api(
        served: tuple[FakeZone, FakeKubeApi]) -> None:
    zone, api = served
    result = via_kube(api, ExportOptions())
    # The zone API answers what only the control plane knows, and counts Dataplanes per mesh.
    item_reads = [r for r in zone.requests if "format=k8s" in r]
    assert item_reads == []
    assert sorted(p.split("?")[0] for p in zone.requests) == sorted(
        ["/", "/config", "/_resources", "/meshes"]
        + [f"/meshes/{m}/dataplanes" for m in ("default", "legacy", "payments")])
    # Kubernetes: one discovery, then one LIST per kind and page (1,504 MeshTimeouts: 4 pages).
    lists = [r.split("?")[0] for r in api.requests if r.startswith("/apis/kuma.io/v1alpha1/")]
    assert lists.count("/apis/kuma.io/v1alpha1/meshtimeouts") == 4
    assert len(set(lists)) == len(lists) - 3
    assert result.requests == len(zone.requests) + len(api.requests)


def test_an_expired_continue_token_restarts_the_list(served: tuple[FakeZone, FakeKubeApi]) -> None:
    zone, api = served
    expected = via_zone_api(zone, ExportOptions())
    api.expire_continues = 1
    got = via_kube(api, ExportOptions(kube_page_size=400))
    assert got.documents == expected.documents
    # The refused token's page was read again from the start, never from the 410's token.
    meshtimeouts = [r for r in api.requests if r.startswith("/apis/kuma.io/v1alpha1/meshtimeouts")]
    starts = [r for r in meshtimeouts if "continue=" not in r]
    assert len(starts) == 2
    assert not any(decode_continue(r.split("continue=")[1].split("&")[0])[0] == -1
                   for r in meshtimeouts if "continue=" in r)


def test_a_list_that_keeps_expiring_fails_saying_so(served: tuple[FakeZone, FakeKubeApi]) -> None:
    _zone, api = served
    api.expire_continues = 1000
    with pytest.raises(ApiError, match="continue token expired 4 times"):
        via_kube(api, ExportOptions(kube_page_size=400))


def test_429_waits_for_retry_after(served: tuple[FakeZone, FakeKubeApi]) -> None:
    zone, api = served
    expected = via_zone_api(zone, ExportOptions())
    api.throttle, api.retry_after = 1, "1"
    started = time.monotonic()
    got = via_kube(api, ExportOptions())
    assert time.monotonic() - started >= 1.0
    assert got.documents == expected.documents


def test_429_without_end_names_the_concurrency_key(served: tuple[FakeZone, FakeKubeApi]) -> None:
    _zone, api = served
    api.throttle, api.retry_after = 1000, "0"
    with pytest.raises(ApiError, match=r"HTTP 429.*exportConcurrency"):
        via_kube(api, ExportOptions())


@pytest.mark.parametrize(("denied", "named"), [
    (("list", "meshtimeouts"), 'cannot list resource "meshtimeouts" in API group "kuma.io" at '
                               "the cluster scope"),
    (("list", "secrets"), 'cannot list resource "secrets" in API group "" in the namespace '
                          '"kuma-system"'),
])
def test_a_missing_permission_names_verb_resource_and_the_cluster_role(
        served: tuple[FakeZone, FakeKubeApi], denied: tuple[str, str], named: str) -> None:
    _zone, api = served
    api.forbidden.add(denied)
    with pytest.raises(ApiError) as error:
        via_kube(api, ExportOptions())
    message = str(error.value)
    assert named in message and "HTTP 403" in message
    assert "mesh-federation-zone-export" in message and "kube context 'mesh-zone'" in message


def test_wrong_kube_credentials_say_which_context(served: tuple[FakeZone, FakeKubeApi]) -> None:
    _zone, api = served
    with pytest.raises(ApiError, match="refused the credentials of kube context 'mesh-zone'"):
        via_kube(api, ExportOptions(), authorization="Bearer expired")


def test_a_type_without_its_crd_is_refused_by_name(served: tuple[FakeZone, FakeKubeApi]) -> None:
    _zone, api = served
    api.names = {k: v for k, v in api.names.items() if k != "MeshTrafficPermission"}
    api.index()
    del api._kinds[next(p for p, k in api._kinds.items() if k[0] == "MeshTrafficPermission")]
    with pytest.raises(ExportError, match=r"no kuma\.io/v1alpha1 kind MeshTrafficPermission"):
        via_kube(api, ExportOptions())


def test_the_kube_target_comes_from_the_named_context(served: tuple[FakeZone, FakeKubeApi],
                                                      tmp_path: Path) -> None:
    zone, api = served
    config = api.kubeconfig(tmp_path / "kubeconfig")
    target = cluster_access.kube_target("mesh-zone", config)
    assert target.base_url == api.base_url and target.name == "kube context 'mesh-zone'"
    assert api.token not in repr(target)
    with KumaApiClient(proxy_target(api)) as client, KubeApiClient(target) as kube_api:
        got = export_zone(client, ExportOptions(), kube_api=kube_api)
    assert got.documents == via_zone_api(zone, ExportOptions()).documents
