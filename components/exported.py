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

from components.merge import ObjectKey, SharedObject

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
    return {k: v for k, v in metadata.items() if k not in _READ_ONLY_METADATA}


@dataclass
class ExportedMeshResourcesArgs:
    objects: Sequence[SharedObject]
    provider: k8s.Provider
    global_release: pulumi.Resource | None    # None when another stack owns the global
    # Also waited for: the zone token issuers, which use the global's own admin token; once a
    # zone's user-token signing key is applied here, that token stops validating.
    waits_for: Sequence[pulumi.Resource] = ()


class ExportedMeshResources(pulumi.ComponentResource):
    resources: dict[ObjectKey, pulumi.CustomResource]
    zones_of: dict[ObjectKey, tuple[str, ...]]

    def __init__(self, name: str, args: ExportedMeshResourcesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:ExportedMeshResources", name, None, opts)
        self.resources = {}
        self.zones_of = {}
        child_opts = pulumi.ResourceOptions(
            parent=self, provider=args.provider,
            # The release brings the CRDs and the validating webhook these objects go through.
            depends_on=[*([args.global_release] if args.global_release else []), *args.waits_for],
        )
        for shared in args.objects:
            self.resources[shared.key] = self._register(shared, child_opts)
            self.zones_of[shared.key] = shared.zones
        self.register_outputs({"count": len(self.resources)})

    @staticmethod
    def _register(shared: SharedObject, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        document = shared.document
        metadata = clean_metadata(document.get("metadata") or {})
        name = resource_name(shared.key)
        if document.get("kind") == "Secret" and document.get("apiVersion") == "v1":
            data = {str(k): str(v) for k, v in (document.get("data") or {}).items()}
            return k8s.core.v1.Secret(
                name,
                metadata=cast(Any, metadata),
                type=document.get("type"),
                data=pulumi.Output.secret(data),
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])),
            )
        body = {k: v for k, v in document.items() if k not in ("status",)}
        body["metadata"] = metadata
        return KumaObject(name, body, opts)

    def for_zone(self, zone: str) -> list[pulumi.CustomResource]:
        return [r for key, r in self.resources.items() if zone in self.zones_of[key]]
