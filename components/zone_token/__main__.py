import sys

from components.zone_token.cli import main

sys.exit(main())
