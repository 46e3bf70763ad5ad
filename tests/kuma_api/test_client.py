"""The control plane client: URLs, headers, retries, errors that say what to do."""

from __future__ import annotations

import socket
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from loopback import Seen, Server

from components.clients.kuma_api import ApiTarget, KumaApiClient, KumaApiError

Serve = Callable[[Callable[[Seen], tuple[int, Any]]], Server]


def echo(seen: Seen) -> tuple[int, Any]:
    return 200, {"path": seen.path}


def test_path_prefix_is_kept(serve: Serve) -> None:
    server = serve(echo)
    prefix = "/api/v1/namespaces/kong-mesh-system/services/kong-mesh-control-plane:5681/proxy"
    with KumaApiClient(ApiTarget(server.url + prefix + "/")) as client:
        assert client.base_url == server.url + prefix
        assert client.get_json("/meshes")["path"] == prefix + "/meshes"
        answer = client.get_json("meshes/default/meshtimeouts", {"size": 1000, "offset": "x"})
        assert answer["path"] == prefix + "/meshes/default/meshtimeouts?size=1000&offset=x"


def test_bearer_token(serve: Serve) -> None:
    server = serve(echo)
    with KumaApiClient(ApiTarget(server.url, token="t0k3n")) as client:
        client.get_json("/")
    assert server.seen[0].headers["Authorization"] == "Bearer t0k3n"


def test_explicit_authorization_header_wins(serve: Serve) -> None:
    server = serve(echo)
    target = ApiTarget(server.url, token="kuma", headers={"authorization": "Bearer kube", "X-A": "1"})
    with KumaApiClient(target) as client:
        client.get_json("/")
    headers = {k.lower(): v for k, v in server.seen[0].headers.items()}
    assert headers["authorization"] == "Bearer kube"
    assert headers["x-a"] == "1"


def test_secrets_never_in_repr() -> None:
    target = ApiTarget("http://x:5681", token="s3cret", headers={"Authorization": "Bearer k8s-s3cret"})
    client = KumaApiClient(target)
    for text in (repr(target), str(target), repr(client)):
        assert "s3cret" not in text
    client.close()


def test_insecure_warns_once_naming_the_url() -> None:
    url = "https://insecure.example.invalid:6443/proxy"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        KumaApiClient(ApiTarget(url, verify=False)).close()
        KumaApiClient(ApiTarget(url, verify=False)).close()
    mine = [w for w in caught if "verification is disabled" in str(w.message)]
    assert len(mine) == 1 and url in str(mine[0].message)


def test_401_with_token_names_its_source(serve: Serve) -> None:
    server = serve(lambda seen: (401, {"title": "Unauthenticated"}))
    target = ApiTarget(server.url, token="stale", token_source="Secret kong-mesh-system/admin-user-token")
    with KumaApiClient(target) as client, pytest.raises(KumaApiError) as caught:
        client.get_json("/meshes")
    message = str(caught.value)
    assert caught.value.status == 401 and caught.value.url.endswith("/meshes")
    assert "Secret kong-mesh-system/admin-user-token" in message and "stale" not in message


def test_403_without_token_says_none_was_given(serve: Serve) -> None:
    server = serve(lambda seen: (403, {"title": "Access Denied"}))
    target = ApiTarget(server.url, token_source="zones[0].api.token")
    with KumaApiClient(target) as client, pytest.raises(KumaApiError, match="no token was given"):
        client.get_json("/secrets")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_statuses_are_retried(serve: Serve, status: int) -> None:
    hits: Counter[str] = Counter()

    def flaky(seen: Seen) -> tuple[int, Any]:
        hits[seen.path] += 1
        return (status, {"title": "busy"}) if hits[seen.path] < 3 else (200, {"ok": True})

    server = serve(flaky)
    with KumaApiClient(ApiTarget(server.url, retries=3, backoff_factor=0.01)) as client:
        assert client.get_json("/") == {"ok": True}
        assert client.requests_made == 1
    assert hits["/"] == 3


def test_500_is_not_retried(serve: Serve) -> None:
    server = serve(lambda seen: (500, {"title": "Internal", "details": "boom"}))
    with (
        KumaApiClient(ApiTarget(server.url, retries=3, backoff_factor=0.01)) as client,
        pytest.raises(KumaApiError, match=r"HTTP 500 \(Internal: boom\)") as caught,
    ):
        client.get_json("/")
    assert caught.value.status == 500 and len(server.seen) == 1


def test_404_suggests_version_mismatch(serve: Serve) -> None:
    server = serve(lambda seen: (404, {"title": "Not found"}))
    with (
        KumaApiClient(ApiTarget(server.url)) as client,
        pytest.raises(KumaApiError, match="version mismatch"),
    ):
        client.get_json("/meshes/default/meshnewthings")


def test_connection_refused_names_address_and_hint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hint = "start `kubectl port-forward -n kong-mesh-system svc/kong-mesh-control-plane 5681:5681`"
    target = ApiTarget(f"http://127.0.0.1:{port}", retries=1, backoff_factor=0.01, address_hint=hint)
    with KumaApiClient(target) as client, pytest.raises(KumaApiError) as caught:
        client.get_json("/")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "kubectl port-forward" in message
    assert "refused" in message


def test_non_json_names_url(serve: Serve) -> None:
    server = serve(lambda seen: (200, b"<!doctype html><title>GUI</title>"))
    with (
        KumaApiClient(ApiTarget(server.url)) as client,
        pytest.raises(KumaApiError, match="not JSON") as caught,
    ):
        client.get_json("/gui")
    assert caught.value.url.endswith("/gui")


def test_concurrent_gets(serve: Serve) -> None:
    server = serve(echo)
    results: dict[int, Any] = {}
    with KumaApiClient(ApiTarget(server.url), pool_size=8) as client:

        def worker(i: int) -> None:
            results[i] = client.get_json(f"/item/{i}")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.requests_made == 40
    assert results == {i: {"path": f"/item/{i}"} for i in range(40)}
