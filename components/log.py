"""The program's log lines (`pulumi.log`), masked: the one way the program says anything.

Every line goes through a `Redactor` (components/redaction.py), the masking the export, check and
zone token commands apply to their own messages: it knows every credential the stack's config
holds and every one the program reads on its way (a zone's admin token Secret, a kubeconfig's
bearer token), and masks URL userinfo. A line quotes what a zone answered (its KDS global
address, its version, object names) or what the config says; none of it reaches `pulumi up`'s
output, a CI log, in the clear.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import pulumi

from components.config import FederationConfig
from components.redaction import Redactor

_lock = threading.Lock()
# Replaced, never changed in place: zone exports log from their own threads.
_redact = Redactor()


def config_credentials(cfg: FederationConfig) -> list[str | None]:
    """Every credential the config holds: API tokens, zone tokens, the license, the KDS key."""
    return [cfg.license, cfg.global_.api_token, cfg.kds_tls.server_key,
            *(secret for zone in cfg.zones for secret in (zone.api_token, zone.zone_token))]


def mask_only(secrets: Iterable[str | None]) -> None:
    """From now on, mask these secrets (and URL userinfo), and no others: one per program run."""
    global _redact
    with _lock:
        _redact = Redactor(secrets)


def mask_also(secrets: Iterable[str | None]) -> None:
    """Mask these secrets too: one the program read on its way (a token from a Secret)."""
    global _redact
    with _lock:
        _redact = _redact.with_secrets(secrets)


def redactor() -> Redactor:
    """The masking in force: every secret known so far."""
    with _lock:
        return _redact


def info(message: str, resource: pulumi.Resource | None = None) -> None:
    """`resource`: the line is said under it in `pulumi preview` and `up`."""
    pulumi.log.info(_redact(message), resource=resource)


def warn(message: str) -> None:
    pulumi.log.warn(_redact(message))


def error(message: str) -> None:
    pulumi.log.error(_redact(message))
