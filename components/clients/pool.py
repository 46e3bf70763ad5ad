"""The urllib3 connection pool both clients (Kuma API, Kubernetes API) send through."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import certifi
import urllib3
from urllib3.util.retry import Retry


def tls_options(verify: bool | str, client_cert: tuple[str, str] | None) -> dict[str, Any]:
    """urllib3's TLS settings for `verify` and `client_cert`, as requests read them: True trusts
    certifi's bundle, a string is a CA bundle file, False turns verification off."""
    options: dict[str, Any] = {}
    if verify is False:
        options["cert_reqs"] = "CERT_NONE"
    else:
        options["cert_reqs"] = "CERT_REQUIRED"
        options["ca_certs"] = certifi.where() if verify is True else verify
    if client_cert is not None:
        options["cert_file"], options["key_file"] = client_cert
    return options


def pool_manager(*, num_pools: int, pool_size: int, headers: Mapping[str, str], retries: Retry,
                 connect_timeout: float, read_timeout: float, verify: bool | str,
                 client_cert: tuple[str, str] | None) -> urllib3.PoolManager:
    """A pool of at most `pool_size` connections per host: block=True makes callers beyond that
    wait for one. No proxy from the environment: one would silently reroute a loopback
    port-forward."""
    return urllib3.PoolManager(
        num_pools=num_pools, maxsize=max(1, pool_size), block=True, headers=dict(headers),
        retries=retries, timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        **tls_options(verify, client_cert),
    )


class RequestCounter:
    """How many requests a client sent, counted from any thread (retries not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count
