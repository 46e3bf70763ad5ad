"""Where the upstream reference data lives: ../shared/upstream beside the checkout.

It is read, never copied into the project; tests that need it skip, saying why, when a clone
has no shared/ folder beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

UPSTREAM = Path(__file__).resolve().parents[1].parent / "shared" / "upstream" / "kuma-v2.14.3"


def upstream_path(relative: str) -> Path:
    path = UPSTREAM / relative
    if not path.exists():
        pytest.skip(f"upstream reference data not found at {path} (it lives in ../shared beside "
                    "the checkout in this project's workspace and CI; a plain clone has none)")
    return path
