"""The stack configuration's schema: its keys, accepted values and defaults, and the typed
dataclasses the program reads. Pure: no Pulumi, no parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.rules.products import KDS_PORT, Product

NAMESPACE = "mesh-federation"
EXPORT_PROFILES = ("federation-with-policies", "federation")
INSTALL_MODES = ("brownfield", "greenfield")
KDS_TLS_MODES = ("generated", "provided", "certManager", "skipVerify")
ISSUER_KINDS = ("ClusterIssuer", "Issuer")
ZONE_AUTH_MODES = ("zoneToken", "none")
# Keys whose values are secrets: never echoed in an error message (`token`: of an `api` object;
# `apiToken`: its old name).
SECRET_KEYS = frozenset({"token", "apiToken", "license", "serverKey", "zoneToken"})
# A Go duration in whole hours, minutes or seconds, as Kuma's token API parses it.
DURATION = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$")
# all: one stack owns the global and the zones. global / zones: split stacks, so separate teams
# own the global and their zones; a zones stack reads the global stack's outputs.
ROLES = ("all", "global", "zones")

# The keys of each object, as the README's table lists them. The old names of renamed keys
# (components/config/renames.py) are accepted beside them for one release.
CURRENT_TOP_LEVEL_KEYS = frozenset({
    "product", "chartVersion", "chartRepository", "namespace", "exportProfile", "global",
    "zones", "kubeconfig", "kdsTls", "license", "readyTimeoutSeconds", "exportDeadlineSeconds",
    "check", "role", "globalStack", "zoneAuth", "advanced",
})
GLOBAL_KEYS = frozenset({"kubeContext", "releaseName", "kdsAddress", "api", "values"})
ZONE_KEYS = frozenset({"name", "kubeContext", "releaseName", "api", "install", "federated",
                       "values", "zoneToken"})
API_KEYS = frozenset({"url", "token", "caBundle"})
CHECK_KEYS = frozenset({"enabled", "timeoutSeconds"})
ADVANCED_KEYS = frozenset({"exportConcurrency", "checkIntervalSeconds", "exportStatusRetries",
                           "exportConnectRetries"})
KDS_TLS_KEYS = frozenset({"mode", "caCert", "serverCert", "serverKey", "issuer", "issuerKind"})
ZONE_AUTH_KEYS = frozenset({"mode", "validFor", "rotation"})
# Every top-level key of the `mesh-federation` namespace: the current ones and the old names
# still read (load_config reads each of them).
TOP_LEVEL_KEYS = CURRENT_TOP_LEVEL_KEYS | {"exportConcurrency"}
# Top-level keys holding an object (read with get_object); the others are plain values.
OBJECT_KEYS = frozenset({"global", "zones", "check", "kdsTls", "zoneAuth", "advanced"})
DEFAULT_EXPORT_DEADLINE_SECONDS = 300
DEFAULT_READY_TIMEOUT_SECONDS = 600
DEFAULT_EXPORT_CONCURRENCY = 32
DEFAULT_CHECK_INTERVAL_SECONDS = 5.0

THREE_X_CHANGES = (
    "Kong Mesh / Kuma 3.0 changed the federation flow this program automates: a global control "
    "plane on Kubernetes must run in universal mode on PostgreSQL, the top-level `ingress` values "
    "were replaced by `meshes[].ingress`, and standalone mode is gone"
)


@dataclass(frozen=True)
class KdsAddress:
    host: str
    port: int = KDS_PORT

    @property
    def url(self) -> str:
        return f"grpcs://{self.host}:{self.port}"


@dataclass(frozen=True)
class GlobalConfig:
    kube_context: str
    release_name: str = "kong-mesh"
    kds_address: KdsAddress | None = None
    api_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    # A PEM CA bundle that signed an https:// api.url's certificate (None: the system's trust).
    api_ca_bundle: str | None = None
    # The top-level readyTimeoutSeconds: it bounds the zones' rollout waits too.
    ready_timeout_seconds: int = DEFAULT_READY_TIMEOUT_SECONDS
    values: Mapping[str, Any] = field(default_factory=dict)
    # The `global` config key holds a Pulumi secret somewhere: Pulumi says which top-level keys
    # hold one, not where, so every value here that reaches a resource is registered as a secret.
    values_secret: bool = False
    # `values` as a preview and the stack outputs may show them (config.secrecy.shown_values):
    # set by load_config from the stack file; None: each value masked when values_secret.
    values_shown: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ZoneConfig:
    name: str
    kube_context: str
    release_name: str = "kong-mesh"
    api_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    api_ca_bundle: str | None = None       # as GlobalConfig.api_ca_bundle
    install: Literal["brownfield", "greenfield"] = "brownfield"
    federated: bool = True
    values: Mapping[str, Any] = field(default_factory=dict)
    # A zone token the user issued (`kumactl generate zone-token --scope cp`); None: the program
    # asks the global for one.
    zone_token: str | None = field(default=None, repr=False)
    values_secret: bool = False            # as GlobalConfig.values_secret, for the `zones` key
    values_shown: Mapping[str, Any] | None = None   # as GlobalConfig.values_shown


@dataclass(frozen=True)
class KdsTlsConfig:
    """How zones trust the global's KDS server. `generated` (default): a CA and a server
    certificate for global.kdsAddress, made by pulumi-tls; `provided`: the user's PEMs;
    `certManager`: a cert-manager Certificate on the global, signed by the user's issuer, whose
    CA (`caCert`) zones trust; `skipVerify`: no verification, as the guide does (dev only)."""

    mode: Literal["generated", "provided", "certManager", "skipVerify"] = "generated"
    ca_cert: str | None = None
    server_cert: str | None = None
    server_key: str | None = field(default=None, repr=False)
    # certManager: the cert-manager issuer that signs the KDS server certificate on the global.
    issuer: str | None = None
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"

    @property
    def skip_verify(self) -> bool:
        return self.mode == "skipVerify"


@dataclass(frozen=True)
class ZoneAuthConfig:
    """How zone control planes prove who they are to the global (Kong Mesh's multi-zone
    authentication). `zoneToken`: the global requires a zone token with scope `cp` from every
    zone, and the program issues one per zone from the global's API; `none`: any zone that
    reaches the KDS port may join (the guide's way, and Kuma 2.x's only way)."""

    mode: Literal["zoneToken", "none"] = "zoneToken"
    valid_for: str = "8760h"
    # Change it (e.g. to today's date) to issue new zone tokens and restart zones with them.
    rotation: str = ""

    @property
    def enabled(self) -> bool:
        return self.mode == "zoneToken"


@dataclass(frozen=True)
class CheckConfig:
    enabled: bool = True
    timeout_seconds: int = 600
    interval_seconds: float = DEFAULT_CHECK_INTERVAL_SECONDS


@dataclass(frozen=True)
class FederationConfig:
    """The whole `mesh-federation` namespace, validated (components/config/parse.py); the
    README's configuration table says what each key does."""
    product: Product
    chart_version: str
    chart_repository: str
    namespace: str
    export_profile: str
    global_: GlobalConfig
    zones: tuple[ZoneConfig, ...]
    kubeconfig: str | None = None
    role: Literal["all", "global", "zones"] = "all"
    global_stack: str | None = None
    kds_tls: KdsTlsConfig = field(default_factory=KdsTlsConfig)
    license: str | None = field(default=None, repr=False)
    export_concurrency: int = DEFAULT_EXPORT_CONCURRENCY
    # One deadline per zone export (seconds): retries never add up to an unbounded wait.
    export_deadline_seconds: int = DEFAULT_EXPORT_DEADLINE_SECONDS
    # Retries of transient answers (429, 5xx) and of failed connections, each its own budget
    # (None: the export's RetryPolicy, components/clients/kuma_api.py).
    export_status_retries: int | None = None
    export_connect_retries: int | None = None
    check: CheckConfig = field(default_factory=CheckConfig)
    zone_auth: ZoneAuthConfig = field(default_factory=ZoneAuthConfig)
    # Accepted, but worth saying (logged as warnings by the program).
    warnings: tuple[str, ...] = ()
