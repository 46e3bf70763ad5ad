"""mesh-federation: federate Kong Mesh / Kuma zone control planes with one `pulumi up`."""

import pulumi

from components.config import load_config
from components.program import build, outputs

config = load_config()
federation = build(config)
for key, value in outputs(config, federation).items():
    pulumi.export(key, value)
