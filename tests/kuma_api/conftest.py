"""A tiny loopback HTTP server whose answers each test scripts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from loopback import Script, Seen, Server

from tests.http_json import serve_get


@pytest.fixture
def serve() -> Iterator[Callable[[Script], Server]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: Script) -> Server:
        record: list[Seen] = []
        lock = threading.Lock()

        def answer(handler: BaseHTTPRequestHandler) -> None:
            seen = Seen(handler.path, {k: v for k, v in handler.headers.items()})
            with lock:
                record.append(seen)
            status, body = script(seen)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)

        server = serve_get(answer)
        servers.append(server)
        return Server(f"http://127.0.0.1:{server.server_port}", record)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
