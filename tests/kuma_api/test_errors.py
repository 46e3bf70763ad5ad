"""What went wrong is a class (components/clients/errors.py), as httpx says it: each kind of
failure the client meets is raised as its own subclass of `KumaApiError`, with the message it
always had. The answers are the API server's own (vectors api-server-testdata/resources/crud/:
list_mesh_02 for a 400, get_resource_not-found for a 404)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from loopback import Seen, Server

from components.check.cli import RedactingApi
from components.clients.errors import (
    AuthRejected,
    BadAnswer,
    KumaApiError,
    Misconfigured,
    NotFound,
    RequestRejected,
    ServerFailed,
    Stopped,
    Throttled,
    Unreachable,
)
from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.redaction import Redactor
from tests.upstream import upstream_path

Serve = Callable[[Callable[[Seen], tuple[int, Any]]], Server]
CRUD = "api-server-testdata/resources/crud"


def golden(name: str) -> Any:
    return json.loads(upstream_path(f"{CRUD}/{name}.golden.json").read_text())


def failure(serve: Serve, status: int, body: Any, token: str | None = "t0k3n") -> KumaApiError:
    server = serve(lambda seen: (status, body))
    with KumaApiClient(ApiTarget(server.url, token=token, retries=0)) as client, \
            pytest.raises(KumaApiError) as caught:
        client.get_json("/meshes")
    return caught.value


@pytest.mark.parametrize(("status", "kind", "said"), [
    (400, RequestRejected, "answered HTTP 400 (Could not retrieve resources: Invalid page size"),
    (401, AuthRejected, "refused the API token (HTTP 401)"),
    (403, AuthRejected, "refused the API token (HTTP 403)"),
    (404, NotFound, "is unknown to this control plane (HTTP 404)"),
    (408, Throttled, "answered HTTP 408"),
    (429, Throttled, "kept answering HTTP 429"),
    (500, ServerFailed, "answered HTTP 500"),
    (503, ServerFailed, "kept answering HTTP 503"),
])  # fmt: skip
def test_each_status_is_its_class(serve: Serve, status: int, kind: type[KumaApiError],
                                  said: str) -> None:
    body = golden("list_mesh_02") if status == 400 else golden("get_resource_not-found")
    error = failure(serve, status, {**body, "status": status})
    assert type(error) is kind and error.status == status
    assert said in str(error)


def test_an_answer_that_is_not_json_is_a_bad_answer(serve: Serve) -> None:
    error = failure(serve, 200, b"<!doctype html><title>GUI</title>")
    assert type(error) is BadAnswer and "is not JSON" in str(error)


def test_no_listener_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with KumaApiClient(ApiTarget(f"http://127.0.0.1:{port}", retries=0)) as client, \
            pytest.raises(Unreachable, match="Cannot connect"):
        client.get_json("/")


def test_a_cancelled_client_is_stopped(serve: Serve) -> None:
    server = serve(lambda seen: (200, {}))
    with KumaApiClient(ApiTarget(server.url, retries=0)) as client, \
            pytest.raises(Stopped, match="was not sent") as caught:
        client.cancel()
        client.get_json("/")
    assert caught.value.gave_up == "cancelled"


def test_an_unusable_credential_is_misconfigured() -> None:
    with pytest.raises(Misconfigured):
        KumaApiClient(ApiTarget("http://127.0.0.1:9", token="two\nlines"))


def test_masking_keeps_the_class(serve: Serve) -> None:
    """The check masks its clients' errors (RedactingApi) and still tells a refused credential
    from a server down."""
    server = serve(lambda seen: (401, {"title": "Unauthenticated", "detail": "t0k3n is stale"}))
    with KumaApiClient(ApiTarget(server.url, token="t0k3n", retries=0)) as client, \
            pytest.raises(AuthRejected) as caught:
        RedactingApi(client, Redactor(["t0k3n"])).get_json("/meshes")
    assert "t0k3n" not in str(caught.value) and caught.value.status == 401
