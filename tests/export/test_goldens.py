"""kumactl's own Kubernetes-format goldens, reproduced document for document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from fake_zone import FakeZone, Obj, k8s_object

from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.export import ExportOptions, export_zone, to_yaml

Loader = Callable[[str, str], dict[str, Any]]


def _mesh(kube_input: Loader, name: str) -> Obj:
    k8s = kube_input("Mesh", name)
    universal: dict[str, Any] = {"type": "Mesh", "name": name}
    if name == "mesh-with-mtls":
        # kumactl's test store holds this Mesh as built by
        # MeshDefaultBuilder().WithBuiltinMTLSBackend("ca-1"): backends only.
        universal["mtls"] = {"backends": [{"name": "ca-1", "type": "builtin"}]}
    return Obj("Mesh", name, None, k8s, universal)


def _common(kube_input: Loader) -> list[Obj]:
    return [
        _mesh(kube_input, "default"),
        Obj(
            "GlobalSecret",
            "user-token-signing-key-1",
            None,
            kube_input("GlobalSecret", "user-token-signing-key-1"),
        ),
        Obj("MeshAccessLog", "mal-1", "default", kube_input("MeshAccessLog", "mal-1")),
        Obj("Retry", "retry-all-default", "default", kube_input("Retry", "retry-all-default")),
        Obj(
            "MeshTimeout",
            "mt-in-namespace-kuma-test",
            "default",
            kube_input("MeshTimeout", "mt-in-namespace-kuma-test"),
        ),
    ]


def _export(zone: FakeZone, options: ExportOptions, validate: Callable[[Any], int]) -> str:
    with KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client:
        result = export_zone(client, options)
    assert validate(result.documents) > 0
    return to_yaml(result.documents)


def test_kube_federation_with_policies(
    resource_types: list[dict[str, Any]],
    kube_input: Loader,
    golden: Callable[[str], str],
    zone_factory: Callable[..., FakeZone],
    validate_crds: Callable[[Any], int],
) -> None:
    objects = [
        *_common(kube_input),
        Obj("Dataplane", "backend-1", "default", k8s_object("Dataplane", "backend-1", mesh="default")),
    ]
    zone = zone_factory(resource_types, objects)
    out = _export(zone, ExportOptions(profile="federation-with-policies"), validate_crds)
    expected = golden("export-kube-federation-with-policies.golden.yaml")
    assert list(yaml.safe_load_all(out)) == list(yaml.safe_load_all(expected))
    assert out == expected
    # Dataplanes are counted, never read one by one.
    assert not any("/dataplanes/" in path for path in zone.requests)


def test_kube_profile_all(
    resource_types: list[dict[str, Any]],
    kube_input: Loader,
    golden: Callable[[str], str],
    zone_factory: Callable[..., FakeZone],
    validate_crds: Callable[[Any], int],
) -> None:
    objects = [
        *_common(kube_input),
        _mesh(kube_input, "mesh-with-mtls"),
        Obj(
            "Secret",
            "mesh-with-mtls.ca-builtin-cert-ca-1",
            "mesh-with-mtls",
            kube_input("Secret", "mesh-with-mtls.ca-builtin-cert-ca-1"),
        ),
        Obj(
            "Secret",
            "mesh-with-mtls.ca-builtin-key-ca-1",
            "mesh-with-mtls",
            kube_input("Secret", "mesh-with-mtls.ca-builtin-key-ca-1"),
        ),
    ]
    zone = zone_factory(resource_types, objects)
    out = _export(zone, ExportOptions(profile="all", include_admin=True), validate_crds)
    expected = golden("export-kube.golden.yaml")
    assert list(yaml.safe_load_all(out)) == list(yaml.safe_load_all(expected))
    assert out == expected
