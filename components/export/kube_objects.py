"""Turn a `?format=k8s` answer into a manifest the global control plane accepts.

Pure functions over dicts, kumactl 2.14's rules: clean server-owned metadata,
drop objects outside the system namespace, strip zone-origin markers, and
rewrite the Mesh so the global reuses the zone's CA instead of minting one.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from components.clients.kuma_names import DISPLAY_NAME, GLOBAL_ORIGIN, ORIGIN_LABEL, SERVER_FIELDS

# Universal-form keys that are metadata, not Mesh spec.
_UNIVERSAL_META = frozenset(
    {"type", "name", "mesh", "creationTime", "modificationTime", "labels", "kri"}
)

# GlobalSecrets that must never leave the zone: importing them into the
# global breaks TLS between control planes and to Envoy admin.
NEVER_EXPORTED = frozenset({"envoy-admin-ca", "inter-cp-ca"})


def builtin_cert_secret(mesh: str, backend: str) -> str:
    return f"{mesh}.ca-builtin-cert-{backend}"


def builtin_key_secret(mesh: str, backend: str) -> str:
    return f"{mesh}.ca-builtin-key-{backend}"


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else None


def namespace_of(obj: Mapping[str, Any]) -> str | None:
    meta = _metadata(obj)
    if meta is None:
        return None
    ns = meta.get("namespace")
    return ns if isinstance(ns, str) else None


def outside_namespaces(obj: Mapping[str, Any], allowed: Collection[str]) -> bool:
    """True for a namespaced object the global would not admit."""
    ns = namespace_of(obj)
    return ns is not None and ns not in allowed


def pushed_down_by_global(obj: Mapping[str, Any]) -> bool:
    """A copy the global synced into this zone under a name of its own, as the zone stores it.

    The global's KDS mappers (pkg/kds/context/context.go) label what they send `kuma.io/origin:
    global` and rename it: policies to `hash.HashedName(mesh, display name, ...)`, i.e.
    `<display name>-<16 characters>`, zone token signing keys to
    `zone-token-signing-public-key-N`; the original name stays as `kuma.io/display-name`. A
    Kubernetes zone keeps that one as an annotation, not a label
    (pkg/plugins/resources/k8s/store.go SplitLabelsAndAnnotations); a label is read too, as
    universal zones and older stores keep it. Read before `clean()` strips `kuma.io/origin`.
    Meshes, Secrets and GlobalSecrets keep their names (SkipKDSHash): not matched here, they are
    the objects the first run copied, under the same names.
    """
    meta = _metadata(obj)
    if meta is None:
        return False
    labels, annotations = meta.get("labels"), meta.get("annotations")
    if not isinstance(labels, Mapping) or labels.get(ORIGIN_LABEL) != GLOBAL_ORIGIN:
        return False
    if not isinstance(annotations, Mapping):
        annotations = {}
    display = annotations.get(DISPLAY_NAME) or labels.get(DISPLAY_NAME)
    return isinstance(display, str) and bool(display) and display != meta.get("name")


def clean(obj: dict[str, Any], excluded_keys: Collection[str]) -> None:
    """Drop server-owned metadata and the excluded labels/annotations, in place."""
    meta = _metadata(obj)
    if meta is None:
        return
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    # kumactl rewrites both maps whenever they exist (even to empty), and
    # filters annotations with the same keys as labels.
    for section in ("labels", "annotations"):
        values = meta.get(section)
        if isinstance(values, dict):
            meta[section] = {k: v for k, v in values.items() if k not in excluded_keys}


def mesh_spec(universal: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The Kubernetes spec of a Mesh from its universal form, and the CA secrets it needs.

    Every builtin mTLS backend becomes `provided`, pointing at the secrets in
    which the zone keeps its builtin CA, so the global keeps issuing
    certificates from the same root; `skipValidation` because the global
    cannot validate a CA it did not generate before the secrets exist.
    """
    name = str(universal.get("name", ""))
    spec = {k: copy.deepcopy(v) for k, v in universal.items() if k not in _UNIVERSAL_META}
    needed: list[str] = []
    mtls = spec.get("mtls")
    if isinstance(mtls, dict):
        converted = False
        for backend in mtls.get("backends") or []:
            if isinstance(backend, dict) and backend.get("type") == "builtin":
                bname = str(backend.get("name", ""))
                cert, key = builtin_cert_secret(name, bname), builtin_key_secret(name, bname)
                backend["type"] = "provided"
                backend["conf"] = {"cert": {"secret": cert}, "key": {"secret": key}}
                needed += [cert, key]
                converted = True
        if converted:
            mtls["skipValidation"] = True
    spec["skipCreatingInitialPolicies"] = ["*"]
    return spec, needed


def finalize(
    obj: Mapping[str, Any],
    *,
    profile: str,
    allowed_namespaces: Collection[str],
    excluded_keys: Collection[str],
    rename_namespace: tuple[str, str] | None = None,
    mesh_universal: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The exported manifest for one object, or None when kumactl skips it."""
    if profile != "all" and outside_namespaces(obj, allowed_namespaces):
        return None
    # Only the top level and metadata are rewritten (clean() swaps whole label and annotation
    # maps, never edits them): copying those two levels leaves `obj` as it was, where a deep
    # copy of every spec cost a tenth of an export's CPU. The rest is shared with `obj`.
    out = dict(obj)
    if isinstance(out.get("metadata"), dict):
        out["metadata"] = dict(out["metadata"])
    clean(out, excluded_keys)
    if rename_namespace is not None:
        meta = _metadata(out)
        if meta is not None and meta.get("namespace") == rename_namespace[0]:
            meta["namespace"] = rename_namespace[1]
    if mesh_universal is not None:
        out["spec"], _ = mesh_spec(mesh_universal)
    return out
