"""load_config: the stack's `mesh-federation:*` config read through the Pulumi SDK, then parsed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from components.config.messages import ConfigError
from components.config.parse import parse_config
from components.config.schema import NAMESPACE, OBJECT_KEYS, TOP_LEVEL_KEYS, FederationConfig
from components.config.secrecy import plaintext_credentials, shown_values, written_entry
from components.config.stack_file import stack_file_config


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
    for key in sorted(OBJECT_KEYS):
        # Objects are read whole, in the clear; a secret inside makes the whole key secret, so
        # the program wraps every token it passes on to a resource with Output.secret, and every
        # Helm value of a secret `global` / `zones` (Pulumi does not say which leaf is secret).
        value = config.get_object(key)
        if value is not None:
            raw[key] = value
    # The top-level keys Pulumi holds as secrets (PULUMI_CONFIG_SECRET_KEYS, through the
    # language host): a credential under any other key is in plaintext in the stack file.
    secret_keys = frozenset(key for key in raw if pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"))
    # Inside a secret key, which value is the secret one only the stack file says.
    root, stack = pulumi.get_root_directory(), pulumi.get_stack()
    written = stack_file_config(root, stack) if isinstance(root, str) and isinstance(stack, str) else None
    plaintext = plaintext_credentials(raw, secret_keys, written)
    try:
        parsed = parse_config(raw, secret_keys)
    except ConfigError as error:
        raise ConfigError([*plaintext, *error.problems]) from None
    if plaintext:
        raise ConfigError(plaintext)
    return with_values_shown(parsed, written)


def with_values_shown(cfg: FederationConfig, written: Mapping[str, Any] | None) -> FederationConfig:
    """`cfg` with each owner's Helm values as a preview may show them, told by the stack file
    (`written`, None when there is none) where a secret key holds plaintext values too."""
    global_shown = shown_values(cfg.global_.values, written_entry(written, ("global", "values")),
                                secret=cfg.global_.values_secret)
    zones = tuple(replace(zone, values_shown=shown_values(
        zone.values, written_entry(written, ("zones", index, "values")), secret=zone.values_secret))
        for index, zone in enumerate(cfg.zones))
    return replace(cfg, global_=replace(cfg.global_, values_shown=global_shown), zones=zones)
