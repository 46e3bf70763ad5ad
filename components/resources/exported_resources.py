"""Step 3 of the guide: the zone's meshes, secrets and policies, applied on the global.

Why each object is its own resource, not a yaml ConfigGroup: README, "Design notes".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.clients.kuma_names import SECRET_TYPES
from components.resources.dependencies import after_component, one_dependency_input
from components.rules import kuma_mesh
from components.rules.merge import LAST_APPLIED_ANNOTATION, ObjectKey, SharedObject
from components.rules.signing_keys import travels_with_signing_keys

# A Kuma mesh-scoped Secret as Kubernetes stores it (kuma_names.SECRET_TYPES).
MESH_SECRET_TYPE = SECRET_TYPES["Secret"]
# kuma.io kinds of scope Global that a federation export carries (GET /_resources); every other
# kuma.io kind it carries is mesh-scoped. GlobalSecret is a v1 Secret, above.
GLOBAL_SCOPED_KINDS = frozenset({"Mesh", "HostnameGenerator"})

# pulumi-kubernetes' annotation that forces a server-side apply over another field manager's fields.
PATCH_FORCE = "pulumi.com/patchForce"
# Output-only metadata: never sent to the API server.
_READ_ONLY_METADATA = ("creationTimestamp", "resourceVersion", "uid", "generation",
                       "managedFields", "ownerReferences", "selfLink")


class KumaObject(pulumi.CustomResource):
    """Any kuma.io object, whole: old-style policies carry `mesh` next to `spec`, which the
    SDK's typed CustomResource cannot express."""

    def __init__(self, name: str, document: Mapping[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        api_version = str(document["apiVersion"])
        kind = str(document["kind"])
        super().__init__(f"kubernetes:{api_version}:{kind}", name, dict(document), opts)


def resource_name(key: ObjectKey) -> str:
    """Stable and unique per object whatever the export order: kind, namespace, name."""
    parts = [key.kind.lower(), key.namespace, key.name] if key.namespace else [key.kind.lower(), key.name]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts))


def mesh_of(document: Mapping[str, Any]) -> str | None:
    """The Mesh a mesh-scoped copy belongs to, as Kuma reads it (rules/kuma_mesh.py); None for a
    global-scoped one (a GlobalSecret, a Mesh, a HostnameGenerator)."""
    api_version = str(document.get("apiVersion", ""))
    if api_version == "v1":
        if document.get("kind") != "Secret" or document.get("type") != MESH_SECRET_TYPE:
            return None
        return kuma_mesh.mesh_of(document)
    if not api_version.startswith("kuma.io/") or document.get("kind") in GLOBAL_SCOPED_KINDS:
        return None
    return kuma_mesh.mesh_of(document)


def _is_mesh(document: Mapping[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).startswith("kuma.io/") and document.get("kind") == "Mesh"


def _is_mesh_secret(document: Mapping[str, Any]) -> bool:
    return document.get("apiVersion") == "v1" and document.get("type") == MESH_SECRET_TYPE


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata to send to the global. kubectl's last-applied record goes too: stale there, and
    for a Secret it holds the whole Secret, data included, which would reach the state and the
    preview in plaintext beside the data made secret.

    An empty `labels` or `annotations` map is left out, as Kubernetes stores it: kumactl writes
    `{}` where it dropped every key (the zone's own `kuma.io/origin`, which a zone's kuma-cp adds
    to its objects once it runs in zone mode) and no map where there was none, so the same object
    read before and after its zone federated would otherwise show a change (seen with kuma-cp
    2.14.3: `+ labels: {}` on the Mesh in the no-changes preview after the switch)."""
    cleaned = {k: v for k, v in metadata.items() if k not in _READ_ONLY_METADATA}
    annotations = cleaned.get("annotations")
    if isinstance(annotations, Mapping) and LAST_APPLIED_ANNOTATION in annotations:
        cleaned["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED_ANNOTATION}
    for section in ("labels", "annotations"):
        if section in cleaned and not cleaned[section]:
            del cleaned[section]
    return cleaned


@dataclass
class ExportedMeshResourcesArgs:
    """:param objects: the zones' exported objects, merged (rules/merge.py), in export order."""

    objects: Sequence[SharedObject]


class ExportedMeshResources(pulumi.ComponentResource):
    """Every exported object as its own Kubernetes resource on the global, retained on delete.

    Registers one `KumaObject` per kuma.io object and one `core.v1.Secret` per Secret (data as a
    Pulumi secret, namespace set, kubectl's last-applied record dropped), in kumactl's order as
    dependencies: each Mesh, then its Secrets, then its policies; token signing keys last.

    :param str name: the component's name; each child is named by kind, namespace and name.
    :param ExportedMeshResourcesArgs args: the objects.
    :param opts: `provider`: the global's cluster; `depends_on`: what every object waits for
        (the global release, whose CRDs and webhook they go through; in a zones stack, the
        global stack agreeing, as a gate). Children get both.

    Outputs: `resources` and `zones_of` (by object key), `signing_keys()`, `for_zone(zone)`.
    """

    resources: dict[ObjectKey, pulumi.CustomResource]
    zones_of: dict[ObjectKey, tuple[str, ...]]

    def __init__(self, name: str, args: ExportedMeshResourcesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:ExportedMeshResources", name, None, opts)
        self.resources = {}
        self.zones_of = {}
        self._signing_keys: list[ObjectKey] = []
        component_waits = after_component(opts)
        # Retained on delete: once copied, an object is the global's, and the global pushes it to
        # every zone over KDS. A delete by Pulumi would be pushed too, while zones run on it: on
        # `pulumi destroy` (the copies go before the global release, its CP still syncing), or
        # when a zone leaves the config or goes back (the objects only it exported). Removing
        # a copy is a deliberate act on the global (kubectl delete), not a side effect.
        base_opts = pulumi.ResourceOptions(parent=self, retain_on_delete=True)

        def after(resources: Sequence[pulumi.Resource]) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(base_opts, pulumi.ResourceOptions(
                depends_on=one_dependency_input(resources, gate=component_waits)))

        # kumactl's order as dependencies (`kubectl apply -f` of its output applies it in that
        # order; Pulumi would create everything at once): each Mesh first, then its Secrets (the
        # CA its mTLS backend names), then its policies: Kuma's owner-reference webhook looks each
        # mesh-scoped object's Mesh up and refuses it (400) while the Mesh is not there
        # (pkg/plugins/runtime/k8s/webhooks/owner_reference_mutator.go). Token signing keys
        # last, after everything else. One shared dependency input per mesh, so a policy waits
        # on its Mesh and that Mesh's few Secrets, never on thousands of objects.
        first = after([])
        meshes: dict[str, pulumi.CustomResource] = {}
        secrets: dict[str, list[pulumi.CustomResource]] = {}
        created: dict[ObjectKey, pulumi.CustomResource] = {}
        signing: list[SharedObject] = []
        rest: list[SharedObject] = []
        # (Full garbage collections over the heap these registrations build are put off for the
        # whole run: components/process_tuning.py, called by __main__.py.)
        for shared in args.objects:
            if travels_with_signing_keys(shared.document):
                signing.append(shared)
            elif _is_mesh(shared.document):
                created[shared.key] = meshes[shared.key.name] = self._register(
                    shared, first, signing_key=False)
            else:
                rest.append(shared)
        secret_opts: dict[str, pulumi.ResourceOptions] = {}
        others: list[SharedObject] = []
        for shared in rest:
            mesh = mesh_of(shared.document)
            if mesh is None or not _is_mesh_secret(shared.document):
                others.append(shared)
                continue
            if mesh not in secret_opts:
                secret_opts[mesh] = after([meshes[mesh]] if mesh in meshes else [])
            created[shared.key] = resource = self._register(shared, secret_opts[mesh], signing_key=False)
            secrets.setdefault(mesh, []).append(resource)
        policy_opts: dict[str, pulumi.ResourceOptions] = {}
        for shared in others:
            mesh = mesh_of(shared.document)
            opts_for = first
            if mesh is not None:
                if mesh not in policy_opts:
                    policy_opts[mesh] = after(
                        [*([meshes[mesh]] if mesh in meshes else []), *secrets.get(mesh, [])])
                opts_for = policy_opts[mesh]
            created[shared.key] = self._register(shared, opts_for, signing_key=False)
        if signing:
            last = after(list(created.values()))
            for shared in signing:
                created[shared.key] = self._register(shared, last, signing_key=True)
                self._signing_keys.append(shared.key)
        for shared in args.objects:
            self.resources[shared.key] = created[shared.key]
            self.zones_of[shared.key] = shared.zones
        self.register_outputs({"count": len(self.resources)})

    @staticmethod
    def _register(shared: SharedObject, opts: pulumi.ResourceOptions, *,
                  signing_key: bool) -> pulumi.CustomResource:
        document = shared.document
        metadata = clean_metadata(document.get("metadata") or {})
        name = resource_name(shared.key)
        if document.get("kind") == "Secret" and document.get("apiVersion") == "v1":
            data = {str(k): str(v) for k, v in (document.get("data") or {}).items()}
            secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
            if signing_key:
                # Copied once, then the global's: a later run that would copy other keys (the
                # first zone went back, was removed or reordered) must not replace them (nor delete
                # them: no copy is deleted), or every token signed with them stops validating.
                secret_opts = pulumi.ResourceOptions.merge(secret_opts, pulumi.ResourceOptions(
                    ignore_changes=["data", "type"]))
                # The global's kuma-cp made its own keys at start, under its field manager: the
                # provider's server-side apply takes them over only when forced, as the guide's
                # `kubectl apply` replaces them (seen with kuma-cp 2.14.3: "Apply failed with 1
                # conflict: conflict with "kuma-cp" using v1: .data.value").
                metadata["annotations"] = {**(metadata.get("annotations") or {}), PATCH_FORCE: "true"}
            return k8s.core.v1.Secret(
                name,
                metadata=cast(Any, metadata),
                type=document.get("type"),
                data=pulumi.Output.secret(data),
                opts=pulumi.ResourceOptions.merge(opts, secret_opts),
            )
        body = {k: v for k, v in document.items() if k not in ("status",)}
        body["metadata"] = metadata
        return KumaObject(name, body, opts)

    def signing_keys(self) -> list[pulumi.CustomResource]:
        """The token signing keys copied here (from one zone at most, see signing_keys.py)."""
        return [self.resources[key] for key in self._signing_keys]

    def for_zone(self, zone: str) -> list[pulumi.CustomResource]:
        return [r for key, r in self.resources.items() if zone in self.zones_of[key]]
