"""Step 3 of the guide: the zone's meshes, secrets and policies, applied on the global.

Each object is its own Kubernetes resource on the global provider (not a yaml ConfigGroup: its
CRDs arrive in the same run from the Helm release, and preview would fail to look them up), with
the namespace set and Secret data wrapped as a Pulumi secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.dependencies import one_dependency_input
from components.merge import LAST_APPLIED_ANNOTATION, ObjectKey, SharedObject
from components.signing_keys import is_signing_key

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


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata to send to the global. kubectl's last-applied record goes too: stale there, and
    for a Secret it holds the whole Secret, data included, which would reach the state and the
    preview in plaintext beside the data made secret."""
    cleaned = {k: v for k, v in metadata.items() if k not in _READ_ONLY_METADATA}
    annotations = cleaned.get("annotations")
    if isinstance(annotations, Mapping) and LAST_APPLIED_ANNOTATION in annotations:
        kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED_ANNOTATION}
        if kept:
            cleaned["annotations"] = kept
        else:
            del cleaned["annotations"]
    return cleaned


@dataclass
class ExportedMeshResourcesArgs:
    objects: Sequence[SharedObject]
    provider: k8s.Provider
    global_release: pulumi.Resource | None    # None when another stack owns the global
    # A zones stack: the global stack agreeing on zoneAuth. Nothing is copied unless it holds.
    gate: pulumi.Output[Any] | None = None


class ExportedMeshResources(pulumi.ComponentResource):
    resources: dict[ObjectKey, pulumi.CustomResource]
    zones_of: dict[ObjectKey, tuple[str, ...]]

    def __init__(self, name: str, args: ExportedMeshResourcesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:ExportedMeshResources", name, None, opts)
        self.resources = {}
        self.zones_of = {}
        self._signing_keys: list[ObjectKey] = []
        # The release brings the CRDs and the validating webhook these objects go through.
        release = [args.global_release] if args.global_release else []
        # Retained on delete: once copied, an object is the global's, and the global pushes it to
        # every zone over KDS. A delete by Pulumi would be pushed too, while zones run on it: on
        # `pulumi destroy` (the copies go before the global release, its CP still syncing), or
        # when a zone leaves the config or goes back (the objects only it exported). Removing
        # a copy is a deliberate act on the global (kubectl delete), not a side effect.
        child_opts = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=one_dependency_input(release, gate=args.gate),
            retain_on_delete=True)
        # (Full garbage collections over the heap these registrations build are put off for the
        # whole run: components/process_tuning.py, called by __main__.py.)
        for shared in args.objects:
            signing_key = is_signing_key(shared.document)
            self.resources[shared.key] = self._register(shared, child_opts, signing_key=signing_key)
            if signing_key:
                self._signing_keys.append(shared.key)
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
