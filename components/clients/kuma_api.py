"""HTTP client for a Kuma / Kong Mesh control plane API (port 5681).

One job: turn requests to the control plane into parsed answers (JSON for GETs, the text of a
token for ``post_for_text``), or into a ``KumaApiError`` whose message tells the operator what to
do next. Getting an answer at all (the pool, TLS, retries, the deadline, what no answer means)
is the one transport's (transport.py), shared with the Kubernetes API client (kube_api.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

import urllib3

from components.clients.errors import AuthRejected, BadAnswer, KumaApiError, NotFound, for_status
from components.clients.transport import (
    RETRY_STATUSES,
    ApiTarget,
    Budget,
    RetryPolicy,
    Transport,
    has_authorization,
)
from components.redaction import Redactor

__all__ = ["ApiTarget", "KumaApiClient", "KumaApiError", "RetryPolicy"]


def _join(base_url: str, path: str) -> str:
    # Plain string joining, not urljoin: a Kubernetes service-proxy base URL
    # carries a path prefix that urljoin would drop for "/meshes".
    return base_url.rstrip("/") + "/" + path.lstrip("/")


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
    """Thread-safe JSON GET client; use as a context manager. `budget`: a deadline shared with
    other clients (an export's Kubernetes API client); else one of its own, from the target."""

    def __init__(self, target: ApiTarget, *, pool_size: int = 16,
                 budget: Budget | None = None) -> None:
        self._target = target
        self._transport = Transport(target, pool_size=pool_size, num_pools=4, budget=budget)
        self._base_url = self._transport.base_url
        self._redact = self._transport.redact
        self._headers = self._transport.headers

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def target(self) -> ApiTarget:
        return self._target

    @property
    def requests_made(self) -> int:
        """How many get_json calls were sent (urllib3 retries not counted)."""
        return self._transport.requests_made

    @property
    def budget(self) -> Budget:
        return self._transport.budget

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
        self._transport.close()

    def cancel(self) -> None:
        """Stop: every wait between retries ends now, and no new request is sent (Ctrl-C).
        For good: a cancelled client only fails."""
        self._transport.budget.cancel()

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
        return self._transport.send(method, url, **extra)

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
            if self._target.token or has_authorization(self._target.headers):
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
        if status in RETRY_STATUSES:
            count = self._transport.policy.status
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
