"""`python -m components.zone_token`: a spec (JSON) on stdin, the token on stdout.

Exit 0 with exactly the token on stdout; exit 1 with the reason on stderr and nothing on stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

from components.clients.transport import InsecureTransportWarning
from components.redaction import Redactor
from components.warning_hook import say_warnings_of
from components.zone_token.issue import TokenSpec, ZoneTokenError, issue_zone_token


def main(stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    text = stdin.read()
    # Whatever the spec holds (the admin token) is masked in what is printed (stderr is logged).
    redact = Redactor(_strings(text))
    # TLS verification off for an API: said once, as this command's own masked line.
    say_warnings_of(InsecureTransportWarning,
                    lambda message: print(redact(f"zone token: warning: {message}"), file=stderr))
    try:
        spec = TokenSpec.from_json(text)
        print(f"zone token: asking the global for {spec.zone!r}'s token (scope cp, valid for "
              f"{spec.valid_for})", file=stderr)
        token = issue_zone_token(spec)
    except ZoneTokenError as error:
        print(redact(f"zone token: {error}"), file=stderr)
        return 1
    except Exception as error:  # never a traceback: it could quote the admin token
        print(redact(f"zone token: unexpected failure: {type(error).__name__}: {error}"), file=stderr)
        return 1
    stdout.write(token + "\n")
    return 0


def _strings(text: str) -> list[str]:
    """Every string value in the spec JSON (the token among them), to be masked."""
    import json

    try:
        raw = json.loads(text)
    except ValueError:
        return []
    return [v for k, v in raw.items() if k == "token" and isinstance(v, str)] if isinstance(
        raw, dict) else []
