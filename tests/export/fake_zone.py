"""A loopback Kuma zone control plane API, enough for the exporter.

Serves GET /, /config, /_resources, list endpoints and items, universal or
`?format=k8s`. Lists, filters, paging and the 400/404 bodies follow Kuma
v2.14.3 (tests/kuma_rules.py, from the API server's vectors
`api-server-testdata/resources/crud/`: list_mesh*, list_dp_with_label_filter*,
list_all_meshes, list_mesh_doesnt_exist_not_found, get_resource_not-found; and
pkg/api-server/filters/filtering.go), with `next` built from a Host the client
cannot reach, as behind a port-forward. Counts requests and peak concurrency;
faults are injected with a hook. Also used by bench/export.py.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests import kuma_rules
from tests.http_json import LoopbackService, send_json, serve_get

# Where `next` points: what the server saw as Host behind a port-forward.
UNREACHABLE_HOST = "kong-mesh-control-plane.kong-mesh-system:5681"


@dataclass
class Obj:
    """One stored resource in both of its forms."""

    type: str
    name: str
    mesh: str | None
    k8s: dict[str, Any]
    universal: dict[str, Any] | None = None

    def universal_form(self) -> dict[str, Any]:
        if self.universal is not None:
            return self.universal
        form: dict[str, Any] = {"type": self.type, "name": self.name}
        if self.mesh is not None:
            form["mesh"] = self.mesh
        form["creationTime"] = "0001-01-01T00:00:00Z"
        form["modificationTime"] = "0001-01-01T00:00:00Z"
        if self.type == "Mesh":
            form.update(copy.deepcopy(self.k8s.get("spec", {})))
        return form


Fault = Callable[[BaseHTTPRequestHandler, str, Mapping[str, str]], bool]


@dataclass
class FakeZone(LoopbackService):
    resource_types: list[dict[str, Any]]
    objects: list[Obj]
    system_namespace: str = "kuma-system"
    product: str = "Kuma"
    version: str = "2.14.3"
    environment: str = "kubernetes"
    zone_name: str | None = "zone-1"
    global_address: str = ""
    token: str | None = None
    latency: float = 0.0
    fault: Fault | None = None
    requests: list[str] = field(default_factory=list)
    peak_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _lists: dict[tuple[str, str | None], list[Obj]] = field(default_factory=dict)
    _items: dict[tuple[str, str | None, str], Obj] = field(default_factory=dict)

    # -- lifecycle -------------------------------------------------------

    def index(self) -> None:
        """Index the objects: the benchmark serves 10,000 of them."""
        self._lists.clear()
        self._items.clear()
        for obj in sorted(self.objects, key=lambda o: o.name):
            self._lists.setdefault((obj.type, obj.mesh), []).append(obj)
            self._items[(obj.type, obj.mesh, obj.name)] = obj

    def start(self, port: int = 0) -> str:
        """Serve on `port` (0: any free one; the same one again: a restarted control plane)."""
        self.index()
        self._server = serve_get(self._handle, port)
        return self.base_url

    # -- helpers -----------------------------------------------------------

    def type_by_path(self, path: str) -> dict[str, Any] | None:
        return next((t for t in self.resource_types if t["path"] == path), None)

    def meshes(self) -> list[Obj]:
        return self._lists.get(("Mesh", None), [])

    def listing(self, type_name: str, mesh: str | None) -> list[Obj]:
        return self._lists.get((type_name, mesh), [])

    # -- request handling ----------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self.counted(h.path):
            parts = urlsplit(h.path)
            # Kuma keeps the last value of a repeated parameter (filtering.go: v[len(v)-1]).
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if self.fault is not None and self.fault(h, parts.path, query):
                return
            if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
                self._send(h, 401, {"title": "Unauthenticated", "details": "invalid token"})
                return
            status, body = self._route(parts.path, query)
            self._send(h, status, body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        # Nagle is off on the Handler (disable_nagle_algorithm); fault hooks answer through here.
        send_json(h, status, body)

    def _route(self, path: str, query: Mapping[str, str]) -> tuple[int, Any]:
        segs = [unquote(s) for s in path.strip("/").split("/") if s]
        if not segs:
            return 200, {
                "hostname": "localhost",
                "product": self.product,
                "version": self.version,
                "instanceId": "test-instance",
                "clusterId": "test-cluster",
            }
        if segs == ["config"]:
            return 200, {
                "environment": self.environment,
                "mode": "zone" if self.zone_name else "standalone",
                "multizone": {
                    "zone": {"name": self.zone_name or "", "globalAddress": self.global_address}
                },
                "store": {"kubernetes": {"systemNamespace": self.system_namespace}},
            }
        if segs == ["_resources"]:
            return 200, {"resources": self.resource_types}
        if segs[0] == "meshes":
            if len(segs) == 1:
                return self._list(self.meshes(), "/meshes", query)
            mesh = segs[1]
            if len(segs) == 2:
                return self._item("Mesh", mesh, None, query)
            rtype = self.type_by_path(segs[2])
            if rtype is None or rtype["scope"] != "Mesh" or len(segs) > 4:
                return 404, {"title": "Not found"}
            if len(segs) == 4:
                return self._item(rtype["name"], segs[3], mesh, query)
            if ("Mesh", None, mesh) not in self._items:
                return kuma_rules.mesh_not_found()
            return self._list(self.listing(rtype["name"], mesh), path, query)
        rtype = self.type_by_path(segs[0])
        if rtype is None or len(segs) > 2 or (rtype["scope"] != "Global" and len(segs) == 2):
            return 404, {"title": "Not found"}
        if len(segs) == 2:
            return self._item(rtype["name"], segs[1], None, query)
        if rtype["scope"] == "Mesh":  # a mesh-scoped type at the root lists it across meshes
            across = [o for m in self.meshes() for o in self.listing(rtype["name"], m.name)]
            return self._list(sorted(across, key=lambda o: (o.name, o.mesh or "")), path, query)
        return self._list(self.listing(rtype["name"], None), path, query)

    def _list(self, objs: list[Obj], path: str, query: Mapping[str, str]) -> tuple[int, Any]:
        # Filtered on the universal form's labels, then paged: only the page is rendered.
        try:
            offset, size = kuma_rules.page_of(query)
            matches = kuma_rules.label_filter(query, path)
        except kuma_rules.Refused as refused:
            return refused.answer
        if any(k.startswith("filter[") for k in query):
            objs = [o for o in objs if matches(o.universal_form())]
        page = objs[offset : offset + size]
        nxt = None
        if offset + size < len(objs):
            nxt = f"http://{UNREACHABLE_HOST}{path}?offset={offset + size}&size={size}"
        return 200, {
            "total": len(objs),
            "items": [o.universal_form() for o in page],
            "next": nxt,
        }

    def _item(
        self, type_name: str, name: str, mesh: str | None, query: Mapping[str, str]
    ) -> tuple[int, Any]:
        found = self._items.get((type_name, mesh, name))
        if found is None:
            return kuma_rules.item_not_found()
        if query.get("format") not in ("k8s", "kubernetes"):
            return 200, found.universal_form()
        obj = copy.deepcopy(found.k8s)
        target = query.get("namespace")
        meta = obj.get("metadata", {})
        if target:
            # Kuma's Kubernetes mapper sets the asked namespace on every object, whichever
            # namespace it lives in (pkg/plugins/resources/k8s/mapper.go).
            meta["namespace"] = target
        return 200, obj


def load_types(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return list(data["resources"])


def k8s_object(
    kind: str,
    name: str,
    *,
    namespace: str | None = "kuma-system",
    mesh: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    spec: Mapping[str, Any] | None = None,
    api_version: str = "kuma.io/v1alpha1",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `?format=k8s` answer with the server-owned metadata kumactl removes."""
    meta: dict[str, Any] = {
        "creationTimestamp": "2024-01-08T17:25:45Z",
        "generation": 1,
        "name": name,
        "resourceVersion": "758",
        "uid": "b1bca574-c02c-4765-972c-b91d92eacba6",
        "managedFields": [{"manager": "kuma-cp"}],
    }
    if namespace is not None:
        meta["namespace"] = namespace
    all_labels = dict(labels or {})
    if mesh is not None:
        all_labels.setdefault("kuma.io/mesh", mesh)
        meta["ownerReferences"] = [{"apiVersion": "kuma.io/v1alpha1", "kind": "Mesh", "name": mesh}]
    if all_labels:
        meta["labels"] = all_labels
    if annotations:
        meta["annotations"] = dict(annotations)
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = dict(spec)
    obj.update(extra or {})
    return obj


def names(objs: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return [(str(o["kind"]), str(o["metadata"]["name"])) for o in objs]
