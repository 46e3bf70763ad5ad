"""Small builders for test input: stack configs and export results."""

from __future__ import annotations

import base64
from typing import Any

from components.clients.kuma_api import ApiTarget
from components.config import FederationConfig, parse_config
from components.export.model import ControlPlaneInfo, ExportResult

SECRET_PLAINTEXT = "very-secret-signing-key-material"


def config(**overrides: Any) -> FederationConfig:
    raw: dict[str, Any] = {
        # The chart the upstream reference data in ../shared is (kuma-v2.14.3), and the version
        # the zones in export_result run; the program's default is newer.
        "chartVersion": "2.14.3",
        "global": {"kubeContext": "mesh-global", "kdsAddress": "host.minikube.internal"},
        "zones": [{"name": "zone-1", "kubeContext": "mesh-zone",
                   "api": {"url": "http://127.0.0.1:1", "token": "zone-admin-token"}}],
    }
    raw.update(overrides)
    return parse_config(raw)


def mesh(name: str) -> dict[str, Any]:
    return {"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "metadata": {"name": name},
            "spec": {"skipCreatingInitialPolicies": ["*"]}}


def secret(name: str, *, kind: str = "system.kuma.io/secret", mesh_name: str | None = "default",
           value: str = SECRET_PLAINTEXT) -> dict[str, Any]:
    labels = {"kuma.io/mesh": mesh_name} if mesh_name else {}
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": "kong-mesh-system", "labels": labels},
            "data": {"value": base64.b64encode(value.encode()).decode()}}


def policy(name: str, mesh_name: str = "default", kind: str = "MeshTimeout") -> dict[str, Any]:
    return {"apiVersion": "kuma.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": "kong-mesh-system",
                         "labels": {"kuma.io/mesh": mesh_name}},
            "spec": {"targetRef": {"kind": "Mesh"}}}


def export_result(documents: list[dict[str, Any]], zone: str = "zone-1") -> ExportResult:
    info = ControlPlaneInfo(product="Kong Mesh", version="2.14.3", mode="zone",
                            environment="kubernetes", zone_name=zone, global_address=None,
                            system_namespace="kong-mesh-system")
    return ExportResult(documents=tuple(documents), control_plane=info, warnings=(),
                        dataplanes={"default": 3}, requests=0)


def standard_documents(policies: int = 3) -> list[dict[str, Any]]:
    return [mesh("default"), secret("default.ca-builtin-cert-ca-1"),
            *[policy(f"timeout-{i}") for i in range(policies)],
            secret("user-token-signing-key-1", kind="system.kuma.io/global-secret", mesh_name=None)]


def recorded_export_targets(monkeypatch: Any) -> list[ApiTarget]:
    """The targets the program's zone export hands its Kuma API client, recorded: the client
    and the export itself are replaced, so nothing is requested."""
    from components import zone_exports

    seen: list[ApiTarget] = []

    class Recording:
        def __init__(self, target: ApiTarget, **_: object) -> None:
            seen.append(target)

        def __enter__(self) -> Recording:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(zone_exports, "KumaApiClient", Recording)
    monkeypatch.setattr(zone_exports, "export_zone", lambda client, options, progress: None)
    return seen
