"""A loopback Kubernetes API server and a kubeconfig that points at it (fixture `kubeconfig`).

It serves Secrets and the service proxy to a control plane; like the real API server, it checks
the bearer token and does not forward the Authorization header through the proxy.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.http_json import LoopbackHTTPServer, send_json

KUBE_TOKEN = "kube-bearer-token"
NS = "kong-mesh-system"


def secret(name: str, type_: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": type_,
            "metadata": {"name": name, "namespace": NS, "resourceVersion": "1"},
            "data": {"value": base64.b64encode(value.encode()).decode()}}


SECRETS = [
    secret("admin-user-token", "system.kuma.io/global-secret", "zone-admin-token"),
    secret("default.ca-builtin-cert-ca-1", "system.kuma.io/secret", "cert"),
    secret("user-token-signing-key-1", "system.kuma.io/global-secret", "key"),
    secret("unrelated", "Opaque", "x"),
]


class FakeKubeApi(BaseHTTPRequestHandler):
    # Where the service proxy forwards to (a loopback zone API), when a test sets it.
    upstream: ClassVar[str | None] = None
    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: Any) -> None:
        send_json(self, status, body)

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {KUBE_TOKEN}":
            return self.reply(401, {"kind": "Status", "code": 401})
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == f"/api/v1/namespaces/{NS}/secrets":
            wanted = query.get("fieldSelector", [""])[0].removeprefix("type=")
            items = [s for s in SECRETS if not wanted or s["type"] == wanted]
            return self.reply(200, {"apiVersion": "v1", "kind": "SecretList", "items": items})
        if url.path.startswith(f"/api/v1/namespaces/{NS}/secrets/"):
            name = url.path.rsplit("/", 1)[1]
            found = [s for s in SECRETS if s["metadata"]["name"] == name]
            return self.reply(200, found[0]) if found else self.reply(404, {"code": 404})
        proxy = f"/api/v1/namespaces/{NS}/services/kong-mesh-control-plane:5681/proxy"
        if url.path.startswith(proxy) and FakeKubeApi.upstream:
            # Like the API server: forward without the caller's Authorization header.
            rest = self.path[len(proxy):]
            try:
                with urllib.request.urlopen(FakeKubeApi.upstream + rest, timeout=10) as answer:
                    return self.reply(answer.status, json.loads(answer.read()))
            except urllib.error.HTTPError as error:
                return self.reply(error.code, {"proxied_error": error.code})
        if url.path == f"{proxy}/config":
            return self.reply(200, {"mode": "zone", "proxied": True})
        return self.reply(404, {"code": 404})


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[str]:
    server = LoopbackHTTPServer(("127.0.0.1", 0), FakeKubeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "zone", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}},
                     {"name": "other", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "zone-admin", "user": {"token": KUBE_TOKEN}},
                  {"name": "nobody", "user": {"token": "wrong"}}],
        "contexts": [{"name": "mesh-zone", "context": {"cluster": "zone", "user": "zone-admin"}},
                     {"name": "other", "context": {"cluster": "other", "user": "nobody"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    yield str(path)
    server.shutdown()
    server.server_close()
