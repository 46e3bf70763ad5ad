"""Where the upstream reference data lives: ../shared/upstream beside the checkout (or an
ancestor of it, or `$MESH_FEDERATION_UPSTREAM`: local_federation.assets finds it, one lookup for
the tests, tier 2 and tools/local).

It is read, never copied into the project; tests that need it skip, saying why, when a clone
has no shared/ folder beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local_federation.assets import UPSTREAM as UPSTREAM  # re-exported: the tests read it from here


def upstream_path(relative: str) -> Path:
    path = UPSTREAM / relative
    if not path.exists():
        pytest.skip(f"upstream reference data not found at {path} (it lives in ../shared beside "
                    "the checkout in this project's workspace and CI; a plain clone has none)")
    return path
