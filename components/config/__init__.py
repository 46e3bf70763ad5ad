"""Stack configuration (namespace `mesh-federation`): typed, validated, in one place.

- schema.py: the keys, their accepted values and defaults, the dataclasses the program reads;
- parse.py: `parse_config`, pure (a mapping in, a `FederationConfig` out), so every rule is
  testable without Pulumi; reader.py, fields.py, chart_values.py and trust.py hold its parts;
- renames.py: old key names, read for one release with a warning naming the new one;
- load.py: `load_config`, the stack's config read through the Pulumi SDK;
- secrecy.py: credentials set without `--secret` refused (what Pulumi tells a program of
  secrecy, and the rule); stack_file.py: the stack file, which says which value inside a
  secret key was written in plaintext;
- messages.py: `ConfigError` and the `pulumi config` fixes every message names.
"""

from components.config.fields import parse_kds_address
from components.config.load import load_config, namespace_keys
from components.config.messages import ConfigError
from components.config.parse import parse_config
from components.config.renames import RENAMED
from components.config.schema import (
    DEFAULT_EXPORT_DEADLINE_SECONDS,
    EXPORT_PROFILES,
    INSTALL_MODES,
    ISSUER_KINDS,
    KDS_TLS_MODES,
    NAMESPACE,
    OBJECT_KEYS,
    ROLES,
    SECRET_KEYS,
    THREE_X_CHANGES,
    TOP_LEVEL_KEYS,
    ZONE_AUTH_MODES,
    CheckConfig,
    FederationConfig,
    GlobalConfig,
    KdsAddress,
    KdsTlsConfig,
    ZoneAuthConfig,
    ZoneConfig,
)

__all__ = [
    "DEFAULT_EXPORT_DEADLINE_SECONDS", "EXPORT_PROFILES", "INSTALL_MODES", "ISSUER_KINDS",
    "KDS_TLS_MODES", "NAMESPACE", "OBJECT_KEYS", "RENAMED", "ROLES", "SECRET_KEYS",
    "THREE_X_CHANGES", "TOP_LEVEL_KEYS", "ZONE_AUTH_MODES", "CheckConfig", "ConfigError",
    "FederationConfig", "GlobalConfig", "KdsAddress", "KdsTlsConfig", "ZoneAuthConfig",
    "ZoneConfig", "load_config", "namespace_keys", "parse_config", "parse_kds_address",
]
