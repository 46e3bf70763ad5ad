"""load_config: the stack's `mesh-federation:*` config read through the Pulumi SDK, then parsed."""

from __future__ import annotations

from typing import Any

from components.config.parse import parse_config
from components.config.schema import NAMESPACE, OBJECT_KEYS, TOP_LEVEL_KEYS, FederationConfig


def namespace_keys() -> set[str]:
    """The top-level keys set in the `mesh-federation` namespace, as the Pulumi SDK holds them
    (pulumi.runtime.config: the config the language host set, else the PULUMI_CONFIG JSON)."""
    from pulumi.runtime import config as runtime_config

    names = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    prefix = f"{NAMESPACE}:"
    return {name[len(prefix):] for name in names if name.startswith(prefix)}


def load_config() -> FederationConfig:
    """Read the stack's `mesh-federation:*` config through the Pulumi SDK and validate it."""
    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    # Every key of the namespace, known or not, so that a typo (`kdsTLS`, `licence`) is refused
    # with the key it was meant to be, not silently left out.
    for key in sorted(set(TOP_LEVEL_KEYS - OBJECT_KEYS) | (namespace_keys() - OBJECT_KEYS)):
        value = config.get(key)
        if value is not None:
            raw[key] = value
    secret_keys: set[str] = set()
    for key in sorted(OBJECT_KEYS):
        # Objects holding a secret (`--secret --path 'zones[0].api.token'`) are secret as a whole;
        # get_object returns them in the clear, and the program wraps every token it passes on
        # to a resource with Output.secret, and every Helm value of a secret `global` / `zones`
        # (Pulumi does not say which leaf is the secret one).
        value = config.get_object(key)
        if value is not None:
            raw[key] = value
            if pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"):
                secret_keys.add(key)
    return parse_config(raw, frozenset(secret_keys))
