"""A loopback Kubernetes API server holding a fake zone's objects (tests/export/fake_zone.py).

It serves what the export reads on a Kubernetes zone: API discovery of kuma.io/v1alpha1, a LIST
per kind, Kuma's Secrets by type, and the service proxy to the zone API (the FakeZone itself,
reached without the caller's Authorization header, as the real proxy consumes it). Its rules come
from the upstream sources, not from the client under test:
- k8s.io/apiserver pkg/storage/etcd3/store.go and pkg/storage/continue.go: items in key order
  (`<namespace>/<name>`, or `<name>` for a cluster-scoped kind); with `limit`, `metadata.continue`
  is base64url(JSON {"v": "meta.k8s.io/v1", "rv": <revision>, "start": <last key> + "\\x00"})
  while more remain, and `remainingItemCount` only when no label or field selector is given
  (PrepareContinueToken: "We only set remainingItemCount if the predicate is empty");
- pkg/storage/etcd3/errors.go: a continue token older than the compaction answers 410, reason
  Expired, with a new inconsistent token in the Status's metadata.continue;
- pkg/server/filters/priority-and-fairness.go: a rejected request answers 429 with Retry-After
  and the plain text "Too many requests, please try again later.";
- pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage and apimachinery
  pkg/api/errors NewForbidden: a 403 Status naming the user, verb, resource, group and scope;
- apimachinery pkg/apis/meta/v1/unstructured/helpers.go and apiextensions-apiserver
  pkg/apiserver/conversion/converter.go: a custom resource list is `<Kind>List` whose items keep
  their apiVersion and kind; a core SecretList's items come without them (typed items, no
  TypeMeta).
Kinds, plurals and scopes come from the CRDs in ../shared/upstream when they are there.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.export.fake_zone import FakeZone
from tests.http_json import LoopbackService, send_json, serve_get

GROUP, VERSION = "kuma.io", "v1alpha1"
USER = "zone-admin"
SECRET_KINDS = ("Secret", "GlobalSecret")
CRDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "upstream" / "kuma-v2.14.3" / "crds"


def crd_names() -> dict[str, tuple[str, bool]]:
    """kind -> (plural, namespaced) from the upstream CRDs; empty when they are absent."""
    import yaml

    names: dict[str, tuple[str, bool]] = {}
    for path in sorted(CRDS.glob("*.yaml")) if CRDS.is_dir() else []:
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = crd["spec"]
        names[spec["names"]["kind"]] = (spec["names"]["plural"], spec["scope"] == "Namespaced")
    return names


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")  # RawURLEncoding


def decode_continue(token: str) -> tuple[int, str]:
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return int(data["rv"]), str(data["start"])


def status(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": extra.pop("metadata", {}),
            "status": "Failure", "message": message, "reason": reason, "code": code, **extra}


def forbidden(verb: str, resource: str, group: str, namespace: str | None) -> dict[str, Any]:
    qualified = f"{resource}.{group}" if group else resource
    scope = f"in the namespace {json.dumps(namespace)}" if namespace else "at the cluster scope"
    message = (f"{qualified} is forbidden: User {json.dumps(USER)} cannot {verb} resource "
               f"{json.dumps(resource)} in API group {json.dumps(group)} {scope}")
    return status(403, "Forbidden", message, details={"group": group, "kind": resource})


@dataclass
class FakeKubeApi(LoopbackService):
    zone: FakeZone
    token: str = "kube-bearer-token"
    latency: float = 0.0
    # kind -> (plural, namespaced); kinds missing here default to <kind lower>s, namespaced when
    # their objects carry a namespace.
    names: dict[str, tuple[str, bool]] = field(default_factory=crd_names)
    # (verb, resource) pairs the kube context may not use: answered 403.
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    # How many continue tokens to refuse with 410 Gone (as after an etcd compaction).
    expire_continues: int = 0
    # How many requests to refuse with 429 and this Retry-After (seconds).
    throttle: int = 0
    retry_after: str = "1"
    revision: int = 1000
    requests: list[str] = field(default_factory=list)
    peak_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _kinds: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # plural -> kind...
    _objects: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    # -- lifecycle -------------------------------------------------------

    def index(self) -> None:
        """Every object of the zone in its kind's store, in etcd key order."""
        self.zone.index()
        self._kinds.clear()
        self._objects.clear()
        for rtype in self.zone.resource_types:
            kind = rtype["name"]
            if kind in SECRET_KINDS:
                continue
            objs = [o for o in self.zone.objects if o.type == kind]
            default_namespaced = any("namespace" in o.k8s.get("metadata", {}) for o in objs)
            plural, namespaced = self.names.get(kind, (kind.lower() + "s", default_namespaced))
            self._kinds[plural] = (kind, plural, namespaced)
            self._objects[plural] = sorted(((self._key(o.k8s, namespaced), o.k8s) for o in objs),
                                           key=lambda entry: entry[0])
        secrets = [o.k8s for o in self.zone.objects if o.type in SECRET_KINDS]
        by_ns: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for secret in secrets:
            ns = secret["metadata"]["namespace"]
            by_ns.setdefault(ns, []).append((secret["metadata"]["name"], secret))
        for ns, entries in by_ns.items():
            self._objects[f"secrets:{ns}"] = sorted(entries, key=lambda entry: entry[0])

    @staticmethod
    def _key(obj: Mapping[str, Any], namespaced: bool) -> str:
        meta = obj["metadata"]
        return f"{meta.get('namespace', '')}/{meta['name']}" if namespaced else str(meta["name"])

    def start(self) -> str:
        self.index()
        self._server = serve_get(self._handle)
        return self.base_url

    def kubeconfig(self, path: Path, context: str = "mesh-zone") -> str:
        """A kubeconfig whose `context` reaches this server with the bearer token."""
        import yaml

        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
            "clusters": [{"name": "zone", "cluster": {"server": self.base_url}},
                         {"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}}],
            "users": [{"name": USER, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": "zone", "user": USER}},
                         {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": USER}}],
        }))
        return str(path)

    # -- request handling ----------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        proxy = self._proxied(parts.path)
        if proxy is not None:
            # The service proxy: the zone answers (with its own latency and counts), and never
            # sees the caller's credentials.
            h.path = proxy + (f"?{parts.query}" if parts.query else "")
            del h.headers["Authorization"]
            self.zone._handle(h)
            return
        with self.counted(h.path):
            if h.headers.get("Authorization") != f"Bearer {self.token}":
                send_json(h, 401, status(401, "Unauthorized", "Unauthorized"))
                return
            with self._lock:
                throttled = self.throttle > 0
                self.throttle -= 1 if throttled else 0
            if throttled:
                raw = b"Too many requests, please try again later.\n"
                h.send_response(429)
                h.send_header("Content-Type", "text/plain; charset=utf-8")
                h.send_header("Retry-After", self.retry_after)
                h.send_header("Content-Length", str(len(raw)))
                h.end_headers()
                h.wfile.write(raw)
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            code, body = self._route(parts.path, query)
            send_json(h, code, body)

    @staticmethod
    def _proxied(path: str) -> str | None:
        segs = path.split("/")
        # /api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/<rest>
        if len(segs) >= 8 and segs[1:4] == ["api", "v1", "namespaces"] and segs[5] == "services" \
                and segs[7] == "proxy":
            return "/" + "/".join(segs[8:])
        return None

    def _route(self, path: str, query: Mapping[str, str]) -> tuple[int, Any]:
        segs = [unquote(s) for s in path.strip("/").split("/") if s]
        if segs == ["apis", GROUP, VERSION]:
            return 200, self._discovery()
        if len(segs) == 4 and segs[:3] == ["apis", GROUP, VERSION] and segs[3] in self._kinds:
            kind, plural, _namespaced = self._kinds[segs[3]]
            if ("list", plural) in self.forbidden:
                return 403, forbidden("list", plural, GROUP, None)
            return self._list(self._objects[plural], query, GROUP + "/" + VERSION, kind + "List",
                              typed_items=False)
        if len(segs) == 5 and segs[:3] == ["api", "v1", "namespaces"] and segs[4] == "secrets":
            if ("list", "secrets") in self.forbidden:
                return 403, forbidden("list", "secrets", "", segs[3])
            entries = self._objects.get(f"secrets:{segs[3]}", [])
            selector = query.get("fieldSelector", "")
            if selector:
                wanted = selector.removeprefix("type=")
                entries = [e for e in entries if e[1].get("type") == wanted]
            return self._list(entries, query, "v1", "SecretList", typed_items=True,
                              selected=bool(selector or query.get("labelSelector")))
        return 404, status(404, "NotFound", "the server could not find the requested resource")

    def _discovery(self) -> dict[str, Any]:
        resources = []
        for kind, plural, namespaced in self._kinds.values():
            resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                              "kind": kind, "verbs": ["delete", "deletecollection", "get", "list",
                                                      "patch", "create", "update", "watch"],
                              "categories": ["kuma"]})
            resources.append({"name": f"{plural}/status", "singularName": "", "namespaced": namespaced,
                              "kind": kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{GROUP}/{VERSION}", "resources": resources}

    def _list(
        self, entries: list[tuple[str, dict[str, Any]]], query: Mapping[str, str],
        api_version: str, list_kind: str, *, typed_items: bool, selected: bool = False,
    ) -> tuple[int, Any]:
        start = ""
        rv = self.revision
        token = query.get("continue")
        if token:
            with self._lock:
                expire = self.expire_continues > 0
                self.expire_continues -= 1 if expire else 0
            rv, start = decode_continue(token)
            if expire:
                return 410, status(
                    410, "Expired", "The provided continue parameter is too old to display a "
                    "consistent list result. You can start a new list without the continue "
                    "parameter, or use the continue token in this response to retrieve the "
                    "remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between "
                    "the time the first chunk was returned and now may show up in the list.",
                    metadata={"continue": encode_continue(-1, start)})
        remaining = [e for e in entries if e[0] >= start]
        limit = int(query.get("limit", "0") or 0)
        page = remaining[:limit] if limit > 0 else remaining
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if limit > 0 and len(remaining) > limit:
            meta["continue"] = encode_continue(rv, page[-1][0] + "\x00")
            if not selected:
                meta["remainingItemCount"] = len(remaining) - limit
        items = []
        for _key, obj in page:
            item = copy.deepcopy(obj)
            if typed_items:
                item.pop("apiVersion", None)
                item.pop("kind", None)
            items.append(item)
        return 200, {"kind": list_kind, "apiVersion": api_version, "metadata": meta, "items": items}
