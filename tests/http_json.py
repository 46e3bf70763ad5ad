"""The JSON answer every loopback fake server in the tests sends."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def send_json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    raw = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A loopback test server that survives bursts: the listen backlog is fixed when the server
    is constructed (socketserver's default is 5, so a 16-wide client burst on a busy machine
    sees SYNs dropped and connect timeouts), and handler threads never block interpreter exit."""

    request_queue_size = 1024
    daemon_threads = True
