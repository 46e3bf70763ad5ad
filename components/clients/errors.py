"""What can go wrong asking an API server (a control plane's, a cluster's), one class a kind,
under the one root `ApiError` (as httpx does it: callers catch the kind they mean instead of
reading status codes). `KumaApiError` is the root's older name, kept for its many callers.

    ApiError (= KumaApiError)
    ├── Unreachable      no HTTP answer: refused, DNS, TLS, timed out, cut off
    ├── Stopped          the client stopped waiting: its deadline came, or it was cancelled
    ├── AuthRejected     401 / 403: the credential was refused (or, redirected away, not sent)
    ├── NotFound         404: the path or the object does not exist (now)
    ├── Throttled        408 / 429: the server asks to come back later
    ├── RequestRejected  any other 4xx: the request itself is refused; asking again won't help
    ├── ServerFailed     5xx (after the retries, for those retried)
    ├── BadAnswer        an answer that is not JSON, or not of the shape the API promises
    ├── Misconfigured    the target cannot be used: a credential with a line break, no CA bundle
    └── KubeApiError     the Kubernetes API server refused or failed a request (any status)

No I/O here, cheap to import. Every message says what to do next; `status` stays for messages.
"""

from __future__ import annotations

from collections.abc import Callable


class ApiError(Exception):
    """A request to an API server failed; the message says what to do."""

    def __init__(self, message: str, *, url: str, status: int | None = None,
                 gave_up: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        # "deadline" or "cancelled" when the client stopped waiting, else None.
        self.gave_up = gave_up

    def masked(self, mask: Callable[[str], str]) -> ApiError:
        """The same error, of the same class, with `mask` applied to its message and URL."""
        return type(self)(mask(str(self)), url=mask(self.url), status=self.status,
                          gave_up=self.gave_up)


# One root, two names: the Kuma API's clients and commands catch it under this one.
KumaApiError = ApiError


class Unreachable(ApiError):
    """No HTTP answer came: connection refused, DNS, TLS, a timeout, a body cut off."""


class Stopped(ApiError):
    """The client stopped waiting (`gave_up`: "deadline" or "cancelled")."""


class AuthRejected(ApiError):
    """HTTP 401 or 403: the control plane refused the credential (or it was not sent)."""


class NotFound(ApiError):
    """HTTP 404: the path is unknown to this API version, or the object is gone."""


class Throttled(ApiError):
    """HTTP 408 or 429: the server asks to come back later."""


class RequestRejected(ApiError):
    """Any other HTTP 4xx: the request itself is refused (a query the API does not support)."""


class ServerFailed(ApiError):
    """HTTP 5xx, after the retries for those that are retried."""


class BadAnswer(ApiError):
    """An answer that is not JSON, or not the shape the API promises (a list without items)."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None,
                 gave_up: str | None = None) -> None:
        super().__init__(message, url=url, status=status, gave_up=gave_up)


class Misconfigured(ApiError):
    """The target cannot be used as given (a credential, a CA bundle, a header)."""


class KubeApiError(ApiError):
    """The Kubernetes API server refused or failed a request (the message names the context)."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None,
                 gave_up: str | None = None) -> None:
        super().__init__(message, url=url, status=status, gave_up=gave_up)


def for_status(status: int) -> type[ApiError]:
    """The class of an HTTP error status."""
    if status in (401, 403):
        return AuthRejected
    if status == 404:
        return NotFound
    if status in (408, 429):
        return Throttled
    if 400 <= status < 500:
        return RequestRejected
    if status >= 500:
        return ServerFailed
    return ApiError
