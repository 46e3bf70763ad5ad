"""A tiny loopback HTTP server whose answers each test scripts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from loopback import Script, Seen, Server

from tests.http_json import LoopbackHTTPServer


@pytest.fixture
def serve() -> Iterator[Callable[[Script], Server]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: Script) -> Server:
        record: list[Seen] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen = Seen(self.path, {k: v for k, v in self.headers.items()})
                with lock:
                    record.append(seen)
                status, body = script(seen)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return Server(f"http://127.0.0.1:{server.server_port}", record)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
