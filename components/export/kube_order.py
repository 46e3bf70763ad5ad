"""Which mesh a listed custom resource belongs to, and the order the zone API would list it in.

Pure functions over dicts, so a Kubernetes LIST yields the same objects in the same order as the
zone API's list endpoints (Kuma v2.14.3):
- the mesh of a Kuma custom resource is its top-level `mesh` field for the kinds generated in
  pkg/plugins/resources/k8s/native/api/v1alpha1 (zz_generated.mesh.go, zz_generated.system.go:
  `GetMesh() { return cb.Mesh }`), else its `kuma.io/mesh` label, `default` when absent (every
  newer kind's generated `GetMesh`); a Kuma Secret's is its label, `default` when absent
  (pkg/plugins/secrets/k8s/store.go), and a Secret is listed per mesh with a label selector,
  so one without the label is in no mesh's list; a GlobalSecret has no mesh;
- a namespaced object's Kuma name is `<name>.<namespace>` (pkg/util/k8s K8sNamespacedNameToCoreName
  through KubernetesMetaAdapter.GetName), a cluster-scoped one's and a Secret's its name;
- the list endpoints sort by mesh, then Kuma name, as Go compares strings
  (pkg/core/resources/store/pagination_store.go sort.Sort(model.ByMeta)); kumactl lists a
  mesh-scoped type mesh by mesh, in the order of the Mesh list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from components.clients.kuma_names import SECRET_KINDS
from components.export.model import ExportError
from components.rules import kuma_mesh

# Kinds whose mesh is the top-level `mesh` field (the native kinds listed above).
TOP_LEVEL_MESH_KINDS = frozenset({
    "CircuitBreaker", "Dataplane", "DataplaneInsight", "ExternalService", "FaultInjection",
    "HealthCheck", "Mesh", "MeshGateway", "MeshGatewayRoute", "MeshInsight", "ProxyTemplate",
    "RateLimit", "Retry", "ServiceInsight", "Timeout", "TrafficLog", "TrafficPermission",
    "TrafficRoute", "TrafficTrace", "VirtualOutbound", "ZoneEgress", "ZoneEgressInsight",
    "ZoneIngress", "ZoneIngressInsight", "Zone", "ZoneInsight",
})  # fmt: skip


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise ExportError(f"a listed object has no metadata.name: {obj!r}"[:300])
    return meta


def mesh_of(obj: Mapping[str, Any], type_name: str) -> str:
    """The mesh whose list shows a stored object of this type, as Kuma reads it
    (rules/kuma_mesh.py); "" for none: a global-scoped object, or a Secret without its label."""
    _meta(obj)
    if type_name == "GlobalSecret":
        return ""
    if type_name == "Secret":
        return kuma_mesh.secret_listed_in(obj) or ""
    if type_name in TOP_LEVEL_MESH_KINDS or isinstance(obj.get("mesh"), str):
        # A kind outside the list that still carries the field (Kong Mesh's native kinds) is
        # read the same way; the global-scoped ones among them have none.
        return kuma_mesh.top_level_mesh(obj)
    return kuma_mesh.mesh_of(obj)


def kuma_name(obj: Mapping[str, Any], type_name: str) -> str:
    meta = _meta(obj)
    if type_name in SECRET_KINDS:  # pkg/plugins/secrets/k8s: the Secret's own name
        return str(meta["name"])
    namespace = meta.get("namespace")
    name = str(meta["name"])
    return f"{name}.{namespace}" if isinstance(namespace, str) and namespace else name


def _go_order(text: str) -> bytes:
    return text.encode("utf-8")  # Go compares strings byte by byte


def by_mesh(
    objects: Iterable[Mapping[str, Any]], type_name: str, mesh_names: Sequence[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """Mesh-scoped objects of the listed meshes, each mesh's in the zone API's order. Objects of
    a mesh that does not exist are left out, as the per-mesh list endpoints never show them."""
    wanted = set(mesh_names)
    grouped: dict[str, list[Mapping[str, Any]]] = {mesh: [] for mesh in mesh_names}
    for obj in objects:
        mesh = mesh_of(obj, type_name)
        if mesh in wanted:
            grouped[mesh].append(obj)
    for members in grouped.values():
        members.sort(key=lambda o: _go_order(kuma_name(o, type_name)))
    return grouped


def global_order(objects: Iterable[Mapping[str, Any]], type_name: str) -> list[Mapping[str, Any]]:
    """Global-scoped objects in the zone API's order (mesh, then Kuma name)."""
    return sorted(objects, key=lambda o: (_go_order(mesh_of(o, type_name)),
                                          _go_order(kuma_name(o, type_name))))
