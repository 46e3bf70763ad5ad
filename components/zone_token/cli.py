"""`python -m components.zone_token`: a spec (JSON) on stdin, the token on stdout.

Exit 0 with exactly the token on stdout; exit 1 with the reason on stderr and nothing on stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

from components.zone_token.issue import TokenSpec, ZoneTokenError, issue_zone_token


def main(stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        spec = TokenSpec.from_json(stdin.read())
        print(f"zone token: asking the global for {spec.zone!r}'s token (scope cp, valid for "
              f"{spec.valid_for})", file=stderr)
        token = issue_zone_token(spec)
    except ZoneTokenError as error:
        print(f"zone token: {error}", file=stderr)
        return 1
    stdout.write(token + "\n")
    return 0
