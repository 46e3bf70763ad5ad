"""`python -m components.export`: see components/export/cli.py.

Nothing heavy is imported here: argument errors and --help answer at once.
"""

from __future__ import annotations

import sys


def _main() -> int:
    from components.export.cli import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
