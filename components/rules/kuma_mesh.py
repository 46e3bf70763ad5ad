"""Which mesh a Kuma object belongs to, as Kuma v2.14.3 reads an object stored on Kubernetes: the
one place the export, the resources the global receives and the federation check ask.

Upstream (kumahq/kuma v2.14.3):
- a policy kind generated from `api/` (MeshTimeout, ...) answers its `kuma.io/mesh` label, else
  `default` (pkg/plugins/policies/*/k8s/v1alpha1/zz_generated.types.go GetMesh);
- an older kind keeps `mesh` at the top level beside `spec` (pkg/plugins/resources/k8s/native/
  api/v1alpha1/zz_generated.mesh.go GetMesh), and the admission webhook writes the same mesh
  into the `kuma.io/mesh` label (pkg/plugins/runtime/k8s/webhooks/defaulter.go, labels.Compute):
  so the label is read first, then the field;
- a mesh Secret (type system.kuma.io/secret) answers its label, else `default`; a GlobalSecret
  none (pkg/plugins/secrets/k8s/store.go KubernetesMetaAdapter.GetMesh). But a mesh's list of
  Secrets is a label selector (the same file's List), so a Secret without the label is in the
  list of no mesh: what kumactl export, which lists per mesh, never carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.clients.kuma_names import MESH_LABEL

# What Kuma calls the mesh of an object that names none (pkg/core/resources/model DefaultMesh).
DEFAULT_MESH = "default"

__all__ = ["DEFAULT_MESH", "MESH_LABEL", "mesh_label", "mesh_of", "secret_listed_in",
           "top_level_mesh"]


def mesh_label(document: Mapping[str, Any]) -> str | None:
    """The object's `kuma.io/mesh` label, if it has one that is not empty."""
    metadata = document.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    label = labels.get(MESH_LABEL) if isinstance(labels, Mapping) else None
    return label if isinstance(label, str) and label else None


def top_level_mesh(document: Mapping[str, Any]) -> str:
    """The `mesh` an older kind keeps beside `spec` ("" without one: a global-scoped kind)."""
    top = document.get("mesh")
    return top if isinstance(top, str) else ""


def mesh_of(document: Mapping[str, Any]) -> str:
    """The mesh of a mesh-scoped object (a policy, a mesh Secret): its label, else its top-level
    `mesh` (older kinds), else `default`."""
    return mesh_label(document) or top_level_mesh(document) or DEFAULT_MESH


def secret_listed_in(document: Mapping[str, Any]) -> str | None:
    """The mesh whose list of Secrets shows this mesh Secret: its label's, none without one."""
    return mesh_label(document)
