"""HTTP client for a Kuma / Kong Mesh control plane API (port 5681).

One job: turn requests to the control plane into parsed answers (JSON for GETs, the text of a
token for ``post_for_text``), or into a ``KumaApiError`` whose message tells the operator what to
do next. Retries
live in urllib3's ``Retry`` (idempotent GETs only), never in a hand loop, so
backoff and Retry-After handling stay standard.
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

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
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


def _body_hint(response: requests.Response) -> str:
    """A short, single-line excerpt of an error body (Kuma sends title/details)."""
    try:
        payload = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return text[:200]
    if isinstance(payload, dict):
        parts = [str(payload[k]) for k in ("title", "details", "message") if payload.get(k)]
        if parts:
            return ": ".join(parts)[:300]
    return json.dumps(payload)[:200]


class KumaApiClient:
    """Thread-safe JSON GET client; use as a context manager."""

    def __init__(self, target: ApiTarget, *, pool_size: int = 16) -> None:
        self._target = target
        self._base_url = target.base_url.rstrip("/")
        self._lock = threading.Lock()
        self._requests = 0
        self._session = requests.Session()
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
        adapter = HTTPAdapter(
            pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=retry, pool_block=True
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.verify = target.verify
        if target.client_cert is not None:
            self._session.cert = target.client_cert
        headers: dict[str, str] = {"Accept": "application/json"}
        headers.update(target.headers)
        if target.token and not _has_authorization(target.headers):
            headers["Authorization"] = f"Bearer {target.token}"
        self._session.headers.update(headers)
        # Environment proxies would silently reroute a loopback port-forward.
        self._session.trust_env = False
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
        self._session.close()

    def url_for(self, path: str) -> str:
        return _join(self._base_url, path)

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to base_url) and return the parsed JSON body."""
        url = self.url_for(path)
        shown = url
        if params:
            shown = url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        with self._lock:
            self._requests += 1
        try:
            response = self._session.get(
                url,
                params=dict(params) if params else None,
                timeout=(self._target.connect_timeout, self._target.read_timeout),
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, shown) from None
        try:
            self._check_status(response, shown)
            return self._parse(response, shown)
        finally:
            response.close()

    def post_for_text(self, path: str, body: Mapping[str, Any]) -> str:
        """POST a JSON body and return the text answer (the token endpoints answer a bare token).

        Not retried on 5xx (urllib3 retries GETs only): a token request is cheap to repeat by
        hand, and the error says so. The answer is never echoed into an error message."""
        url = self.url_for(path)
        with self._lock:
            self._requests += 1
        try:
            response = self._session.post(
                url, json=dict(body),
                timeout=(self._target.connect_timeout, self._target.read_timeout),
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, url) from None
        try:
            self._check_status(response, url, retried=False)
            try:
                return response.text
            except requests.exceptions.RequestException as exc:
                raise KumaApiError(f"The answer from {url} was cut off while reading it: "
                                   f"{_reason(exc)}. Retry.", url=url,
                                   status=response.status_code) from None
        finally:
            response.close()

    # -- error phrasing -------------------------------------------------

    def _where(self) -> str:
        hint = self._target.address_hint
        return f" Is the control plane reachable at {self._base_url}?" + (
            f" {hint[0].upper()}{hint[1:]}." if hint else ""
        )

    def _transport_error(self, exc: requests.exceptions.RequestException, url: str) -> KumaApiError:
        tries = f" (after {self._target.retries} retries)" if self._target.retries else ""
        if isinstance(exc, requests.exceptions.SSLError):
            return KumaApiError(
                f"TLS handshake with {url} failed{tries}: {_reason(exc)}. Pass the CA bundle "
                "that signed the control plane certificate (or, only for a test, disable "
                "verification).",
                url=url,
            )
        # With a urllib3 Retry, exhausted timeouts arrive as a ConnectionError
        # wrapping MaxRetryError(reason=...Timeout...): classify by the reason.
        reason = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
        # NewConnectionError (refused) subclasses ConnectTimeoutError in urllib3.
        refused = isinstance(reason, NewConnectionError)
        if not refused and (
            isinstance(exc, requests.exceptions.ConnectTimeout)
            or isinstance(reason, ConnectTimeoutError)
        ):
            return KumaApiError(
                f"Connecting to {url} timed out after {self._target.connect_timeout:g}s{tries}."
                + self._where(),
                url=url,
            )
        if isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(reason, ReadTimeoutError):
            return KumaApiError(
                f"The control plane at {url} did not answer within "
                f"{self._target.read_timeout:g}s{tries}; it may be overloaded, or the "
                "port-forward may be stuck. Retry, or raise the read timeout.",
                url=url,
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return KumaApiError(
                f"Cannot connect to {url}{tries}: {_reason(exc)}." + self._where(), url=url
            )
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return KumaApiError(
                f"The answer from {url} was cut off: the connection closed before the whole "
                "body arrived. Retry; if it persists, check the port-forward or proxy in between.",
                url=url,
            )
        return KumaApiError(f"Request to {url} failed: {_reason(exc)}", url=url)

    def _check_status(self, response: requests.Response, url: str, *, retried: bool = True) -> None:
        status = response.status_code
        if status < 400:
            return
        body = _body_hint(response)
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
    def _parse(response: requests.Response, url: str) -> Any:
        try:
            raw = response.content
        except requests.exceptions.RequestException as exc:
            raise KumaApiError(
                f"The answer from {url} was cut off while reading it: {_reason(exc)}. Retry; if "
                "it persists, check the port-forward or proxy in between.",
                url=url,
                status=response.status_code,
            ) from None
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
            raise KumaApiError(what, url=url, status=response.status_code) from None


def _reason(exc: BaseException) -> str:
    """The innermost useful cause, without urllib3's object reprs."""
    text = str(exc)
    for marker in ("Caused by ", "] "):
        pos = text.rfind(marker)
        if pos != -1:
            text = text[pos + len(marker) :]
    return text.strip(" ()'\"") or type(exc).__name__
