"""Faults against loopback servers: each ends in a clear error, in bounded time."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fake_zone import FakeZone

from components.clients.kuma_api import ApiTarget, KumaApiClient, KumaApiError
from components.export import ExportError, ExportOptions, ExportResult, export_zone

FAST = {"connect_timeout": 1.0, "read_timeout": 1.0, "backoff_factor": 0.01}


def run(base_url: str, retries: int = 0, **options: Any) -> ExportResult:
    target = ApiTarget(base_url, token="zone-token", retries=retries, **FAST)  # type: ignore[arg-type]
    with KumaApiClient(target) as client:
        return export_zone(client, ExportOptions(**options))


def test_wrong_token(make_zone: Callable[..., FakeZone]) -> None:
    zone = make_zone(token="the-right-one")
    target = ApiTarget(zone.base_url, token="zone-token", token_source="zones[0].api.token", retries=0)
    with KumaApiClient(target) as client, pytest.raises(KumaApiError) as caught:
        export_zone(client, ExportOptions())
    assert caught.value.status == 401
    assert "zones[0].api.token" in str(caught.value)
    assert "zone-token" not in str(caught.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_nothing_listening() -> None:
    port = free_port()
    target = ApiTarget(
        f"http://127.0.0.1:{port}", retries=1, address_hint="start the port-forward", **FAST  # type: ignore[arg-type]
    )
    with KumaApiClient(target) as client, pytest.raises(KumaApiError) as caught:
        export_zone(client, ExportOptions())
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "port-forward" in message
    assert "Cannot connect" in message and "refused" in message
    assert caught.value.status is None


def test_transient_503s_are_retried(make_zone: Callable[..., FakeZone]) -> None:
    clean = run(make_zone().base_url)
    failures: Counter[str] = Counter()
    lock = threading.Lock()

    def flaky(handler: Any, path: str, query: Any) -> bool:
        with lock:
            failures[handler.path] += 1
            fail = failures[handler.path] <= 2
        if fail:
            FakeZone._send(handler, 503, {"title": "Service Unavailable"})
        return fail

    flaky_zone = make_zone(fault=flaky)
    # Two 503s per request need two retries; the slack absorbs unrelated
    # loopback glitches on a loaded machine (seen once, not reproduced).
    result = run(flaky_zone.base_url, retries=5)
    assert result.documents == clean.documents
    assert max(failures.values()) == 3  # two 503s, then the answer


def test_persistent_503_gives_up(make_zone: Callable[..., FakeZone]) -> None:
    def down(handler: Any, path: str, query: Any) -> bool:
        if path == "/_resources":
            FakeZone._send(handler, 503, {"title": "Service Unavailable"})
            return True
        return False

    with pytest.raises(KumaApiError) as caught:
        run(make_zone(fault=down).base_url, retries=2)
    assert caught.value.status == 503 and "after 2 retries" in str(caught.value)


def test_next_that_never_ends(make_zone: Callable[..., FakeZone]) -> None:
    def loop(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/meshtimeouts"):
            FakeZone._send(
                handler,
                200,
                {
                    "total": 1,
                    "items": [{"type": "MeshTimeout", "name": "x", "mesh": "default"}],
                    "next": f"http://elsewhere{path}?offset=7&size=1000",
                },
            )
            return True
        return False

    with pytest.raises(ExportError, match="never ends"):
        run(make_zone(fault=loop).base_url)


def test_next_with_ever_new_offsets(make_zone: Callable[..., FakeZone]) -> None:
    def endless(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/meshtimeouts"):
            offset = int(query.get("offset", "0"))
            FakeZone._send(
                handler,
                200,
                {
                    "total": 2,
                    "items": [{"type": "MeshTimeout", "name": f"x{offset}", "mesh": "default"}],
                    "next": f"http://elsewhere{path}?offset={offset + 1}&size=1000",
                },
            )
            return True
        return False

    with pytest.raises(ExportError, match="refusing to loop"):
        run(make_zone(fault=endless).base_url)


def test_empty_page_with_next(make_zone: Callable[..., FakeZone]) -> None:
    def empty(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/meshtimeouts"):
            FakeZone._send(handler, 200, {"total": 0, "items": [], "next": f"{path}?offset=5"})
            return True
        return False

    with pytest.raises(ExportError, match="empty page"):
        run(make_zone(fault=empty).base_url)


def test_truncated_json(make_zone: Callable[..., FakeZone]) -> None:
    def truncated(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/timeout-0007"):
            body = b'{"apiVersion": "kuma.io/v1alpha1", "kind": "MeshTi'
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return True
        return False

    with pytest.raises(KumaApiError) as caught:
        run(make_zone(fault=truncated).base_url)
    assert "timeout-0007" in str(caught.value) and "truncated" in str(caught.value)


def test_body_cut_off(make_zone: Callable[..., FakeZone]) -> None:
    def cut(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/timeout-0003"):
            handler.send_response(200)
            handler.send_header("Content-Length", "5000")
            handler.end_headers()
            handler.wfile.write(b'{"apiVersion": "kuma.io/v1alpha1"')
            handler.wfile.flush()
            handler.close_connection = True
            return True
        return False

    with pytest.raises(KumaApiError, match="cut off"):
        run(make_zone(fault=cut).base_url)


def test_not_json(make_zone: Callable[..., FakeZone]) -> None:
    def html(handler: Any, path: str, query: Any) -> bool:
        if path == "/config":
            body = b"<html>GUI</html>"
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return True
        return False

    with pytest.raises(KumaApiError, match="not JSON") as caught:
        run(make_zone(fault=html).base_url)
    assert "/config" in str(caught.value)


def test_page_size_over_1000_rejected(make_zone: Callable[..., FakeZone]) -> None:
    zone = make_zone()
    with pytest.raises(ExportError, match="page size 2000"):
        run(zone.base_url, page_size=2000)
    assert zone.requests == []  # refused before asking anything
    # And a server that refuses a page size says so clearly.
    with (
        KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client,
        pytest.raises(KumaApiError) as caught,
    ):
        client.get_json("meshes", {"size": 1001})
    assert caught.value.status == 400 and "page size" in str(caught.value)


def test_type_answering_404(make_zone: Callable[..., FakeZone]) -> None:
    def missing(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/meshtrafficpermissions"):
            FakeZone._send(handler, 404, {"title": "Not Found"})
            return True
        return False

    with pytest.raises(KumaApiError) as caught:
        run(make_zone(fault=missing).base_url)
    assert caught.value.status == 404
    assert "meshtrafficpermissions" in str(caught.value) and "version mismatch" in str(caught.value)


def test_slow_server(make_zone: Callable[..., FakeZone]) -> None:
    release = threading.Event()

    def slow(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/allow-all"):
            # Far longer than the read timeout, so a loaded machine cannot answer in time.
            release.wait(60)
        return False

    zone = make_zone(fault=slow)
    try:
        target = ApiTarget(zone.base_url, retries=0, connect_timeout=1.0, read_timeout=0.3)
        with KumaApiClient(target) as client, pytest.raises(KumaApiError) as caught:
            export_zone(client, ExportOptions())
    finally:
        release.set()
    assert "did not answer within 0.3s" in str(caught.value)


@pytest.mark.parametrize("profile", ["federations", ""])
def test_unknown_profile(profile: str) -> None:
    with pytest.raises(ExportError, match="invalid profile"):
        run("http://127.0.0.1:9", profile=profile)
