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

What is retried, and for how long, is `RetryPolicy`, the one place the export command, the
program and the zone token issuer take it from. Every wait (a backoff, a Retry-After, a read) ends
at the client's deadline or when it is cancelled (Ctrl-C), so retries never add up to an
unbounded wait. Every message is masked by the one `Redactor` (tokens, URL userinfo).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import RequestHistory, Retry

from components.clients.errors import (
    AuthRejected,
    BadAnswer,
    KumaApiError,
    Misconfigured,
    NotFound,
    Stopped,
    Unreachable,
    for_status,
)
from components.clients.pool import RequestCounter, pool_manager
from components.redaction import CredentialError, Redactor, clean_credential

__all__ = ["ApiTarget", "KumaApiClient", "KumaApiError", "RetryPolicy"]

_LOG = logging.getLogger(__name__)

# Statuses a proxy or a restarting control plane answers transiently; 429 is what the Kubernetes
# API server's priority and fairness answers on the service-proxy path, with a Retry-After.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """What is retried and how long to wait in between: the one place every client takes it from.

    The defaults ride out a control plane restart (every request refused or answered 503 for 30 s:
    the backoff of `status` / `connect` retries adds up to about 37 s), and a control plane
    shedding load. Counted separately, as urllib3 does: answers (`status`), failures to connect
    (`connect`) and connections dropped mid-answer (`read`). Before the control plane answered
    once, a refused connection is retried only `first_connect` times: nothing listening (no
    port-forward) is then said within seconds. Not retried at all: a DNS failure, TLS, 401/403."""

    status: int = 10
    connect: int = 10
    read: int = 3
    first_connect: int = 1
    # urllib3 sleeps min(backoff_max, backoff_factor * 2**(n-1)) before retry n (none before the
    # first), plus up to backoff_jitter at random, so parallel requests do not retry in step.
    backoff_factor: float = 0.5
    backoff_max: float = 5.0
    backoff_jitter: float = 0.25
    # A Retry-After longer than this is cut to it (the deadline bounds the whole anyway).
    retry_after_max: int = 30

    @classmethod
    def at_most(cls, retries: int, backoff_factor: float = 0.3) -> RetryPolicy:
        """Every kind of retry at most `retries` times (0: none, as the check's polling loop)."""
        return cls(status=retries, connect=retries, read=retries, first_connect=retries,
                   backoff_factor=backoff_factor, backoff_max=max(backoff_factor * 8, 0.0),
                   backoff_jitter=0.0)

    def with_counts(self, *, status: int | None = None, connect: int | None = None) -> RetryPolicy:
        """This policy with its own budget for transient answers (`status`: 429, 502, 503, 504)
        and for failed connections (`connect`: refused, timed out); None keeps the policy's. A
        count given for connections applies from the first request on (`first_connect` too)."""
        return replace(self, status=self.status if status is None else status,
                       connect=self.connect if connect is None else connect,
                       first_connect=self.first_connect if connect is None else connect)

    def total_backoff(self, retries: int) -> float:
        """Seconds slept over `retries` consecutive retries (no jitter): how long a restart the
        policy rides out."""
        retry = self.build(self.status).new(backoff_jitter=0.0)
        slept = 0.0
        for _ in range(retries):
            retry = retry.new(history=(*retry.history, RequestHistory("GET", "/", None, 503, None)))
            slept += retry.get_backoff_time()
        return slept

    def build(self, connect: int) -> Retry:
        return _Retry(
            total=None, connect=connect, read=self.read, status=self.status, other=0, redirect=5,
            allowed_methods=frozenset({"GET"}), status_forcelist=_RETRY_STATUSES,
            backoff_factor=self.backoff_factor, backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            # We want the last 5xx response itself, to phrase the error.
            raise_on_status=False,
            respect_retry_after_header=True, retry_after_max=self.retry_after_max,
        )


class _GaveUp(Exception):
    """A wait between retries ended early: the client was cancelled, or its deadline came."""

    def __init__(self, why: str, last: RequestHistory | None) -> None:
        super().__init__(why)
        self.why = why
        self.last = last


class _Budget:
    """The client's deadline and its cancel switch, shared by every request and retry."""

    def __init__(self, deadline_seconds: float | None) -> None:
        self.seconds = deadline_seconds
        self.ends = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        self.cancelled = threading.Event()

    def remaining(self) -> float | None:
        return None if self.ends is None else self.ends - time.monotonic()

    def wait(self, delay: float, last: RequestHistory | None) -> None:
        remaining = self.remaining()
        if remaining is not None and remaining <= delay:
            if self.cancelled.wait(max(0.0, remaining)):
                raise _GaveUp("cancelled", last)
            raise _GaveUp("deadline", last)
        if self.cancelled.wait(delay):
            raise _GaveUp("cancelled", last)


class _Retry(Retry):
    """urllib3's Retry, but its waits end at the client's deadline or when it is cancelled, and a
    name that does not resolve is not retried (it will not start to within a backoff)."""

    budget: _Budget | None = None

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.budget = self.budget
        return retry

    def increment(self, method: str | None = None, url: str | None = None,
                  response: urllib3.BaseHTTPResponse | None = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: TracebackType | None = None) -> Self:
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:
        delay = 0.0
        if self.respect_retry_after_header and response is not None:
            delay = self.get_retry_after(response) or 0.0
        delay = delay or self.get_backoff_time()
        last = self.history[-1] if self.history else None
        if self.budget is None:
            time.sleep(delay)
        else:
            self.budget.wait(delay, last)

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
    # None: `retry` as it is; a number: every kind of retry at most that many times.
    retries: int | None = None
    # Set apart from `retries` (None: as it says): retries of transient answers (429, 5xx) and
    # of failed connections, each counted on its own, as urllib3's Retry counts them.
    status_retries: int | None = None
    connect_retries: int | None = None
    token_source: str = "the API token"
    address_hint: str = ""
    # Seconds; with `retries`: urllib3 sleeps backoff_factor * 2**(n-1) before retry n.
    backoff_factor: float = 0.3
    retry: RetryPolicy = RetryPolicy()
    # One deadline for everything the client does (None: none); `deadline_setting` names where
    # it is set, for the message.
    deadline_seconds: float | None = None
    deadline_setting: str = ""

    def retry_policy(self) -> RetryPolicy:
        policy = (self.retry if self.retries is None
                  else RetryPolicy.at_most(self.retries, self.backoff_factor))
        return policy.with_counts(status=self.status_retries, connect=self.connect_retries)


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


class KumaApiClient:
    """Thread-safe JSON GET client; use as a context manager."""

    def __init__(self, target: ApiTarget, *, pool_size: int = 16) -> None:
        self._target = target
        self._base_url = target.base_url.rstrip("/")
        self._sent = RequestCounter()
        self._redact = Redactor([target.token, *target.headers.values()])
        # A credential with a line break would make http.client raise with the whole header
        # value (the token) in its message: checked here too, whatever its source checked.
        headers: dict[str, str] = {"Accept": "application/json"}
        try:
            headers.update({key: clean_credential(value, target.token_source, header=True)
                            for key, value in target.headers.items()})
            if target.token and not _has_authorization(target.headers):
                headers["Authorization"] = "Bearer " + clean_credential(target.token,
                                                                         target.token_source)
        except CredentialError as error:
            raise Misconfigured(str(error), url=self._redact(self._base_url)) from None
        if isinstance(target.verify, str) and not os.path.isfile(target.verify):
            raise Misconfigured(
                f"the CA bundle {target.verify!r} for {self._redact(self._base_url)} does not "
                "exist: give the path of the PEM file that signed the control plane's certificate",
                url=self._redact(self._base_url))
        self._headers = headers
        policy = target.retry_policy()
        self._budget = _Budget(target.deadline_seconds)
        self._retry = policy.build(policy.connect)
        self._first_retry = policy.build(policy.first_connect)
        for retry in (self._retry, self._first_retry):
            assert isinstance(retry, _Retry)
            retry.budget = self._budget
        self._answered = False
        retry = self._retry
        self._pool = pool_manager(
            num_pools=4, pool_size=pool_size, headers=headers, retries=retry,
            connect_timeout=target.connect_timeout, read_timeout=target.read_timeout,
            verify=target.verify, client_cert=target.client_cert,
        )
        if target.verify is False:
            self._warn_insecure()

    def _warn_insecure(self) -> None:
        with _INSECURE_LOCK:
            # urllib3 would add its own warning to every request: ours, once, says it all.
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
            if self._base_url in _INSECURE_WARNED:
                return
            _INSECURE_WARNED.add(self._base_url)
        message = (
            f"TLS certificate verification is disabled for {self._redact(self._base_url)}: "
            "anyone on the path can read the API token; pass a CA bundle instead"
        )
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
        return self._sent.count

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

    def cancel(self) -> None:
        """Stop: every wait between retries ends now, and no new request is sent (Ctrl-C).
        For good: a cancelled client only fails."""
        self._budget.cancelled.set()

    @property
    def redact(self) -> Redactor:
        """The masking this client applies to its messages (its credentials, URL userinfo)."""
        return self._redact

    def url_for(self, path: str) -> str:
        return _join(self._base_url, path)

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to base_url) and return the parsed JSON body."""
        url = self.url_for(path)
        if params:
            url += "?" + urlencode(params)
        try:
            response = self._send("GET", url)
            self._check_status(response, url)
            return self._parse(response, url)
        except KumaApiError as error:
            raise self._masked(error) from None

    def post_for_text(self, path: str, body: Mapping[str, Any]) -> str:
        """POST a JSON body and return the text answer (the token endpoints answer a bare token).

        Not retried on 5xx (urllib3 retries GETs only): a token request is cheap to repeat by
        hand, and the error says so. The answer is never echoed into an error message."""
        url = self.url_for(path)
        try:
            # Headers given to a request replace the pool's, hence the merge.
            response = self._send("POST", url, body=json.dumps(dict(body)).encode(),
                                  headers={**self._headers, "Content-Type": "application/json"})
            self._check_status(response, url, retried=False)
        except KumaApiError as error:
            raise self._masked(error) from None
        return response.data.decode("utf-8", errors="replace")

    def _masked(self, error: KumaApiError) -> KumaApiError:
        return error.masked(self._redact)

    def _send(self, method: str, url: str, **extra: Any) -> urllib3.BaseHTTPResponse:
        self._sent.add()
        if self._budget.cancelled.is_set():
            raise Stopped(f"{method} {url} was not sent: the export was cancelled", url=url,
                               gave_up="cancelled")
        timeout = urllib3.Timeout(connect=self._target.connect_timeout,
                                  read=self._target.read_timeout)
        remaining = self._budget.remaining()
        if remaining is not None:
            if remaining <= 0:
                raise self._gave_up(_GaveUp("deadline", None), url)
            timeout = urllib3.Timeout(connect=min(self._target.connect_timeout, remaining),
                                      read=min(self._target.read_timeout, remaining))
        try:
            response = self._pool.request(method, url, timeout=timeout,
                                          retries=self._retry if self._answered else self._first_retry,
                                          **extra)
        except _GaveUp as gave_up:
            raise self._gave_up(gave_up, url) from None
        except HTTPError as exc:
            remaining = self._budget.remaining()
            if remaining is not None and remaining <= 0:
                raise self._gave_up(_GaveUp("deadline", None), url, exc) from None
            raise self._transport_error(exc, url) from None
        except (ValueError, UnicodeError):
            # http.client refusing a header value: its message quotes the value, never shown.
            raise Misconfigured(
                f"{method} {url} could not be sent: a request header is not valid (check "
                f"{self._target.token_source} for a line break or a character that is not ASCII)",
                url=url) from None
        self._answered = True
        return response

    def _gave_up(self, gave_up: _GaveUp, url: str, error: BaseException | None = None) -> KumaApiError:
        last = gave_up.last
        failing = ""
        if error is not None:
            reason: BaseException = (error.reason if isinstance(error, MaxRetryError)
                                     and error.reason else error)
            failing = f"; it was still failing with: {_reason(reason)}"
        elif last is not None and last.status:
            failing = f"; it was still answering HTTP {last.status}"
        elif last is not None and last.error is not None:
            failing = f"; it was still failing with: {_reason(last.error)}"
        if gave_up.why == "cancelled":
            return Stopped(f"gave up on {url}: the export was cancelled{failing}", url=url,
                                gave_up="cancelled")
        setting = f" ({self._target.deadline_setting})" if self._target.deadline_setting else ""
        return Stopped(
            f"gave up on {url}: the export did not finish within its deadline of "
            f"{self._target.deadline_seconds:g}s{setting}{failing}. Check the control plane, or "
            "raise the deadline", url=url, status=last.status if last is not None else None,
            gave_up="deadline")

    # -- error phrasing -------------------------------------------------

    def _where(self) -> str:
        hint = self._target.address_hint
        return f" Is the control plane reachable at {self._base_url}?" + (
            f" {hint[0].upper()}{hint[1:]}." if hint else ""
        )

    def _transport_error(self, exc: HTTPError, url: str) -> Unreachable:
        policy = self._target.retry_policy()
        count = policy.connect if self._answered else policy.first_connect
        tries = f" (after {count} retries)" if count else ""
        # Exhausted retries arrive as MaxRetryError(reason=...): classify by the reason.
        reason: BaseException = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
        if isinstance(reason, SSLError):
            return Unreachable(
                f"TLS handshake with {url} failed: {_reason(reason)}. Pass the CA bundle "
                "that signed the control plane certificate (or, only for a test, disable "
                "verification).",
                url=url,
            )
        if isinstance(reason, NameResolutionError):
            host = urlsplit(url).hostname or url
            return Unreachable(
                f"Cannot resolve the host name {host!r} of {url} (DNS): check the address."
                + self._where(), url=url)
        # NewConnectionError (refused) subclasses ConnectTimeoutError in urllib3.
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return Unreachable(
                f"Connecting to {url} timed out after {self._target.connect_timeout:g}s{tries}."
                + self._where(),
                url=url,
            )
        if isinstance(reason, ReadTimeoutError):
            tries = f" (after {policy.read} retries)" if policy.read else ""
            return Unreachable(
                f"The control plane at {url} did not answer within "
                f"{self._target.read_timeout:g}s{tries}; it may be overloaded, or the "
                "port-forward may be stuck. Retry, or raise the read timeout.",
                url=url,
            )
        if isinstance(reason, ProtocolError) and "IncompleteRead" in str(reason):
            return Unreachable(
                f"The answer from {url} was cut off{tries}: the connection closed before the "
                "whole body arrived. Retry; if it persists, check the port-forward or proxy in "
                "between.",
                url=url,
            )
        if isinstance(reason, NewConnectionError | ProtocolError):
            return Unreachable(
                f"Cannot connect to {url}{tries}: {_reason(reason)}." + self._where(), url=url
            )
        return Unreachable(f"Request to {url} failed: {_reason(reason)}", url=url)

    def _check_status(self, response: urllib3.BaseHTTPResponse, url: str, *,
                      retried: bool = True) -> None:
        status = response.status
        if status < 400:
            return
        body = _body_hint(response.data)
        detail = f" ({body})" if body else ""
        elsewhere = _redirected_elsewhere(response, url)
        if status in (401, 403) and elsewhere:
            raise AuthRejected(
                f"{url} redirected to {elsewhere}, another origin, which answered HTTP {status}"
                f"{detail}: credentials are never sent to another origin, so "
                f"{self._target.token_source} was not refused, it was not sent. Give the address "
                "the API answers at itself (no redirect).", url=url, status=status)
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
            raise AuthRejected(what, url=url, status=status)
        if status == 404:
            raise NotFound(
                f"{url} is unknown to this control plane (HTTP 404){detail}: the path does not "
                "exist in its API version (version mismatch?), or the object was deleted "
                "meanwhile.",
                url=url,
                status=status,
            )
        if status in _RETRY_STATUSES:
            count = self._target.retry_policy().status
            after = f" after {count} retries" if retried and count else ""
            raise for_status(status)(
                f"The control plane at {url} kept answering HTTP {status}{detail}{after}; it "
                "may be restarting or overloaded. Retry later.",
                url=url,
                status=status,
            )
        raise for_status(status)(
            f"The control plane at {url} answered HTTP {status}{detail}.", url=url, status=status
        )

    @staticmethod
    def _parse(response: urllib3.BaseHTTPResponse, url: str) -> Any:
        raw = response.data
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadAnswer(
                f"The answer from {url} is not valid UTF-8 (byte {exc.start} of {len(raw)}): JSON "
                "must be UTF-8. Is it really a Kuma control plane API, and not a proxy in between?",
                url=url, status=response.status) from None
        try:
            return json.loads(text)
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
            raise BadAnswer(what, url=url, status=response.status) from None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _redirected_elsewhere(response: urllib3.BaseHTTPResponse, url: str) -> str | None:
    """Where the answer came from after redirects, when that is another origin than `url`."""
    retries = getattr(response, "retries", None)
    locations = [h.redirect_location for h in (retries.history if retries else ())
                 if h.redirect_location]
    if not locations:
        return None
    final = locations[-1]
    if "://" not in final:  # a relative Location stays on the origin
        return None
    return final if _origin(final) != _origin(url) else None


def _reason(exc: BaseException) -> str:
    """The innermost useful cause, without urllib3's object reprs."""
    text = str(exc)
    for marker in ("Caused by ", "] "):
        pos = text.rfind(marker)
        if pos != -1:
            text = text[pos + len(marker) :]
    return text.strip(" ()'\"") or type(exc).__name__
