"""Reaching a cluster with an explicit kube context: against a loopback Kubernetes API server."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from components import kube
from components.kuma_api import KumaApiClient

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
    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
        if url.path == f"/api/v1/namespaces/{NS}/services/kong-mesh-control-plane:5681/proxy/config":
            return self.reply(200, {"mode": "zone", "proxied": True})
        return self.reply(404, {"code": 404})


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKubeApi)
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


def test_the_admin_token_comes_from_the_named_context_not_the_current_one(kubeconfig):
    token = kube.read_admin_token(context="mesh-zone", namespace=NS, kubeconfig=kubeconfig)
    assert token == "zone-admin-token"


def test_kuma_secrets_are_read_by_type(kubeconfig):
    source = kube.kube_secret_source(context="mesh-zone", namespace=NS, kubeconfig=kubeconfig)
    assert [s["metadata"]["name"] for s in source("Secret")] == ["default.ca-builtin-cert-ca-1"]
    global_secrets = source("GlobalSecret")
    assert [s["metadata"]["name"] for s in global_secrets] == ["admin-user-token",
                                                               "user-token-signing-key-1"]
    assert global_secrets[0]["apiVersion"] == "v1" and global_secrets[0]["kind"] == "Secret"


def test_the_service_proxy_target_reaches_the_control_plane_through_the_api_server(kubeconfig):
    target = kube.service_proxy_target(context="mesh-zone", namespace=NS,
                                       service="kong-mesh-control-plane", port=5681,
                                       kubeconfig=kubeconfig)
    assert target.base_url.endswith(f"/api/v1/namespaces/{NS}/services/kong-mesh-control-plane:5681/proxy")
    assert KUBE_TOKEN not in repr(target)
    with KumaApiClient(target) as client:
        assert client.get_json("/config") == {"mode": "zone", "proxied": True}


def test_an_unknown_context_names_the_context_and_the_fix(kubeconfig):
    with pytest.raises(kube.KubeAccessError) as error:
        kube.read_admin_token(context="mesh-zoen", namespace=NS, kubeconfig=kubeconfig)
    assert "mesh-zoen" in str(error.value) and "kubectl config get-contexts" in str(error.value)


def test_a_missing_token_secret_says_how_to_set_the_token(kubeconfig):
    with pytest.raises(kube.KubeAccessError) as error:
        kube.read_admin_token(context="mesh-zone", namespace="elsewhere", kubeconfig=kubeconfig)
    assert "elsewhere/admin-user-token" in str(error.value)
    assert "zones[N].apiToken" in str(error.value)
