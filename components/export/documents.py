"""Is an answer the manifest that was asked for? Checked before anything is registered.

A zone answer that is no manifest (a server that ignores `?format=k8s` answers the universal
form; a proxy answers something else; a control plane answers another object) would otherwise be
printed by the command with exit 0, or fail the program with a KeyError after the global release
and some copies were registered. The shape checked is the Kubernetes object every kuma.io CRD
describes (Kuma v2.14.3 `crds/`: `apiVersion`, `kind`, `metadata` and an object `spec`, under
`kuma.io/v1alpha1`), and `v1` `Secret`s for Kuma's secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.clients.kuma_names import KUMA_API_VERSION, MESH_LABEL, SECRET_KINDS
from components.export.model import ExportError


def expected_kind(type_name: str) -> tuple[str, str]:
    """(apiVersion, kind) of the Kubernetes form of a Kuma resource type."""
    if type_name in SECRET_KINDS:
        return "v1", "Secret"
    return KUMA_API_VERSION, type_name


def check_manifest(doc: Any, *, type_name: str, name: str | None, where: str,
                   mesh: str | None = None) -> dict[str, Any]:
    """`doc` if it is a Kubernetes manifest of a `type_name` (of `mesh`, when its kuma.io/mesh
    label says); else an ExportError naming the object `name`, `where` it came from and what is
    wrong. Its metadata.name is not compared with `name`: kumactl's own vector answers the
    MeshAccessLog `mal-1` with a manifest named `default` (export-testdata/
    kube-input.MeshAccessLog.mal-1.json), and the global renames what it syncs."""
    what = f"{type_name} {name!r}" if name is not None else f"a {type_name}"

    def refuse(problem: str) -> ExportError:
        return ExportError(
            f"{where} answered something that is not the manifest of {what}: {problem}. Nothing "
            "is exported: check that the address is the zone control plane's API (a Kuma "
            "control plane on Kubernetes serves ?format=k8s) and re-run")

    if not isinstance(doc, dict):
        raise refuse(f"a JSON {type(doc).__name__}, not an object")
    api_version, kind = expected_kind(type_name)
    if doc.get("apiVersion") != api_version or doc.get("kind") != kind:
        if "apiVersion" not in doc and doc.get("type") == type_name:
            raise refuse("the universal form (no apiVersion): the server ignored ?format=k8s")
        raise refuse(f"apiVersion {_short(doc.get('apiVersion'))} and kind "
                     f"{_short(doc.get('kind'))}, where {api_version} {kind} was expected")
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping):
        raise refuse("no metadata object")
    found = meta.get("name")
    if not isinstance(found, str) or not found:
        raise refuse("no metadata.name")
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise refuse("metadata.namespace is not a string")
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not (isinstance(value, Mapping)
                                      and all(isinstance(v, str) for v in value.values())):
            raise refuse(f"metadata.{key} is not a map of strings")
    labels = meta.get("labels")
    labelled = labels.get(MESH_LABEL) if isinstance(labels, Mapping) else None
    if mesh is not None and labelled is not None and labelled != mesh:
        raise refuse(f"it belongs to mesh {labelled!r} (label kuma.io/mesh), not {mesh!r}")
    if kind != "Secret" and "spec" in doc and not isinstance(doc["spec"], Mapping):
        raise refuse("spec is not an object")
    if kind == "Secret" and doc.get("data") is not None and not isinstance(doc["data"], Mapping):
        raise refuse("data is not an object")
    return doc


def _short(value: Any) -> str:
    return repr(value)[:60]
