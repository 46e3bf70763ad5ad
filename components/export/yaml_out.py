"""Multi-document YAML as kumactl prints it (sigs.k8s.io/yaml over go-yaml v2).

PyYAML is steered to go-yaml's choices where they differ: go-yaml's
key order (digits compared as numbers), double quotes for strings that
would read back as another type, literal blocks for multi-line strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cmp_to_key
from typing import Any

import yaml

# Strings go-yaml v2 resolves to bool/null on top of what PyYAML resolves.
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")
_GO_EXTRA_BOOLS = frozenset({"y", "Y", "n", "N"})
_GO_NUMBER = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"  # Go's unicode.IsDigit


def _go_key_less(a: str, b: str) -> bool:
    """go-yaml v2 keyList.Less for two string keys."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        al, bl = _is_letter(a[i]), _is_letter(b[i])
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return bl
        an = bn = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        # Rune arithmetic as in Go (odd for non-ASCII digits, but the same).
        while ai < len(a) and _is_digit(a[ai]):
            an = an * 10 + ord(a[ai]) - ord("0")
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = bn * 10 + ord(b[bi]) - ord("0")
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


def _go_key_cmp(a: Any, b: Any) -> int:
    sa, sb = str(a), str(b)
    if _go_key_less(sa, sb):
        return -1
    if _go_key_less(sb, sa):
        return 1
    return 0


class _GoLikeDumper(yaml.SafeDumper):
    pass


def _needs_double_quotes(dumper: yaml.SafeDumper, value: str) -> bool:
    if value == "" or value in _GO_EXTRA_BOOLS or _GO_NUMBER.match(value):
        return True
    tag = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    # "tag:yaml.org,2002:yaml" marks indicators such as "*": strings to go-yaml
    # too, which (like PyYAML) then single-quotes them.
    return str(tag) not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:yaml")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style: str | None = None
    if any(ch in value for ch in _UNICODE_BREAKS):
        # PyYAML mangles these in single quotes; go-yaml escapes them too.
        style = '"'
    elif "\n" in value:
        style = "|"
    elif _needs_double_quotes(dumper, value):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_dict(dumper: yaml.SafeDumper, value: Mapping[Any, Any]) -> yaml.MappingNode:
    def by_key(x: tuple[Any, Any], y: tuple[Any, Any]) -> int:
        return _go_key_cmp(x[0], y[0])

    items = sorted(value.items(), key=cmp_to_key(by_key))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


_GoLikeDumper.add_representer(str, _represent_str)
_GoLikeDumper.add_representer(dict, _represent_dict)


def dump_document(document: Mapping[str, Any]) -> str:
    text: str = yaml.dump(
        dict(document),
        Dumper=_GoLikeDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        indent=2,
        width=80,
    )
    return text


def to_yaml(documents: Iterable[Mapping[str, Any]]) -> str:
    """Documents separated by `---` lines, as `kumactl export` prints them."""
    return "---\n".join(dump_document(doc) for doc in documents)


def counts_by_kind(documents: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many documents of each kind, in order of first appearance."""
    counts: dict[str, int] = {}
    for doc in documents:
        kind = str(doc.get("kind", "?"))
        counts[kind] = counts.get(kind, 0) + 1
    return counts
