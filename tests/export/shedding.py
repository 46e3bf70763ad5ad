"""A control plane shedding load, decided by each request itself (issue 21).

Whether an attempt is answered 503 is a hash of the request (method, path with its query) and of
the attempt number of that request: the same attempts are shed in every run, whatever order the
client's threads ask in. A random generator shared by the threads would shed whichever request
happened to draw next, so the longest run of 503s one request meets (the retry budget it needs)
changed from run to run.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from typing import Any

from fake_zone import FakeZone

# One attempt in three is shed: the first 64 bits of the hash, below a third of their range.
_SHED_BELOW = 2**64 // 3


def sheds(method: str, path: str, attempt: int) -> bool:
    """Whether attempt `attempt` (0 for the first) of `method path` is answered 503."""
    digest = hashlib.sha256(f"{method} {path} {attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < _SHED_BELOW


def run_of_503s(method: str, path: str) -> int:
    """How many 503s in a row `method path` meets before its first answer."""
    attempt = 0
    while sheds(method, path, attempt):
        attempt += 1
    return attempt


def longest_run_of_503s(requests: Iterable[str], method: str = "GET") -> int:
    """The longest run of 503s any one of `requests` meets: the retry budget they need."""
    return max((run_of_503s(method, path) for path in requests), default=0)


class Shedding:
    """A FakeZone fault hook shedding the attempts `sheds` names; counts what it shed."""

    def __init__(self) -> None:
        self.answered_503 = 0
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, handler: Any, path: str, query: Any) -> bool:
        request = (handler.command, handler.path)
        with self._lock:
            attempt = self._attempts.get(request, 0)
            self._attempts[request] = attempt + 1
            shed = sheds(*request, attempt)
            self.answered_503 += shed
        if shed:
            FakeZone._send(handler, 503, {"title": "Service Unavailable"})
        return shed
