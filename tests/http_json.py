"""The loopback fake servers of the tests: the JSON answer they send, and how they serve."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


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


def serve_get(handle: Callable[[BaseHTTPRequestHandler], None], port: int = 0) -> LoopbackHTTPServer:
    """A keep-alive loopback server on `port` (0: any free one) whose GETs `handle` answers,
    serving from a thread of its own."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in separate writes: without this, Nagle and delayed ACKs add
        # ~40 ms to every keep-alive request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            handle(self)

    server = LoopbackHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class LoopbackService:
    """The lifecycle of a fake API served by `serve_get`: `start` it (or use it in a `with`),
    read `base_url`, `stop` it; each request is `counted`."""

    _server: ThreadingHTTPServer | None
    latency: float
    requests: list[str]
    peak_in_flight: int
    _in_flight: int
    _lock: threading.Lock

    @contextmanager
    def counted(self, path: str) -> Iterator[None]:
        """Record a request and how many run at once, after `latency` seconds."""
        with self._lock:
            self.requests.append(path)
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def start(self) -> str:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
