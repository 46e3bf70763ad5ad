"""Credentials kept in plaintext in the stack's config: refused, naming the key and the fix,
never the value. Pure: the raw config, the top-level keys Pulumi holds as secrets and the
stack file's entries in.

What a program can know of secrecy, read from the Pulumi SDK (3.272: pulumi.runtime.config,
`is_config_secret`, fed from PULUMI_CONFIG_SECRET_KEYS by the language host) and the CLI
(sdk/go/common/resource/config: `object.Secure()`, `Map.SecureKeys()`): the engine names the
top-level keys that are secure, and an object key is secure as soon as ANY value inside it was
set with `--secret` (`pulumi config set --secret --path 'mesh-federation:zones[0].api.token'`
makes all of `mesh-federation:zones` a secret key). Every value reaches the program decrypted,
so which leaf was the secure one is not known from the engine.

The rule, as strict as that allows without ever refusing a credential that is a secret:
- a credential under a top-level key that Pulumi does not hold as a secret is in plaintext in
  Pulumi.<stack>.yaml, certainly: refused;
- under a key Pulumi holds as a secret, a credential beside the secret one (zones[0].api.token
  secret, zones[1].api.token not) is told apart by the stack file itself
  (components/config/stack_file.py): written there as plain text, not `{secure: ...}`, with the
  value the program was given, it is refused too. Config from elsewhere (a Pulumi ESC
  environment, `--config-file`) has no such entry there, or not with that value, and only the
  first rule applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from components.config.messages import config_rm, config_set
from components.config.renames import RENAMED
from components.redaction import SECRET_VALUE

# Credential leaves of each top-level key, as paths under it (`[]`: each zone); old names too.
_CREDENTIALS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "license": ((),),
    "global": (("api", "token"), ("apiToken",)),
    "zones": (("[]", "api", "token"), ("[]", "apiToken"), ("[]", "zoneToken")),
    "kdsTls": (("serverKey",),),
}
# Helm values under global.values / zones[].values that hold a credential inline. The chart
# takes credentials as references (`controlPlane.secrets`, `*.secretName`) and in a few inline
# forms: a TLS key (`controlPlane.tls.<server>.key`) and environment variables
# (`controlPlane.envVars`: KUMA_STORE_POSTGRES_PASSWORD, KMESH_LICENSE_INLINE, ...). Names that
# hold a file path or a reference (`..._KEY_FILE`, `secretName`) are not credentials.
_CREDENTIAL_ENV = re.compile(r"(^|_)(PASSWORD|PASSWD|TOKEN|SECRET|LICENSE|LICENSE_INLINE|"
                             r"PRIVATE_KEY|API_KEY|SECRET_KEY)$")
_CREDENTIAL_VALUE_KEYS = frozenset({"password", "token", "license", "privateKey", "secretKey"})

Path = tuple[str | int, ...]


def plaintext_credentials(raw: Mapping[str, Any], secret_keys: frozenset[str],
                          written: Mapping[str, Any] | None = None) -> list[str]:
    """One problem per credential in plaintext: under a top-level key Pulumi does not hold as
    a secret; or, under one it does, written in plaintext in the stack file (`written`: the
    namespace's keys as Pulumi.<stack>.yaml holds them, a secure value as `{secure: ...}`) with
    the very value the program was given, so that a file that is not the one in use (`pulumi up
    --config-file`) never refuses anything."""
    problems: list[str] = []
    for path, value in credentials(raw):
        top = str(path[0])
        if top not in secret_keys or _written_in_plaintext(written, path, value):
            problems.append(_refusal(_key(path)))
    return problems


def credentials(raw: Mapping[str, Any]) -> list[tuple[Path, Any]]:
    """Every credential set in the raw config, with its path from the namespace's root."""
    found: list[tuple[Path, Any]] = []
    for top, paths in _CREDENTIALS.items():
        for path in paths:
            found.extend(_leaves(raw.get(top), (top,), path))
    for owner in _owners(raw):
        node: Any = raw
        for part in owner:
            node = node[part]
        found.extend(_credential_values(node.get("values"), (*owner, "values"), False))
    return found


def credential_paths(values: Mapping[str, Any]) -> frozenset[Path]:
    """The paths, from the root of a Helm values document, of every value set under a
    credential's name (see `_credential_values`): what a view of the values masks whatever
    else is known of it."""
    return frozenset(path[1:] for path, _ in _credential_values(values, ("values",), False))


def shown_values(values: Mapping[str, Any], written: Any, *, secret: bool) -> dict[str, Any]:
    """`values` (global.values or zones[i].values) as a preview may show them: every value, when
    its config key holds no secret; under a key that does, only the values the stack file holds
    in plaintext (`written`: the same values as Pulumi.<stack>.yaml has them, None when it has
    no such entry) and SECRET_VALUE for every other, since Pulumi does not say which leaf of a
    secret key is the secret one (module docstring)."""
    def shown(node: Any, in_file: Any) -> Any:
        if isinstance(node, Mapping):
            return {str(key): shown(child, in_file.get(str(key)) if isinstance(in_file, Mapping) else None)
                    for key, child in node.items()}
        if isinstance(node, list):
            return [shown(child, in_file[index] if isinstance(in_file, list) and index < len(in_file)
                          else None) for index, child in enumerate(node)]
        if not secret or (in_file is not None and _same_in_plaintext(in_file, node)):
            return node
        return SECRET_VALUE
    result: dict[str, Any] = shown(values, written)
    return result


def shown_or_masked(values: Mapping[str, Any], shown: Mapping[str, Any] | None, *,
                    secret: bool) -> Mapping[str, Any]:
    """`shown` (from load_config), or, when the stack file was not consulted, `values` with each
    value masked under a secret key."""
    return shown if shown is not None else shown_values(values, None, secret=secret)


def _credential_values(node: Any, path: Path, inside_tls: bool) -> list[tuple[Path, Any]]:
    """Helm values that hold a credential inline (see above): whatever is set under a
    credential's name (text, a number, a list, an object), but a switch."""
    if not isinstance(node, Mapping):
        return []
    found: list[tuple[Path, Any]] = []
    for name, child in node.items():
        where, tls = (*path, str(name)), inside_tls or name == "tls"
        if child is None or child == "" or isinstance(child, bool):
            continue
        if (name in _CREDENTIAL_VALUE_KEYS or (tls and name == "key")
                or (path[-1] == "envVars" and _CREDENTIAL_ENV.search(str(name)))):
            found.append((where, child))
        else:
            found.extend(_credential_values(child, where, tls))
    return found


def _written_in_plaintext(written: Mapping[str, Any] | None, path: Path, value: Any) -> bool:
    node = written_entry(written, path)
    return node is not None and _same_in_plaintext(node, value)


def written_entry(written: Mapping[str, Any] | None, path: Path) -> Any:
    """The stack file's entry at `path` (`zones`, 1, `values`), None when it has none."""
    node: Any = written
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _same_in_plaintext(written: Any, given: Any) -> bool:
    """`written` (from the stack file) is `given` with no `{secure: ...}` anywhere inside."""
    if isinstance(written, Mapping):
        return (not _secure_envelope(written) and isinstance(given, Mapping)
                and set(map(str, written)) == set(map(str, given))
                and all(_same_in_plaintext(item, given.get(str(key))) for key, item in written.items()))
    if isinstance(written, list):
        return (isinstance(given, list) and len(written) == len(given)
                and all(map(_same_in_plaintext, written, given)))
    return not isinstance(given, (Mapping, list)) and str(written) == str(given)


def _secure_envelope(written: Mapping[Any, Any]) -> bool:
    """Pulumi's own rule for a secure value in a stack file: an object whose only key is `secure`
    and whose value is text (sdk/go/common/resource/config/map_test.go at v3.259.0: `{secure: foo,
    bar: blah}` is a plain object)."""
    return len(written) == 1 and isinstance(written.get("secure"), str)


def _refusal(where: str) -> str:
    current = _current_name(where)
    return (
        f"{where} holds a credential set without --secret: it is in plaintext in "
        f"Pulumi.<stack>.yaml (the file you commit; the value is not shown here). Remove it and "
        f"set it again as a Pulumi secret: {config_rm(where)}, then "
        f"{config_set(current, '<value>', secret=True)}")


def _key(path: Path) -> str:
    """(`zones`, 1, `api`, `token`) -> `zones[1].api.token`."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def _current_name(where: str) -> str:
    """`zones[1].apiToken` -> `zones[1].api.token`: the fix sets the key under its current name."""
    indexed = re.sub(r"\[\d+\]", "[]", where)
    for old, new in RENAMED:
        if indexed == old:
            index = re.search(r"\[\d+\]", where)
            return new.replace("[]", index.group()) if index else new
    return where


def _leaves(node: Any, where: Path, path: tuple[str, ...]) -> Iterator[tuple[Path, Any]]:
    """The set values at `path` under `node` (`[]`: every item of a list), each with its full
    path (`zones`, 1, `api`, `token`)."""
    if not path:
        if node is not None and node != "":
            yield where, node
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _leaves(item, (*where, index), rest)
        return
    if isinstance(node, Mapping) and head in node:
        yield from _leaves(node[head], (*where, head), rest)


def _owners(raw: Mapping[str, Any]) -> Iterator[Path]:
    """`global` and each zone (`zones`, i): the objects that hold Helm values."""
    if isinstance(raw.get("global"), Mapping):
        yield ("global",)
    zones = raw.get("zones")
    if isinstance(zones, list):
        for index, zone in enumerate(zones):
            if isinstance(zone, Mapping):
                yield ("zones", index)
