"""Entry point: ``python -m components.check < spec.json``."""

import sys

from components.check.cli import main

raise SystemExit(main(sys.argv[1:]))
