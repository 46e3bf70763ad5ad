"""A real HTTP server on 127.0.0.1 that answers like a Kuma control plane API, with state that
changes over time: every route is a function of how many times it was asked (1-based).

List routes answer as Kuma v2.14.3 does (tests/kuma_rules.py, from the API server's vectors
``api-server-testdata/resources/crud/list_mesh*``, ``list_dp_with_label_filter*``,
``get_resource_not-found`` and pkg/api-server/filters/filtering.go): paging with
``offset``/``size`` (at most 1000) and ``next`` as an absolute URL, ``filter[labels.<key>]=<value>``
honoured, and a 400 for any other ``filter[`` key. ``honour_label_filter=False`` stands for an API
version that ignores filters; ``page_size`` gives shorter pages than asked, to exercise ``next``.
Unknown paths answer Kuma's item 404 body. ``serve_store`` loads resources in universal form as
the vectors' inputs give them.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests import kuma_rules
from tests.http_json import send_json
from tests.upstream import upstream_path

Body = Any
Answer = Body | tuple[int, Body]


def kuma_error(status: int, title: str) -> tuple[int, Body]:
    return status, {"type": "/std-errors", "status": status, "title": title, "detail": title}


def not_found() -> tuple[int, Body]:
    return kuma_rules.item_not_found()


def subscription(connect: str | None = "2026-11-24T10:00:00Z", disconnect: str | None = None,
                 n: int = 1) -> dict[str, Any]:
    sub: dict[str, Any] = {"id": f"sub-{n}", "globalInstanceId": "global-cp-1",
                           "config": "{}", "status": {"total": {}}, "version": {}}
    if connect:
        sub["connectTime"] = connect
    if disconnect:
        sub["disconnectTime"] = disconnect
    return sub


def overview(zone: str, *subscriptions: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    return {"type": "ZoneOverview", "mesh": "", "name": zone,
            "creationTime": "2026-11-24T09:00:00Z", "modificationTime": "2026-11-24T09:00:00Z",
            "zone": {"enabled": enabled}, "zoneInsight": {"subscriptions": list(subscriptions)}}


def dataplane(name: str, mesh: str, zone: str) -> dict[str, Any]:
    return {"type": "Dataplane", "mesh": mesh, "name": name,
            "labels": {"kuma.io/zone": zone, "kuma.io/origin": "zone"},
            "networking": {"address": "10.0.0.1"}}


def policy(kind: str, mesh: str, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"type": kind, "mesh": mesh, "name": name, "labels": dict(labels or {}),
            "spec": {}}


def resources_json() -> Body:
    return json.loads(upstream_path("api/_resources.json").read_text())


def _always(body: Body) -> Callable[[int], Answer]:
    return lambda n: body


@contextmanager
def closed_port() -> Iterator[int]:
    """A port on which nothing listens: bound but not listening, so connections are refused
    and no other process can take the port meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


class FakeKuma:
    def __init__(self, *, page_size: int | None = 2, honour_label_filter: bool = True,
                 with_resources: bool = True) -> None:
        self.page_size = page_size
        self.honour_label_filter = honour_label_filter
        self.routes: dict[str, Callable[[int], Answer]] = {}
        self.lists: dict[str, Callable[[int], list[dict[str, Any]]]] = {}
        self.counts: Counter[str] = Counter()
        self.total = 0
        self.authorizations: list[str | None] = []
        # total request number (1-based) -> a status to answer instead, or None
        self.outage: Callable[[int], int | None] = lambda n: None
        # echo the Authorization header in error bodies (a careless proxy)
        self.echo_auth = False
        # serve_store: the meshes that exist, so a list under any other mesh is a 404
        self.stored_meshes: set[str] | None = None
        self._lock = threading.Lock()
        if with_resources:
            data = resources_json()
            self.route("/_resources", lambda n: data)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, answer: Callable[[int], Answer]) -> None:
        self.routes[path] = answer

    def list_route(self, path: str, items: Callable[[int], list[dict[str, Any]]]) -> None:
        self.lists[path] = items

    def serve_store(self, resources: list[dict[str, Any]]) -> None:
        """Serve these resources (universal form) as Kuma's store would: every list and item of
        the types in ``_resources.json``, per mesh and, for mesh-scoped types, across meshes;
        a list under a mesh that is not stored is Kuma's 404 "Failed to retrieve Mesh"."""
        types = resources_json()["resources"]
        meshes = sorted({r["name"] for r in resources if r["type"] == "Mesh"})
        ordered = sorted(resources, key=lambda r: (r["name"], r.get("mesh", "")))

        def listing(kind: str, mesh: str | None) -> Callable[[int], list[dict[str, Any]]]:
            chosen = [r for r in ordered if r["type"] == kind
                      and (mesh is None or r.get("mesh") == mesh)]
            return lambda n: chosen

        for rtype in types:
            self.list_route(f"/{rtype['path']}", listing(rtype["name"], None))
            if rtype["scope"] == "Mesh":
                for mesh in meshes:
                    self.list_route(f"/meshes/{mesh}/{rtype['path']}", listing(rtype["name"], mesh))
        for res in resources:
            rtype = next(t for t in types if t["name"] == res["type"])
            where = f"/meshes/{res['mesh']}" if rtype["scope"] == "Mesh" else ""
            self.route(f"{where}/{rtype['path']}/{res['name']}", _always(res))
        self.stored_meshes = set(meshes)

    def __enter__(self) -> FakeKuma:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- serving --

    def _answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> tuple[int, Body]:
        with self._lock:
            self.total += 1
            total = self.total
            self.authorizations.append(auth)
        status = self.outage(total)
        if status is not None:
            title = (f"{auth} is not welcome: " if self.echo_auth else "") + "Service Unavailable"
            return kuma_error(status, title)
        if path in self.lists:
            if query.get("offset", ["0"])[-1] in ("0", ""):  # a new listing starts
                with self._lock:
                    self.counts[path] += 1
            items = self.lists[path](self.counts[path])
            # Kuma keeps the last value of a repeated parameter (filtering.go: v[len(v)-1]).
            last = {key: values[-1] for key, values in query.items()}
            if not self.honour_label_filter:
                last = {k: v for k, v in last.items() if not k.startswith("filter[")}
            return kuma_rules.list_answer(items, path=path, query=last, next_base=self.url,
                                          page_cap=self.page_size)
        if path in self.routes:
            with self._lock:
                self.counts[path] += 1
            answer = self.routes[path](self.counts[path])
            if isinstance(answer, tuple):
                return answer
            return 200, answer
        segs = [s for s in path.strip("/").split("/") if s]
        if (self.stored_meshes is not None and len(segs) == 3 and segs[0] == "meshes"
                and segs[1] not in self.stored_meshes):
            return kuma_rules.mesh_not_found()
        return not_found()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                status, body = fake._answer(parts.path, parse_qs(parts.query),
                                            self.headers.get("Authorization"))
                send_json(self, status, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
