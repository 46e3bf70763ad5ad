"""A zone the exporter has never seen: several meshes, CAs, secrets, paged policies."""

from __future__ import annotations

import base64
from typing import Any

from fake_zone import Obj, k8s_object

UNKNOWN_TYPE = {
    "includeInFederation": True,
    "name": "MeshFooBar",
    "path": "meshfoobars",
    "readOnly": False,
    "scope": "Mesh",
    "policy": {"isTargetRef": True},
}
PAGED_POLICIES = 1500  # more than one 1000-item page


def _secret(name: str, mesh: str | None, stype: str, namespace: str = "kuma-system") -> dict[str, Any]:
    obj = k8s_object(
        "Secret",
        name,
        namespace=namespace,
        api_version="v1",
        extra={
            "type": stype,
            "data": {"value": base64.b64encode(f"secret {name}".encode()).decode()},
        },
    )
    if mesh is not None:
        obj["metadata"]["labels"] = {"kuma.io/mesh": mesh}
    return dict(obj)


def _mesh(name: str, spec: dict[str, Any]) -> Obj:
    k8s = k8s_object(
        "Mesh", name, namespace=None, spec=spec,
        annotations={"k8s.kuma.io/mesh-defaults-generated": "true"},
    )  # fmt: skip
    universal = {"type": "Mesh", "name": name, "creationTime": "2024-01-08T17:25:45Z", **spec}
    return Obj("Mesh", name, None, k8s, universal)


def _timeout(i: int) -> Obj:
    name = f"timeout-{i:04d}"
    spec = {
        "targetRef": {"kind": "Mesh"},
        "to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": f"{i % 60 + 1}s"}}],
    }
    return Obj("MeshTimeout", name, "default", k8s_object("MeshTimeout", name, mesh="default", spec=spec))


def zone_objects() -> list[Obj]:
    builtin_spec = {
        "mtls": {
            "enabledBackend": "ca-1",
            "backends": [
                {
                    "name": "ca-1",
                    "type": "builtin",
                    "dpCert": {"rotation": {"expiration": "1d"}},
                    "conf": {"caCert": {"RSAbits": 2048, "expiration": "10y"}},
                }
            ],
        },
        "networking": {"outbound": {"passthrough": False}},
    }
    provided_spec = {
        "mtls": {
            "enabledBackend": "own-ca",
            "backends": [
                {
                    "name": "own-ca",
                    "type": "provided",
                    "conf": {
                        "cert": {"secret": "payments-ca-cert"},
                        "key": {"secret": "payments-ca-key"},
                    },
                }
            ],
        }
    }
    objs = [
        _mesh("default", builtin_spec),
        _mesh("payments", provided_spec),
        _mesh("legacy", {}),
    ]
    sec = "system.kuma.io/secret"
    gsec = "system.kuma.io/global-secret"
    for name, mesh in [
        ("default.ca-builtin-cert-ca-1", "default"),
        ("default.ca-builtin-key-ca-1", "default"),
        ("payments-ca-key", "payments"),
        ("payments-ca-cert", "payments"),
    ]:
        objs.append(Obj("Secret", name, mesh, _secret(name, mesh, sec)))
    for name in [
        "user-token-signing-key-2",
        "envoy-admin-ca",
        "inter-cp-ca",
        "admin-user-token",
        "user-token-signing-key-1",
    ]:
        objs.append(Obj("GlobalSecret", name, None, _secret(name, None, gsec)))
    objs += [_timeout(i) for i in range(PAGED_POLICIES)]
    mtp_spec = {
        "targetRef": {"kind": "Mesh"},
        "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}],
    }
    objs.append(
        Obj(
            "MeshTrafficPermission",
            "allow-all",
            "payments",
            k8s_object(
                "MeshTrafficPermission",
                "allow-all",
                mesh="payments",
                spec=mtp_spec,
                labels={"kuma.io/origin": "zone", "kuma.io/zone": "zone-1"},
                annotations={"kuma.io/origin": "zone", "note": "kept"},
            ),
        )
    )
    retry_spec = {
        "targetRef": {"kind": "Mesh"},
        "to": [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"numRetries": 3}}}],
    }
    # In an application namespace: the global only admits its system namespace.
    objs.append(
        Obj(
            "MeshRetry",
            "team-retry.team-a",
            "default",
            k8s_object("MeshRetry", "team-retry", namespace="team-a", mesh="default", spec=retry_spec),
        )
    )
    tp = {
        "sources": [{"match": {"kuma.io/service": "*"}}],
        "destinations": [{"match": {"kuma.io/service": "*"}}],
    }
    objs.append(
        Obj(
            "TrafficPermission",
            "allow-all-legacy",
            "legacy",
            k8s_object(
                "TrafficPermission", "allow-all-legacy", namespace=None, mesh="legacy",
                spec=tp, extra={"mesh": "legacy"},
            ),
        )
    )  # fmt: skip
    gw = {
        "selectors": [{"match": {"kuma.io/service": "edge"}}],
        "conf": {"listeners": [{"port": 8080, "protocol": "HTTP"}]},
    }
    objs.append(
        Obj(
            "MeshGateway",
            "edge",
            "default",
            k8s_object(
                "MeshGateway", "edge", namespace=None, mesh="default", spec=gw,
                extra={"mesh": "default"},
            ),
        )
    )
    for mesh, count in (("default", 3), ("payments", 2)):
        for i in range(count):
            name = f"{mesh}-dp-{i}.app"
            dp = k8s_object(
                "Dataplane", f"{mesh}-dp-{i}", namespace="app", mesh=mesh,
                spec={"networking": {"address": f"10.0.0.{i + 1}"}}, extra={"mesh": mesh},
            )  # fmt: skip
            objs.append(Obj("Dataplane", name, mesh, dp))
    svc = k8s_object(
        "MeshService", "backend", mesh="default",
        spec={"ports": [{"port": 80, "targetPort": 8080, "appProtocol": "http"}]},
    )  # fmt: skip
    objs.append(Obj("MeshService", "backend", "default", svc))
    return objs


def federation_with_policies_order() -> list[tuple[str, str]]:
    """(kind, name) in kumactl's order for profile federation-with-policies."""
    return [
        ("Mesh", "default"),
        ("Mesh", "legacy"),
        ("Mesh", "payments"),
        ("Secret", "default.ca-builtin-cert-ca-1"),
        ("Secret", "default.ca-builtin-key-ca-1"),
        ("Secret", "payments-ca-cert"),
        ("Secret", "payments-ca-key"),
        ("MeshGateway", "edge"),
        *[("MeshTimeout", f"timeout-{i:04d}") for i in range(PAGED_POLICIES)],
        ("MeshTrafficPermission", "allow-all"),
        ("TrafficPermission", "allow-all-legacy"),
        ("Secret", "admin-user-token"),
        ("Secret", "user-token-signing-key-1"),
        ("Secret", "user-token-signing-key-2"),
    ]
