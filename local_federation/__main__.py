"""`python -m local_federation up|status|down` (tools/local)."""

import sys

from local_federation.cli import main

sys.exit(main(sys.argv[1:]))
