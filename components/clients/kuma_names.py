"""Names Kuma gives things on Kubernetes, in one place: the `kuma.io/*` labels and annotations,
the admin token Secret, the Secret types of Kuma's secrets, and the metadata the API server owns
(stripped before an object is applied elsewhere). Upstream: Kuma v2.14.3."""

from __future__ import annotations

# The group/version of every Kuma custom resource (crds/: spec.group kuma.io, version v1alpha1).
KUMA_API_VERSION = "kuma.io/v1alpha1"

# Labels (api/mesh/v1alpha1 ZoneTag, ResourceOriginLabel, MeshTag; pkg/core/resources/model
# DisplayName). A Kubernetes zone keeps the display name as an annotation, not a label
# (pkg/plugins/resources/k8s/store.go SplitLabelsAndAnnotations): readers look at both.
ZONE_LABEL = "kuma.io/zone"
ORIGIN_LABEL = "kuma.io/origin"
MESH_LABEL = "kuma.io/mesh"
DISPLAY_NAME = "kuma.io/display-name"
# The origin a zone stores on what the global synced into it (pkg/kds/context/context.go, the
# global's mappers: WithLabel(kuma.io/origin, global)).
GLOBAL_ORIGIN = "global"

# The Secret the control plane writes its admin user token into at first start (a GlobalSecret).
ADMIN_TOKEN_SECRET = "admin-user-token"
# The prefix of the user-token signing keys (GlobalSecrets `user-token-signing-key-N`).
USER_TOKEN_SIGNING_KEY_PREFIX = "user-token-signing-key"

# The Secret types Kuma keeps its Secrets and GlobalSecrets in on Kubernetes
# (pkg/plugins/common/k8s/names.go: MeshSecretType, GlobalSecretType).
SECRET_TYPES = {"Secret": "system.kuma.io/secret", "GlobalSecret": "system.kuma.io/global-secret"}
# Kuma's secret kinds: plain Kubernetes Secrets (v1) on a Kubernetes zone.
SECRET_KINDS = frozenset(SECRET_TYPES)

# Server-owned metadata: applying it elsewhere fails or pins a stale version.
SERVER_FIELDS = ("resourceVersion", "ownerReferences", "uid", "generation", "managedFields")
