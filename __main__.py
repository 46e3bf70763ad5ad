"""mesh-federation: federate Kong Mesh / Kuma zone control planes with one `pulumi up`."""

import pulumi

from components.config import load_config
from components.process_tuning import postpone_full_collections
from components.program import build
from components.stack_outputs import outputs

postpone_full_collections()
config = load_config()
federation = build(config)
for key, value in outputs(config, federation).items():
    pulumi.export(key, value)
