"""Secrets out of every message: one masking path, and credentials checked where they enter.

Every command (the export, the check, the zone token issuer) and the program mask their
messages with a `Redactor`, and every credential read from config, a file, the environment, a
Secret or a kubeconfig goes through `clean_credential` first. Why the check at entry: http.client
refuses a header value holding a line break with ``ValueError("Invalid header value b'Bearer
<the token>...'")``, a message that carries the whole token into a traceback or a `pulumi up`
error; a token file ending in a newline and a comment does just that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
# What stands for a secret value in a view of Helm values (a preview, a stack output): the word
# the Pulumi CLI itself shows for a secret.
SECRET_VALUE = "[secret]"

# scheme://user:password@host: the userinfo part, wherever a URL is shown.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@?#]*@")


class CredentialError(ValueError):
    """A credential is unusable; the message names its source, never its value."""


def redact_url(text: str) -> str:
    """`text` with the userinfo of every URL in it masked (http://***@host)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def clean_credential(value: str, source: str, *, header: bool = False) -> str:
    """The credential without surrounding whitespace; refused (naming `source`) when what is left
    holds a control character (a line break, a tab), whitespace or anything but printable ASCII
    (tokens are ASCII; http.client sends headers as Latin-1 and refuses line breaks). `header`:
    a whole header value such as `Bearer <token>`, where single spaces are allowed."""
    cleaned = value.strip()
    if not cleaned:
        raise CredentialError(f"{source} is empty")
    allowed_space = header
    for char in cleaned:
        if char == " " and allowed_space:
            continue
        if not "!" <= char <= "~":
            what = ("a line break" if char in "\r\n" else "a control character" if ord(char) < 32
                    or ord(char) == 127 else "whitespace" if char.isspace() else
                    "a character that is not printable ASCII")
            raise CredentialError(
                f"{source} holds {what} inside it (not shown: it is a secret); a credential is "
                "one line of printable ASCII: check that the value holds only the token (no "
                "comment, no second line) and set it again")
    return cleaned


class Redactor:
    """Masks every secret (tokens, credential header values) and every URL's userinfo in a
    text: the one masking path of every message the program and its commands print."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            for form in (secret, secret.strip()):
                found.add(form)
                scheme, _, credential = form.partition(" ")
                if credential and scheme.lower() in ("bearer", "basic"):
                    found.add(credential)
            # Each line of a multi-line secret too: a message may quote one line of it.
            found.update(line.strip() for line in secret.splitlines())
        # Longest first, so a token inside a header value is masked as a whole.
        self._secrets = sorted((s for s in found if len(s) >= 4), key=len, reverse=True)

    def with_secrets(self, secrets: Iterable[str | None]) -> Redactor:
        return Redactor([*self._secrets, *secrets])

    def holds_secret(self, text: str) -> bool:
        """Whether `text` holds one of the secrets (URL userinfo aside)."""
        return any(secret in text for secret in self._secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact_url(text)
