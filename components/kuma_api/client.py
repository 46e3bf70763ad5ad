"""HTTP client for a Kuma / Kong Mesh control plane API (port 5681).

One job: turn requests to the control plane into parsed answers (JSON for GETs, the text of a
token for ``post_for_text``), or into a ``KumaApiError`` whose message tells the operator what to
do next.

The transport is urllib3 itself (the library under ``requests``): an export sends one GET per
object, thousands per zone, and ``requests``' per-call layers (settings merge, cookie jar,
hooks, response wrapping) cost twice urllib3's CPU for the same GET (bench/program.py). Retries
live in urllib3's ``Retry`` (idempotent GETs only), never in a hand loop, so backoff and
Retry-After handling stay standard; ``PoolManager`` follows redirects and drops the
Authorization header when one leaves the host, as ``requests`` did.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

_LOG = logging.getLogger(__name__)

# Statuses a proxy or a restarting control plane answers transiently.
_RETRY_STATUSES = frozenset({502, 503, 504})

# URLs we already warned about for disabled TLS verification: once per process
# is enough, a warning per request would bury the real diagnostics.
_INSECURE_WARNED: set[str] = set()
_INSECURE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ApiTarget:
    """Where and how to reach one control plane API."""

    base_url: str
    # repr=False: the token and the headers (which may carry a kube bearer
    # token) must never end up in a log line or a traceback.
    token: str | None = field(default=None, repr=False)
    verify: bool | str = True
    client_cert: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3
    token_source: str = "the API token"
    address_hint: str = ""
    # Seconds; urllib3 sleeps backoff_factor * 2**(n-1) before retry n.
    backoff_factor: float = 0.3


class KumaApiError(Exception):
    """A control plane request failed; the message says what to do."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


def _join(base_url: str, path: str) -> str:
    # Plain string joining, not urljoin: a Kubernetes service-proxy base URL
    # carries a path prefix that urljoin would drop for "/meshes".
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _has_authorization(headers: Mapping[str, str]) -> bool:
    return any(key.lower() == "authorization" for key in headers)


def _body_hint(raw: bytes) -> str:
    """A short, single-line excerpt of an error body (Kuma sends title/details)."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace").strip().replace("\n", " ")[:200]
    if isinstance(payload, dict):
        parts = [str(payload[k]) for k in ("title", "details", "message") if payload.get(k)]
        # A 400's reason is in its invalid parameters (Kuma's std-errors body, e.g. the API
        # server's vector resources/crud/list_dp_with_label_filter_bad.golden.json).
        parts += [f"{p.get('field')}: {p.get('reason')}" for p in payload.get("invalid_parameters")
                  or () if isinstance(p, dict)]
        if parts:
            return ": ".join(parts)[:300]
    return json.dumps(payload)[:200]


def _tls_options(target: ApiTarget) -> dict[str, Any]:
    """urllib3's TLS settings for `verify` and `client_cert`, as requests read them: True trusts
    certifi's bundle, a string is a CA bundle file, False turns verification off."""
    options: dict[str, Any] = {}
    if target.verify is False:
        options["cert_reqs"] = "CERT_NONE"
    else:
        options["cert_reqs"] = "CERT_REQUIRED"
        options["ca_certs"] = certifi.where() if target.verify is True else target.verify
    if target.client_cert is not None:
        options["cert_file"], options["key_file"] = target.client_cert
    return options


class KumaApiClient:
    """Thread-safe JSON GET client; use as a context manager."""

    def __init__(self, target: ApiTarget, *, pool_size: int = 16) -> None:
        self._target = target
        self._base_url = target.base_url.rstrip("/")
        self._lock = threading.Lock()
        self._requests = 0
        retry = Retry(
            total=target.retries,
            connect=target.retries,
            read=target.retries,
            status=target.retries,
            other=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=_RETRY_STATUSES,
            backoff_factor=target.backoff_factor,
            # We want the last 5xx response itself, to phrase the error.
            raise_on_status=False,
            # A proxy's Retry-After could stall the export for minutes; the
            # caller's timeouts and retries must bound the time instead.
            respect_retry_after_header=False,
        )
        headers: dict[str, str] = {"Accept": "application/json"}
        headers.update(target.headers)
        if target.token and not _has_authorization(target.headers):
            headers["Authorization"] = f"Bearer {target.token}"
        self._headers = headers
        # No proxy from the environment: one would silently reroute a loopback port-forward.
        # block=True: at most pool_size connections, callers beyond that wait for one.
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=max(1, pool_size), block=True, headers=headers, retries=retry,
            timeout=urllib3.Timeout(connect=target.connect_timeout, read=target.read_timeout),
            **_tls_options(target),
        )
        if target.verify is False:
            self._warn_insecure()

    def _warn_insecure(self) -> None:
        with _INSECURE_LOCK:
            if self._base_url in _INSECURE_WARNED:
                return
            _INSECURE_WARNED.add(self._base_url)
        message = (
            f"TLS certificate verification is disabled for {self._base_url}: "
            "anyone on the path can read the API token; pass a CA bundle instead"
        )
        _LOG.warning(message)
        warnings.warn(message, stacklevel=3)

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def target(self) -> ApiTarget:
        return self._target

    @property
    def requests_made(self) -> int:
        """How many get_json calls were sent (urllib3 retries not counted)."""
        with self._lock:
            return self._requests

    def __repr__(self) -> str:
        return f"KumaApiClient(base_url={self._base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.clear()

    def url_for(self, path: str) -> str:
        return _join(self._base_url, path)

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to base_url) and return the parsed JSON body."""
        url = self.url_for(path)
        if params:
            url += "?" + urlencode(params)
        response = self._send("GET", url)
        self._check_status(response, url)
        return self._parse(response, url)

    def post_for_text(self, path: str, body: Mapping[str, Any]) -> str:
        """POST a JSON body and return the text answer (the token endpoints answer a bare token).

        Not retried on 5xx (urllib3 retries GETs only): a token request is cheap to repeat by
        hand, and the error says so. The answer is never echoed into an error message."""
        url = self.url_for(path)
        # Headers given to a request replace the pool's, hence the merge.
        response = self._send("POST", url, body=json.dumps(dict(body)).encode(),
                              headers={**self._headers, "Content-Type": "application/json"})
        self._check_status(response, url, retried=False)
        return response.data.decode("utf-8", errors="replace")

    def _send(self, method: str, url: str, **extra: Any) -> urllib3.BaseHTTPResponse:
        with self._lock:
            self._requests += 1
        try:
            return self._pool.request(method, url, **extra)
        except HTTPError as exc:
            raise self._transport_error(exc, url) from None

    # -- error phrasing -------------------------------------------------

    def _where(self) -> str:
        hint = self._target.address_hint
        return f" Is the control plane reachable at {self._base_url}?" + (
            f" {hint[0].upper()}{hint[1:]}." if hint else ""
        )

    def _transport_error(self, exc: HTTPError, url: str) -> KumaApiError:
        tries = f" (after {self._target.retries} retries)" if self._target.retries else ""
        # Exhausted retries arrive as MaxRetryError(reason=...): classify by the reason.
        reason: BaseException = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
        if isinstance(reason, SSLError):
            return KumaApiError(
                f"TLS handshake with {url} failed{tries}: {_reason(reason)}. Pass the CA bundle "
                "that signed the control plane certificate (or, only for a test, disable "
                "verification).",
                url=url,
            )
        # NewConnectionError (refused) subclasses ConnectTimeoutError in urllib3.
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return KumaApiError(
                f"Connecting to {url} timed out after {self._target.connect_timeout:g}s{tries}."
                + self._where(),
                url=url,
            )
        if isinstance(reason, ReadTimeoutError):
            return KumaApiError(
                f"The control plane at {url} did not answer within "
                f"{self._target.read_timeout:g}s{tries}; it may be overloaded, or the "
                "port-forward may be stuck. Retry, or raise the read timeout.",
                url=url,
            )
        if isinstance(reason, ProtocolError) and "IncompleteRead" in str(reason):
            return KumaApiError(
                f"The answer from {url} was cut off{tries}: the connection closed before the "
                "whole body arrived. Retry; if it persists, check the port-forward or proxy in "
                "between.",
                url=url,
            )
        if isinstance(reason, NewConnectionError | ProtocolError):
            return KumaApiError(
                f"Cannot connect to {url}{tries}: {_reason(reason)}." + self._where(), url=url
            )
        return KumaApiError(f"Request to {url} failed: {_reason(reason)}", url=url)

    def _check_status(self, response: urllib3.BaseHTTPResponse, url: str, *,
                      retried: bool = True) -> None:
        status = response.status
        if status < 400:
            return
        body = _body_hint(response.data)
        detail = f" ({body})" if body else ""
        if status in (401, 403):
            if self._target.token or _has_authorization(self._target.headers):
                what = (
                    f"The control plane at {url} refused {self._target.token_source} "
                    f"(HTTP {status}){detail}. Check that {self._target.token_source} is a "
                    "current admin user token for this control plane."
                )
            else:
                what = (
                    f"The control plane at {url} requires authentication (HTTP {status})"
                    f"{detail}, and no token was given. Set {self._target.token_source}."
                )
            raise KumaApiError(what, url=url, status=status)
        if status == 404:
            raise KumaApiError(
                f"{url} is unknown to this control plane (HTTP 404){detail}: the path does not "
                "exist in its API version (version mismatch?), or the object was deleted "
                "meanwhile.",
                url=url,
                status=status,
            )
        if status in _RETRY_STATUSES:
            after = f" after {self._target.retries} retries" if retried else ""
            raise KumaApiError(
                f"The control plane at {url} kept answering HTTP {status}{detail}{after}; it "
                "may be restarting or overloaded. Retry later.",
                url=url,
                status=status,
            )
        raise KumaApiError(
            f"The control plane at {url} answered HTTP {status}{detail}.", url=url, status=status
        )

    @staticmethod
    def _parse(response: urllib3.BaseHTTPResponse, url: str) -> Any:
        raw = response.data
        try:
            return json.loads(raw)
        except ValueError as exc:
            ctype = response.headers.get("Content-Type", "unknown")
            if raw.lstrip()[:1] in (b"{", b"["):
                what = (
                    f"The answer from {url} is truncated or malformed JSON ({len(raw)} bytes, "
                    f"{exc}). Retry; if it persists, check the port-forward or proxy in between."
                )
            else:
                what = (
                    f"The answer from {url} is not JSON (Content-Type {ctype}, {len(raw)} bytes)."
                    f" Is {url} really a Kuma control plane API, and not a proxy or the GUI?"
                )
            raise KumaApiError(what, url=url, status=response.status) from None


def _reason(exc: BaseException) -> str:
    """The innermost useful cause, without urllib3's object reprs."""
    text = str(exc)
    for marker in ("Caused by ", "] "):
        pos = text.rfind(marker)
        if pos != -1:
            text = text[pos + len(marker) :]
    return text.strip(" ()'\"") or type(exc).__name__
