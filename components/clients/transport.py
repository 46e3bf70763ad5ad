"""The one transport under both HTTP clients (the Kuma API's, the Kubernetes API's): where a
target is (`ApiTarget`: URL, credentials, TLS), what is retried (`RetryPolicy`, `RETRY_STATUSES`),
how long everything may take (`Budget`: the deadline and the cancel, shared by every request of
an export whichever client sends it), and what a request that got no answer means in words
(`Unreachable`, `Stopped`: never urllib3's pool repr).

As httpx splits `Client` from `Timeout` and its transport: the clients are thin facades that
phrase the answers of their own API; everything about getting an answer is here, once.

The transport is urllib3 itself (the library under ``requests``): an export sends one GET per
object, thousands per zone, and ``requests``' per-call layers cost twice urllib3's CPU for the
same GET (bench/program.py). Retries live in urllib3's ``Retry`` (idempotent GETs only), never in
a hand loop, so backoff and Retry-After handling stay standard; ``PoolManager`` follows redirects
and drops the Authorization header when one leaves the host, as ``requests`` did. Every wait (a
backoff, a Retry-After, a connect, a read) ends at the budget's deadline or when it is cancelled
(Ctrl-C), so retries never add up to an unbounded wait. Every message is masked by the one
`Redactor` (credentials, URL userinfo).
"""

from __future__ import annotations

import os
import re
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

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

from components.clients.errors import ApiError, Misconfigured, Stopped, Unreachable
from components.clients.pool import RequestCounter, pool_manager
from components.redaction import CredentialError, Redactor, clean_credential

__all__ = ["RETRY_STATUSES", "ApiTarget", "Budget", "InsecureTransportWarning", "RetryPolicy",
           "Transport"]

# Statuses a proxy or a restarting control plane answers transiently; 429 is what the Kubernetes
# API server's priority and fairness answers (on its own paths and the service proxy's), with a
# Retry-After.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class InsecureTransportWarning(UserWarning):
    """TLS verification is off for a server: said once per server, through the warning hook the
    command or the program installs (its own log line, not Python's warning format)."""


@dataclass(frozen=True)
class RetryPolicy:
    """What is retried and how long to wait in between: the one place every client takes it from.

    The defaults ride out a control plane restart (every request refused or answered 503 for 30 s:
    the backoff of `status` / `connect` retries adds up to about 37 s), and a server shedding
    load. Counted separately, as urllib3 does: answers (`status`), failures to connect
    (`connect`) and connections dropped mid-answer (`read`). Before the server answered once, a
    refused connection is retried only `first_connect` times: nothing listening (no
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
            allowed_methods=frozenset({"GET"}), status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_factor, backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            # We want the last 5xx response itself, to phrase the error.
            raise_on_status=False,
            respect_retry_after_header=True, retry_after_max=self.retry_after_max,
        )


class _GaveUp(Exception):
    """A wait between retries ended early: the budget was cancelled, or its deadline came."""

    def __init__(self, why: str, last: RequestHistory | None) -> None:
        super().__init__(why)
        self.why = why
        self.last = last


class Budget:
    """One deadline and one cancel switch, shared by every request and retry of every client
    given it: an export's Kuma API reads and Kubernetes API lists end together."""

    def __init__(self, seconds: float | None, setting: str = "") -> None:
        self.seconds = seconds
        # Where the deadline is set (a flag, a config key), for the message.
        self.setting = setting
        self.ends = None if seconds is None else time.monotonic() + seconds
        self.cancelled = threading.Event()

    @classmethod
    def of(cls, target: ApiTarget) -> Budget:
        """A budget starting now, with the target's deadline."""
        return cls(target.deadline_seconds, target.deadline_setting)

    def cancel(self) -> None:
        self.cancelled.set()

    def remaining(self) -> float | None:
        return None if self.ends is None else self.ends - time.monotonic()

    def timeout(self, connect: float, read: float) -> urllib3.Timeout:
        """The request's own timeouts, cut to what remains of the deadline."""
        remaining = self.remaining()
        if remaining is None:
            return urllib3.Timeout(connect=connect, read=read)
        return urllib3.Timeout(connect=min(connect, remaining), read=min(read, remaining))

    def wait(self, delay: float, last: RequestHistory | None) -> None:
        remaining = self.remaining()
        if remaining is not None and remaining <= delay:
            if self.cancelled.wait(max(0.0, remaining)):
                raise _GaveUp("cancelled", last)
            raise _GaveUp("deadline", last)
        if self.cancelled.wait(delay):
            raise _GaveUp("cancelled", last)


class _Retry(Retry):
    """urllib3's Retry, but its waits end at the budget's deadline or when it is cancelled, and a
    name that does not resolve is not retried (it will not start to within a backoff)."""

    budget: Budget | None = None

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


@dataclass(frozen=True)
class ApiTarget:
    """Where and how to reach one API server (a control plane's, a cluster's)."""

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
    # What the server is called in messages (e.g. "kube context 'zone'"); empty: its URL.
    name: str = ""

    def retry_policy(self) -> RetryPolicy:
        policy = (self.retry if self.retries is None
                  else RetryPolicy.at_most(self.retries, self.backoff_factor))
        return policy.with_counts(status=self.status_retries, connect=self.connect_retries)

    def limited_as(self, other: ApiTarget) -> ApiTarget:
        """This server, with `other`'s timeouts, retries and deadline: every request of an
        export keeps the same promise, whichever API it asks."""
        return replace(self, **{name: getattr(other, name) for name in _LIMITS})


# The fields of ApiTarget that say how long and how often, not where.
_LIMITS = ("connect_timeout", "read_timeout", "retries", "status_retries", "connect_retries",
           "backoff_factor", "retry", "deadline_seconds", "deadline_setting")


def has_authorization(headers: Mapping[str, str]) -> bool:
    return any(key.lower() == "authorization" for key in headers)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


# Servers already warned about for disabled TLS verification: once per process and server is
# enough (the Kuma API through the service proxy and the Kubernetes API are one server).
_INSECURE_WARNED: set[tuple[str, str, int | None]] = set()
_INSECURE_LOCK = threading.Lock()


class Transport:
    """Requests to one target, through one pool, within one budget; thread-safe."""

    def __init__(self, target: ApiTarget, *, pool_size: int, num_pools: int,
                 budget: Budget | None = None) -> None:
        self.target = target
        self.base_url = target.base_url.rstrip("/")
        self.budget = budget if budget is not None else Budget.of(target)
        self.redact = Redactor([target.token, *target.headers.values()])
        self._sent = RequestCounter()
        # A credential with a line break would make http.client raise with the whole header
        # value (the token) in its message: checked here too, whatever its source checked.
        headers: dict[str, str] = {"Accept": "application/json"}
        try:
            headers.update({key: clean_credential(value, target.token_source, header=True)
                            for key, value in target.headers.items()})
            if target.token and not has_authorization(target.headers):
                headers["Authorization"] = "Bearer " + clean_credential(target.token,
                                                                         target.token_source)
        except CredentialError as error:
            raise Misconfigured(str(error), url=self.redact(self.base_url)) from None
        if isinstance(target.verify, str) and not os.path.isfile(target.verify):
            raise Misconfigured(
                f"the CA bundle {target.verify!r} for {self.redact(self.base_url)} does not "
                "exist: give the path of the PEM file that signed the server's certificate",
                url=self.redact(self.base_url))
        self.headers = headers
        self.policy = target.retry_policy()
        self._retry = self.policy.build(self.policy.connect)
        self._first_retry = self.policy.build(self.policy.first_connect)
        for retry in (self._retry, self._first_retry):
            assert isinstance(retry, _Retry)
            retry.budget = self.budget
        self.answered = False
        self._pool = pool_manager(
            num_pools=num_pools, pool_size=pool_size, headers=headers, retries=self._retry,
            connect_timeout=target.connect_timeout, read_timeout=target.read_timeout,
            verify=target.verify, client_cert=target.client_cert,
        )
        if target.verify is False:
            self._warn_insecure()

    def _warn_insecure(self) -> None:
        with _INSECURE_LOCK:
            # urllib3 would add its own InsecureRequestWarning to every request, in Python's
            # warning format: ours, once per server, says it all, through the program's hook.
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
            origin = _origin(self.base_url)
            if origin in _INSECURE_WARNED:
                return
            _INSECURE_WARNED.add(origin)
        warnings.warn(
            f"TLS certificate verification is disabled for {self.redact(self.base_url)}: "
            f"anyone on the path can read {self.target.token_source}; pass a CA bundle instead",
            InsecureTransportWarning, stacklevel=2)

    @property
    def requests_made(self) -> int:
        """How many requests were sent (urllib3 retries not counted)."""
        return self._sent.count

    def close(self) -> None:
        self._pool.clear()

    def send(self, method: str, url: str, **extra: Any) -> urllib3.BaseHTTPResponse:
        """The answer, whatever its status; an `Unreachable`, `Stopped` or `Misconfigured`
        (unmasked: the client masks what it raises) when none came."""
        self._sent.add()
        if self.budget.cancelled.is_set():
            raise Stopped(f"{method} {url} was not sent: the export was cancelled", url=url,
                          gave_up="cancelled")
        remaining = self.budget.remaining()
        if remaining is not None and remaining <= 0:
            raise self._gave_up(_GaveUp("deadline", None), url)
        timeout = self.budget.timeout(self.target.connect_timeout, self.target.read_timeout)
        try:
            response = self._pool.request(
                method, url, timeout=timeout,
                retries=self._retry if self.answered else self._first_retry, **extra)
        except _GaveUp as gave_up:
            raise self._gave_up(gave_up, url) from None
        except HTTPError as exc:
            remaining = self.budget.remaining()
            if remaining is not None and remaining <= 0:
                raise self._gave_up(_GaveUp("deadline", None), url, exc) from None
            raise self._unreachable(exc, url) from None
        except (ValueError, UnicodeError):
            # http.client refusing a header value: its message quotes the value, never shown.
            raise Misconfigured(
                f"{method} {url} could not be sent: a request header is not valid (check "
                f"{self.target.token_source} for a line break or a character that is not ASCII)",
                url=url) from None
        self.answered = True
        return response

    def _gave_up(self, gave_up: _GaveUp, url: str, error: HTTPError | None = None) -> ApiError:
        last = gave_up.last
        failing = ""
        if error is not None:
            failing = f"; {_still(_cause(error))}"
        elif last is not None and last.status:
            failing = f"; it was still answering HTTP {last.status}"
        elif last is not None and last.error is not None:
            failing = f"; {_still(last.error)}"
        if gave_up.why == "cancelled":
            return Stopped(f"gave up on {url}: the export was cancelled{failing}", url=url,
                           gave_up="cancelled")
        setting = f" ({self.budget.setting})" if self.budget.setting else ""
        seconds = self.budget.seconds if self.budget.seconds is not None else 0.0
        return Stopped(
            f"gave up on {url}: the export did not finish within its deadline of "
            f"{seconds:g}s{setting}{failing}. Check the server, or raise the deadline",
            url=url, status=last.status if last is not None else None, gave_up="deadline")

    def _where(self) -> str:
        hint = self.target.address_hint
        return f" Is the server reachable at {self.base_url}?" + (
            f" {hint[0].upper()}{hint[1:]}." if hint else "")

    def _unreachable(self, exc: HTTPError, url: str) -> Unreachable:
        count = self.policy.connect if self.answered else self.policy.first_connect
        tries = f" (after {count} retries)" if count else ""
        reason = _cause(exc)
        if isinstance(reason, SSLError):
            return Unreachable(
                f"TLS handshake with {url} failed: {reason_text(reason)}. Pass the CA bundle "
                "that signed the server's certificate (or, only for a test, disable "
                "verification).", url=url)
        if isinstance(reason, NameResolutionError):
            host = urlsplit(url).hostname or url
            return Unreachable(
                f"Cannot resolve the host name {host!r} of {url} (DNS): check the address."
                + self._where(), url=url)
        # NewConnectionError (refused) subclasses ConnectTimeoutError in urllib3.
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return Unreachable(
                f"Connecting to {url} timed out after {self.target.connect_timeout:g}s{tries}."
                + self._where(), url=url)
        if isinstance(reason, ReadTimeoutError):
            tries = f" (after {self.policy.read} retries)" if self.policy.read else ""
            return Unreachable(
                f"The server at {url} did not answer within {self.target.read_timeout:g}s{tries}; "
                "it may be overloaded, or the port-forward may be stuck. Retry, or raise the read "
                "timeout.", url=url)
        if isinstance(reason, ProtocolError) and "IncompleteRead" in str(reason):
            return Unreachable(
                f"The answer from {url} was cut off{tries}: the connection closed before the "
                "whole body arrived. Retry; if it persists, check the port-forward or proxy in "
                "between.", url=url)
        if isinstance(reason, NewConnectionError | ProtocolError):
            return Unreachable(
                f"Cannot connect to {url}{tries}: {reason_text(reason)}." + self._where(), url=url)
        return Unreachable(f"Request to {url} failed: {reason_text(reason)}", url=url)


def _cause(exc: HTTPError) -> BaseException:
    """What really failed: exhausted retries arrive as MaxRetryError(reason=...)."""
    return exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc


def _still(reason: BaseException) -> str:
    """What the last try was still doing when the deadline came, in words."""
    if isinstance(reason, ReadTimeoutError):
        return "the server accepted the connection but had not answered"
    if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
        return "connecting to the server had not succeeded"
    return f"it was still failing with: {reason_text(reason)}"


# urllib3 prefixes its messages with the pool or the connection object's repr.
_POOL_REPR = re.compile(r"\w*ConnectionPool\([^)]*\):\s*|<[\w.]+ object at 0x[0-9a-f]+>:\s*")


def reason_text(exc: BaseException) -> str:
    """The innermost useful cause, in words, without urllib3's object reprs."""
    text = _POOL_REPR.sub("", str(exc))
    for marker in ("Caused by ", "] "):
        pos = text.rfind(marker)
        if pos != -1:
            text = text[pos + len(marker):]
    return text.strip(" ()'\"") or type(exc).__name__
