"""Credentials kept in plaintext in the stack's config: refused, naming the key and the fix,
never the value. Pure: the raw config and the top-level keys Pulumi holds as secrets in.

What a program can know of secrecy, read from the Pulumi SDK (3.272: pulumi.runtime.config,
`is_config_secret`, fed from PULUMI_CONFIG_SECRET_KEYS by the language host) and the CLI
(sdk/go/common/resource/config: `object.Secure()`, `Map.SecureKeys()`): the engine names the
top-level keys that are secure, and an object key is secure as soon as ANY value inside it was
set with `--secret` (`pulumi config set --secret --path 'mesh-federation:zones[0].api.token'`
makes all of `mesh-federation:zones` a secret key). Every value reaches the program decrypted,
so which leaf was the secure one is not known at program time.

The rule, as strict as that allows without refusing a credential that is a secret: a credential
under a top-level key that Pulumi does not hold as a secret is in plaintext in
Pulumi.<stack>.yaml, certainly, and is refused. A plaintext credential beside a secret one in the
same top-level key (zones[0].api.token secret, zones[1].api.token not) cannot be told apart from
a secret one here; the README says so beside each credential key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from components.config.messages import config_rm, config_set
from components.config.renames import RENAMED

# Credential leaves of each top-level key, as paths under it (`[]`: each zone); old names too.
_CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "license": ("",),
    "global": ("api.token", "apiToken"),
    "zones": ("[].api.token", "[].apiToken", "[].zoneToken"),
    "kdsTls": ("serverKey",),
}
# Helm values under global.values / zones[].values that hold a credential inline. The chart
# takes credentials as references (`controlPlane.secrets`, `*.secretName`) and in a few inline
# forms: a TLS key (`controlPlane.tls.<server>.key`) and environment variables
# (`controlPlane.envVars`: KUMA_STORE_POSTGRES_PASSWORD, KMESH_LICENSE_INLINE, ...). Names that
# hold a file path or a reference (`..._KEY_FILE`, `secretName`) are not credentials.
_CREDENTIAL_ENV = re.compile(r"(^|_)(PASSWORD|PASSWD|TOKEN|SECRET|LICENSE|LICENSE_INLINE|"
                             r"PRIVATE_KEY|API_KEY|SECRET_KEY)$")
_CREDENTIAL_VALUE_KEYS = frozenset({"password", "token", "license", "privateKey", "secretKey"})


def plaintext_credentials(raw: Mapping[str, Any], secret_keys: frozenset[str]) -> list[str]:
    """One problem per credential set under a top-level key Pulumi does not hold as a secret."""
    problems: list[str] = []
    for top, paths in _CREDENTIALS.items():
        if top in secret_keys or raw.get(top) is None:
            continue
        for path in paths:
            for where in _leaves(raw[top], top, path):
                problems.append(_refusal(where))
    for top in ("global", "zones"):
        if top in secret_keys:
            continue
        for where, values in _owners_values(raw.get(top), top):
            problems.extend(_refusal(leaf) for leaf in credential_values(values, f"{where}.values"))
    return problems


def credential_values(values: Any, key: str) -> list[str]:
    """The paths of Helm values under `key` that hold a credential inline (see above): whatever
    is set under a credential's name (text, a number, a list, an object), but a switch."""
    found: list[str] = []

    def walk(node: Any, path: str, inside_tls: bool) -> None:
        if not isinstance(node, Mapping):
            return
        for name, child in node.items():
            where, tls = f"{path}.{name}", inside_tls or name == "tls"
            if child is None or child == "" or isinstance(child, bool):
                continue
            if (name in _CREDENTIAL_VALUE_KEYS or (tls and name == "key")
                    or (path.endswith(".envVars") and _CREDENTIAL_ENV.search(str(name)))):
                found.append(where)
            else:
                walk(child, where, tls)

    walk(values, key, False)
    return found


def _refusal(where: str) -> str:
    current = _current_name(where)
    return (
        f"{where} holds a credential set without --secret: it is in plaintext in "
        f"Pulumi.<stack>.yaml (the file you commit; the value is not shown here). Remove it and "
        f"set it again as a Pulumi secret: {config_rm(where)}, then "
        f"{config_set(current, '<value>', secret=True)}")


def _current_name(where: str) -> str:
    """`zones[1].apiToken` -> `zones[1].api.token`: the fix sets the key under its current name."""
    indexed = re.sub(r"\[\d+\]", "[]", where)
    for old, new in RENAMED:
        if indexed == old:
            index = re.search(r"\[\d+\]", where)
            return new.replace("[]", index.group()) if index else new
    return where


def _leaves(node: Any, where: str, path: str) -> Iterator[str]:
    """The set values at `path` under `node` (dot-separated; `[]`: every item of a list), each
    named by its full key (`zones[1].api.token`)."""
    if not path:
        if node is not None and node != "":
            yield where
        return
    head, _, rest = path.partition(".")
    if head == "[]":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _leaves(item, f"{where}[{index}]", rest)
        return
    if isinstance(node, Mapping) and head in node:
        yield from _leaves(node[head], f"{where}.{head}", rest)


def _owners_values(node: Any, top: str) -> Iterator[tuple[str, Any]]:
    """(`global`, its values) or (`zones[i]`, each zone's values)."""
    if top == "global" and isinstance(node, Mapping):
        yield top, node.get("values")
    elif top == "zones" and isinstance(node, list):
        for index, zone in enumerate(node):
            if isinstance(zone, Mapping):
                yield f"zones[{index}]", zone.get("values")
