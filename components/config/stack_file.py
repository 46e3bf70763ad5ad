"""The namespace's config as the stack file holds it: which value inside an object key was set
with `--secret` (written `{secure: v1:...}`) and which was not, which Pulumi does not tell a
program (components/config/secrecy.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from components.config.schema import NAMESPACE


def stack_file_config(root: str, stack: str) -> Mapping[str, Any] | None:
    """The `mesh-federation:*` keys of Pulumi.<stack>.yaml (or .yml) in the project at `root`
    (in its `stackConfigDir` when Pulumi.yaml names one), without the namespace; None when there
    is no such file or it cannot be read (config from elsewhere: nothing to compare)."""
    try:
        with open(os.path.join(root, "Pulumi.yaml"), encoding="utf-8") as file:
            project = yaml.safe_load(file)
        config_dir = project.get("stackConfigDir") if isinstance(project, Mapping) else None
        folder = os.path.join(root, config_dir if isinstance(config_dir, str) else "")
        for name in (f"Pulumi.{stack}.yaml", f"Pulumi.{stack}.yml"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as file:
                    document = yaml.safe_load(file)
                config = document.get("config") if isinstance(document, Mapping) else None
                if not isinstance(config, Mapping):
                    return None
                prefix = f"{NAMESPACE}:"
                return {str(key)[len(prefix):]: value for key, value in config.items()
                        if str(key).startswith(prefix)}
    except (OSError, yaml.YAMLError):
        return None
    return None
