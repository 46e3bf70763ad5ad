"""Stack configuration (namespace `mesh-federation`): typed, validated, in one place.

`parse_config` is pure (a mapping in, a `FederationConfig` out) so that every rule is testable
without Pulumi; `load_config` reads the stack's config through the Pulumi SDK. Every problem is
collected and reported at once, naming the key and the fix, before anything is registered.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.chart_names import KDS_GRPC_PORT_ENV, chart_value, service_enabled
from components.forward_compat import is_rfc1035_label, zone_name_warning
from components.products import KDS_PORT, LTS_2X, NEWEST_2X, PRODUCTS, Product
from components.redaction import CredentialError, clean_credential, redact_url

NAMESPACE = "mesh-federation"
EXPORT_PROFILES = ("federation-with-policies", "federation")
INSTALL_MODES = ("brownfield", "greenfield")
KDS_TLS_MODES = ("generated", "provided", "certManager", "skipVerify")
ISSUER_KINDS = ("ClusterIssuer", "Issuer")
ZONE_AUTH_MODES = ("zoneToken", "none")
# Keys whose values are secrets: never echoed in an error message.
SECRET_KEYS = frozenset({"apiToken", "license", "serverKey", "zoneToken"})
# A Go duration in whole hours, minutes or seconds, as Kuma's token API parses it.
_DURATION = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$")
# all: one stack owns the global and the zones. global / zones: split stacks, so separate teams
# own the global and their zones; a zones stack reads the global stack's outputs.
ROLES = ("all", "global", "zones")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
# An exact chart version: the export's rules and the chart must agree, so no range, no `2.x`.
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
# Every top-level key of the `mesh-federation` namespace.
TOP_LEVEL_KEYS = frozenset({
    "product", "chartVersion", "chartRepository", "namespace", "exportProfile", "global",
    "zones", "kubeconfig", "kdsTls", "license", "exportConcurrency", "exportDeadlineSeconds",
    "exportStatusRetries", "exportConnectRetries", "check", "role", "globalStack", "zoneAuth",
})
# Top-level keys holding an object (read with get_object); the others are plain values.
OBJECT_KEYS = frozenset({"global", "zones", "check", "kdsTls", "zoneAuth"})
DEFAULT_EXPORT_DEADLINE_SECONDS = 300

THREE_X_CHANGES = (
    "Kong Mesh / Kuma 3.0 changed the federation flow this program automates: a global control "
    "plane on Kubernetes must run in universal mode on PostgreSQL, the top-level `ingress` values "
    "were replaced by `meshes[].ingress`, and standalone mode is gone"
)


class ConfigError(ValueError):
    """Every problem in the stack configuration, each naming its key and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


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
    # A PEM CA bundle that signed an https:// apiUrl's certificate (None: the system's trust).
    api_ca_bundle: str | None = None
    ready_timeout_seconds: int = 600
    values: Mapping[str, Any] = field(default_factory=dict)
    # The `global` config key holds a Pulumi secret somewhere: Pulumi says which top-level keys
    # hold one, not where, so every value here that reaches a resource is registered as a secret.
    values_secret: bool = False


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
    interval_seconds: float = 5.0


@dataclass(frozen=True)
class FederationConfig:
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
    export_concurrency: int = 32
    # One deadline per zone export (seconds): retries never add up to an unbounded wait.
    export_deadline_seconds: int = DEFAULT_EXPORT_DEADLINE_SECONDS
    # Retries of transient answers (429, 5xx) and of failed connections, each its own budget
    # (None: the export's RetryPolicy, components/kuma_api/client.py).
    export_status_retries: int | None = None
    export_connect_retries: int | None = None
    check: CheckConfig = field(default_factory=CheckConfig)
    zone_auth: ZoneAuthConfig = field(default_factory=ZoneAuthConfig)
    # Accepted, but worth saying (logged as warnings by the program).
    warnings: tuple[str, ...] = ()


def parse_kds_address(raw: str, key: str, problems: list[str],
                      default_port: int = KDS_PORT) -> KdsAddress | None:
    """`host` or `host:port`; no scheme (the program adds grpcs://), no spaces. A bare host
    gets `default_port`, the port of the global's zone-sync Service."""
    fix = f"set {key} to a bare host or host:port, e.g. `kds.example.com` or `10.0.0.5:5685`"
    if not raw or raw != raw.strip() or " " in raw:
        problems.append(f"{key}: {raw!r} is empty or has spaces; {fix}")
        return None
    if "://" in raw:
        problems.append(f"{key}: {raw!r} has a scheme; the program adds grpcs:// itself; {fix}")
        return None
    host, port = raw, default_port
    if raw.startswith("["):  # [ipv6]:port
        end = raw.find("]")
        if end == -1:
            problems.append(f"{key}: {raw!r} opens a bracket it does not close; {fix}, or "
                            "`[2001:db8::1]:5685` for an IPv6 address")
            return None
        host, rest = raw[: end + 1], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                problems.append(f"{key}: {raw!r} is not host or host:port; {fix}")
                return None
            port_text = rest[1:]
        else:
            port_text = ""
        if not _IPV6.match(host):
            problems.append(f"{key}: {raw!r} is not a valid IPv6 address; {fix}")
            return None
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    elif ":" in raw:
        problems.append(f"{key}: {raw!r} looks like a bare IPv6 address: put it in brackets, "
                        f"e.g. `[{raw}]` or `[{raw}]:5685`")
        return None
    else:
        port_text = ""
    if not port_text and raw.endswith(":"):
        problems.append(f"{key}: {raw!r} ends with ':' but gives no port; {fix}")
        return None
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            problems.append(f"{key}: port {port_text!r} is not a number from 1 to 65535; {fix}")
            return None
        port = int(port_text)
    if not host.startswith("[") and (len(host) > 253 or not all(
            _HOST_LABEL.match(label) and len(label) <= 63 for label in host.split("."))):
        problems.append(f"{key}: {host!r} is not a valid host name or IP address (dot-separated "
                        f"labels of letters, digits and '-', none empty); {fix}")
        return None
    return KdsAddress(host=host, port=port)


class _Reader:
    """Typed access to one mapping of raw config, recording problems instead of raising."""

    def __init__(self, raw: Any, key: str, problems: list[str]) -> None:
        self.key = key
        self.problems = problems
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            problems.append(f"{key}: expected an object, got {type(raw).__name__}")
            raw = {}
        self.raw: Mapping[str, Any] = raw

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.problems.append(
                    f"{self.path(name)} is required; set it with "
                    f"`pulumi config set --path '{NAMESPACE}:{self.path(name)}' <value>`"
                )
            return default
        if not isinstance(value, str):
            shown = "a value not shown (it is a secret)" if name in SECRET_KEYS else repr(value)
            self.problems.append(f"{self.path(name)}: expected a string, got {shown}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw.get(name, default)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problems.append(f"{self.path(name)}: expected true or false, got {value!r}")
            return default
        return value

    def credential(self, name: str) -> str | None:
        """A token: surrounding whitespace dropped; a line break or another control character
        inside refused, naming the key, never showing the value."""
        value = self.string(name)
        if value is None:
            return None
        try:
            return clean_credential(value, f"{NAMESPACE}:{self.path(name)}")
        except CredentialError as error:
            self.problems.append(f"{self.path(name)}: {error}")
            return None

    def number(self, name: str, default: float, *, minimum: float) -> float:
        value = self.raw.get(name, default)
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            self.problems.append(f"{self.path(name)}: expected a number, got {value!r}")
            return default
        if number < minimum:
            self.problems.append(f"{self.path(name)}: must be at least {minimum}, got {value!r}")
            return default
        return number

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        """A whole number (Pulumi hands plain values over as strings): `1.5`, `nan`, `true`, `abc`
        are refused naming the key, never silently replaced by the default."""
        value = self.raw.get(name, default)
        text = value.strip() if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif text is not None and re.fullmatch(r"[+-]?\d+", text):
            number = int(text)
        else:
            self.problems.append(
                f"{self.path(name)}: expected a whole number of at least {minimum}, got {value!r}; "
                f"set it with `pulumi config set --path '{NAMESPACE}:{self.path(name)}' {default}`")
            return default
        if number < minimum:
            self.problems.append(f"{self.path(name)}: must be at least {minimum}, got {value!r}")
            return default
        return number

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, Mapping):
            self.problems.append(f"{self.path(name)}: expected an object of Helm values")
            return {}
        return value

    def unknown_keys(self, known: set[str] | frozenset[str]) -> None:
        for name in sorted(set(self.raw) - known, key=str):
            near = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
            near += [k for k in sorted(known) if not near and k.lower() == str(name).lower()]
            suggestion = f"did you mean {self.path(near[0])}? " if near else ""
            self.problems.append(
                f"{self.path(str(name))}: unknown key; {suggestion}known keys here: "
                f"{', '.join(sorted(known))}. Remove it with `pulumi config rm --path "
                f"'{NAMESPACE}:{self.path(str(name))}'`"
            )


def _chart_version(value: str, problems: list[str]) -> None:
    major = value.lstrip("v").split(".", 1)[0]
    if not major.isdigit() or (int(major) < 3 and not _EXACT_VERSION.match(value)):
        problems.append(
            f"chartVersion: {value!r} is not an exact version like {NEWEST_2X}: the export's rules "
            "and the chart installed must be the same version, so no range, wildcard or spaces; "
            f"set it with `pulumi config set {NAMESPACE}:chartVersion {NEWEST_2X}`")
    elif int(major) >= 3:
        problems.append(
            f"chartVersion: {value!r} is a 3.x chart; this program federates 2.x control planes. "
            f"{THREE_X_CHANGES}. What you can do today: federate on 2.x with this program (`pulumi "
            f"config set {NAMESPACE}:chartVersion {NEWEST_2X}`, the newest 2.x, or {LTS_2X}, the "
            "2.13 LTS line; the zones must not run a newer version than the global), then upgrade "
            "by Kong's 3.0 upgrade notes; or federate on 3.0 by hand, following its multi-zone "
            "docs: the global in universal mode on PostgreSQL (on Kubernetes: "
            "controlPlane.environment universal with a PostgreSQL store), each zone pointed at it."
        )
    elif int(major) < 2:
        problems.append(f"chartVersion: {value!r} is older than 2.0; this program supports 2.x")


def _url(value: str | None, key: str, problems: list[str]) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        shown = redact_url(value) if "://" in value else re.sub(r"^[^/]*@", "***@", value)
        problems.append(f"{key}: {shown!r} is not an http(s) URL, e.g. http://localhost:5681")
        return None
    return value.rstrip("/") if value else None


def _chart_values(values: Mapping[str, Any], key: str, product: Product,
                  problems: list[str]) -> Mapping[str, Any]:
    """Extra Helm values, less what the program cannot follow: a `nameOverride` renames the
    control plane's Services and Deployment, which the program reaches by the chart's names
    (the zone-sync address, the API for the check and the zone tokens, the rollout wait)."""
    chart: Any = values
    for part in product.values_prefix:
        chart = chart.get(part, {}) if isinstance(chart, Mapping) else {}
    if isinstance(chart, Mapping) and chart.get("nameOverride"):
        where = ".".join((*product.values_prefix, "nameOverride"))
        problems.append(
            f"{key}.{where}: renaming the chart's objects is not supported (the program finds the "
            f"control plane by the names {product.service_prefix}-control-plane and "
            f"{product.service_prefix}-global-zone-sync): remove it with `pulumi config rm "
            f"--path '{NAMESPACE}:{key}.{where}'`")
    return values


def _owned_values(values: Mapping[str, Any], key: str, product: Product, problems: list[str],
                  *, is_global: bool, federated: bool) -> None:
    """Refuse Helm values that set what federation itself sets (components/helm_values.py):
    merged last, they would win, and the control plane would federate wrongly with nothing said.
    Each names the config key that sets it instead."""
    prefix = product.values_prefix
    chart: Any = values
    for depth, part in enumerate(prefix):
        chart = chart.get(part) if isinstance(chart, Mapping) else None
        if chart is not None and not isinstance(chart, Mapping):
            where = ".".join((key, *prefix[: depth + 1]))
            problems.append(
                f"{where}: must be an object of Helm values, not a {type(chart).__name__}: it would "
                f"replace every value the program sets under it; remove it with `pulumi config rm "
                f"--path '{NAMESPACE}:{where}'`")
            return
    if not isinstance(chart, Mapping):
        return
    owned: list[tuple[tuple[str, ...], str]] = [(("controlPlane", "mode"), "role (global or zones)")]
    if not is_global:
        owned += [
            (("controlPlane", "zone"), key.removesuffix(".values") + ".name"),
            (("controlPlane", "kdsGlobalAddress"), "global.kdsAddress"),
            (("controlPlane", "tls", "kdsZoneClient"), "kdsTls.mode (and kdsTls.caCert)"),
        ]
        if federated:
            owned.append((("ingress", "enabled"),
                          key.removesuffix(".values") + ".federated (a federated zone runs an ingress)"))
    control_plane = chart.get("controlPlane")
    if control_plane is not None and not isinstance(control_plane, Mapping):
        where = ".".join((key, *prefix, "controlPlane"))
        problems.append(f"{where}: must be an object of Helm values: it would replace the control "
                        f"plane values the program sets; remove it with `pulumi config rm --path "
                        f"'{NAMESPACE}:{where}'`")
        return
    for path, instead in owned:
        node: Any = chart
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            continue
        where = ".".join((key, *prefix, *path))
        problems.append(
            f"{where}: the program sets this itself for federation; set {instead} instead, and "
            f"remove it with `pulumi config rm --path '{NAMESPACE}:{where}'`")


def _rename(name: str, taken: set[str]) -> str:
    """A DNS-1123 label from `name` that no other zone has."""
    base = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:57].strip("-") or "zone"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _chart_services(values: Mapping[str, Any], key: str, product: Product, problems: list[str],
                    *, api_url: str | None, is_global: bool, secret: bool) -> None:
    """The Services the program reaches, as the chart names them from these values (see
    components/chart_names.py): a `controlPlane.service.name` and a `globalZoneSyncService`
    name or port are followed; what the program cannot follow is refused here."""
    def where(*path: str) -> str:
        return ".".join((key, *product.values_prefix, "controlPlane", *path))

    def shown(value: Any) -> str:
        return "the value (not shown: a secret)" if secret else repr(value)

    name = chart_value(product, values, "controlPlane", "service", "name")
    # Kubernetes names Services by RFC 1035 labels.
    if name not in (None, "") and not (isinstance(name, str) and is_rfc1035_label(name)):
        problems.append(
            f"{where('service', 'name')}: {shown(name)} is not a Service name Kubernetes accepts (a "
            "DNS-1035 label: lower case letters, digits and '-', starting with a letter, at most "
            "63 characters)")
    if not service_enabled(product, values) and not api_url:
        api_key = "global.apiUrl" if is_global else key.removesuffix(".values") + ".apiUrl"
        problems.append(
            f"{where('service', 'enabled')}: false renders no control plane Service, and without "
            f"{api_key} the program reaches the control plane API through that Service (the "
            f"Kubernetes API server's service proxy): set {api_key} to a URL that reaches the API, "
            f"or remove it with `pulumi config rm --path '{NAMESPACE}:{where('service', 'enabled')}'`")
    if not is_global:
        return
    port = chart_value(product, values, "controlPlane", "globalZoneSyncService", "port")
    if port in (None, ""):
        return
    if not str(port).isdigit() or not 1 <= int(port) <= 65535:
        problems.append(f"{where('globalZoneSyncService', 'port')}: {shown(port)} is not a port number "
                        "from 1 to 65535")
        return
    listening = chart_value(product, values, "controlPlane", "envVars", KDS_GRPC_PORT_ENV)
    if int(port) != KDS_PORT and str(listening) != str(port):
        problems.append(
            f"{where('globalZoneSyncService', 'port')}: the chart's zone-sync Service forwards "
            f"port {port} to the same port of the control plane (it sets no targetPort), but the "
            f"KDS server listens on {KDS_GRPC_PORT_ENV} ({listening or KDS_PORT}). Also set "
            f"`pulumi config set --path '{NAMESPACE}:{where('envVars', KDS_GRPC_PORT_ENV)}' "
            f"{port}`, or remove the port")


def _zone_sync_port(values: Mapping[str, Any], product: Product) -> int:
    """The global's zone-sync Service port, for a bare global.kdsAddress (validated above)."""
    port = chart_value(product, values, "controlPlane", "globalZoneSyncService", "port")
    return int(port) if str(port).isdigit() and 1 <= int(port) <= 65535 else KDS_PORT


def _ca_bundle(path: str | None, api_url: str | None, key: str, problems: list[str]) -> str | None:
    """`<key>.apiCaBundle`: a PEM file that signed the certificate of an https:// apiUrl (the
    control plane's own on port 5682 is self-signed, so the system's trust refuses it)."""
    if not path:
        return None
    if not (api_url or "").startswith("https://"):
        problems.append(f"{key}.apiCaBundle is for an https:// {key}.apiUrl; set that apiUrl, or "
                        f"remove the bundle (`pulumi config rm --path '{NAMESPACE}:{key}.apiCaBundle'`)")
        return None
    # Absolute: the check and the token issuer run as commands in the project directory.
    expanded = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(expanded):
        problems.append(f"{key}.apiCaBundle: no file at {path!r}; give the path of the PEM CA bundle "
                        "that signed the control plane API's certificate")
        return None
    return expanded


def parse_config(raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> FederationConfig:
    """Validate raw stack config (keys as in Pulumi.<stack>.yaml, without the namespace).
    `secret_keys`: the top-level keys that hold a Pulumi secret (`global`, `zones`)."""
    problems: list[str] = []
    warnings: list[str] = []
    top = _Reader(raw, "", problems)
    top.unknown_keys(TOP_LEVEL_KEYS)
    export_concurrency = top.integer("exportConcurrency", 32, minimum=1)
    export_deadline = top.integer("exportDeadlineSeconds", DEFAULT_EXPORT_DEADLINE_SECONDS,
                                  minimum=1)
    # Not set: the export's own retry policy, which rides out a 30 s control plane restart.
    status_retries, connect_retries = (
        top.integer(key, 10, minimum=0) if key in top.raw else None
        for key in ("exportStatusRetries", "exportConnectRetries"))
    role = top.string("role", "all") or "all"
    if role not in ROLES:
        problems.append(f"role: {role!r} is unknown; use all (one stack), global or zones (split stacks)")
        role = "all"
    global_stack = top.string("globalStack")
    if role == "zones" and not global_stack:
        problems.append(
            "globalStack is required with role zones: the global stack's name, e.g. "
            f"`pulumi config set {NAMESPACE}:globalStack <org>/mesh-federation/global-prod`")

    product_key = top.string("product", "kong-mesh") or "kong-mesh"
    product = PRODUCTS.get(product_key)
    if product is None:
        problems.append(f"product: {product_key!r} is unknown; use one of {', '.join(PRODUCTS)}")
        product = PRODUCTS["kong-mesh"]
    chart_version = top.string("chartVersion", product.default_chart_version) or ""
    _chart_version(chart_version, problems)
    profile = top.string("exportProfile", EXPORT_PROFILES[0]) or EXPORT_PROFILES[0]
    if profile not in EXPORT_PROFILES:
        problems.append(f"exportProfile: {profile!r} is unknown; use one of {', '.join(EXPORT_PROFILES)}")

    g = _Reader(raw.get("global"), "global", problems)
    g.unknown_keys({"kubeContext", "releaseName", "kdsAddress", "apiUrl", "apiToken",
                    "apiCaBundle", "readyTimeoutSeconds", "values"})
    kds_raw = g.string("kdsAddress")
    global_api_url = _url(g.string("apiUrl"), "global.apiUrl", problems)
    global_values = _chart_values(g.mapping("values"), "global.values", product, problems)
    _owned_values(global_values, "global.values", product, problems, is_global=True, federated=True)
    _chart_services(global_values, "global.values", product, problems, api_url=global_api_url,
                    is_global=True, secret="global" in secret_keys)
    global_cfg = GlobalConfig(
        kube_context=g.string("kubeContext", required=True) or "",
        release_name=g.string("releaseName", product.chart) or product.chart,
        kds_address=(parse_kds_address(kds_raw, "global.kdsAddress", problems,
                                       _zone_sync_port(global_values, product))
                     if kds_raw else None),
        api_url=global_api_url,
        api_token=g.credential("apiToken"),
        api_ca_bundle=_ca_bundle(g.string("apiCaBundle"), global_api_url, "global", problems),
        ready_timeout_seconds=g.integer("readyTimeoutSeconds", 600, minimum=30),
        values=global_values,
        values_secret="global" in secret_keys,
    )

    zones_raw = raw.get("zones")
    zones: list[ZoneConfig] = []
    if role == "global" and not zones_raw:
        zones_raw = []  # a global stack may hold no zone: zone stacks join it
    elif zones_raw is not None and not isinstance(zones_raw, list):
        got = "an object" if isinstance(zones_raw, Mapping) else type(zones_raw).__name__
        problems.append(
            f"zones: expected a list of zones, got {got}; "
            f"set them by index: `pulumi config set --path '{NAMESPACE}:zones[0].name' zone-1`")
        zones_raw = []
    elif not zones_raw:
        problems.append(
            "zones: at least one zone is required; set it with "
            f"`pulumi config set --path '{NAMESPACE}:zones[0].name' zone-1` and "
            f"`pulumi config set --path '{NAMESPACE}:zones[0].kubeContext' <context>`"
        )
        zones_raw = []
    seen: dict[str, int] = {}
    contexts: dict[str, int] = {}
    api_urls: dict[str, int] = {}
    all_names = {str(z.get("name")) for z in zones_raw if isinstance(z, Mapping)}
    for index, zone_raw in enumerate(zones_raw):
        z = _Reader(zone_raw, f"zones[{index}]", problems)
        z.unknown_keys({"name", "kubeContext", "releaseName", "apiUrl", "apiToken", "apiCaBundle",
                        "install", "federated", "values", "zoneToken"})
        name = z.string("name", required=True) or ""
        if name and (len(name) > 63 or not _DNS1123_LABEL.match(name)):
            problems.append(
                f"zones[{index}].name: {name!r} is not a DNS-1123 label (lower case letters, digits "
                "and '-', starting and ending with a letter or digit, at most 63 characters); "
                f"rename it, e.g. {_rename(name, all_names)!r}"
            )
        elif warning := zone_name_warning(name, f"zones[{index}].name"):
            warnings.append(warning)
        if name in seen:
            problems.append(
                f"zones[{index}].name: {name!r} is already the name of zones[{seen[name]}]; "
                "zone names must be unique"
            )
        seen.setdefault(name, index)
        context = z.string("kubeContext", required=True) or ""
        if context and context == global_cfg.kube_context:
            problems.append(
                f"zones[{index}].kubeContext: {context!r} is also global.kubeContext; the global "
                "control plane needs a cluster of its own: give the zone its own cluster's context"
            )
        if context and context in contexts:
            problems.append(
                f"zones[{index}].kubeContext: {context!r} is also zones[{contexts[context]}]'s: one "
                "control plane would be exported twice and upgraded by two `helm upgrade`s; give "
                "each zone its own cluster's context")
        contexts.setdefault(context, index)
        install = z.string("install", "brownfield") or "brownfield"
        if install not in INSTALL_MODES:
            problems.append(
                f"zones[{index}].install: {install!r} is unknown; use brownfield (adopt the "
                "running standalone control plane) or greenfield (install the zone fresh)"
            )
            install = "brownfield"
        zone_api_url = _url(z.string("apiUrl"), f"zones[{index}].apiUrl", problems)
        if zone_api_url and zone_api_url in api_urls:
            problems.append(
                f"zones[{index}].apiUrl: {redact_url(zone_api_url)!r} is also "
                f"zones[{api_urls[zone_api_url]}]'s: one control plane would be exported as two "
                "zones; give each zone the address of its own control plane")
        if zone_api_url:
            api_urls.setdefault(zone_api_url, index)
        zone_values = _chart_values(z.mapping("values"), f"zones[{index}].values", product, problems)
        federated = z.boolean("federated", True)
        _owned_values(zone_values, f"zones[{index}].values", product, problems, is_global=False,
                      federated=federated)
        _chart_services(zone_values, f"zones[{index}].values", product, problems,
                        api_url=zone_api_url, is_global=False, secret="zones" in secret_keys)
        zones.append(ZoneConfig(
            name=name,
            kube_context=context,
            release_name=z.string("releaseName", product.chart) or product.chart,
            api_url=zone_api_url,
            api_token=z.credential("apiToken"),
            api_ca_bundle=_ca_bundle(z.string("apiCaBundle"), zone_api_url, f"zones[{index}]", problems),
            install="greenfield" if install == "greenfield" else "brownfield",
            federated=federated,
            values=zone_values,
            values_secret="zones" in secret_keys,
            zone_token=z.credential("zoneToken"),
        ))

    c = _Reader(raw.get("check"), "check", problems)
    c.unknown_keys({"enabled", "timeoutSeconds", "intervalSeconds"})
    check = CheckConfig(
        enabled=c.boolean("enabled", True),
        timeout_seconds=c.integer("timeoutSeconds", 600, minimum=1),
        interval_seconds=c.number("intervalSeconds", 5.0, minimum=0.01),
    )

    # A zones stack gets the CA from the global stack: no address needed here for it.
    # A kdsAddress given but refused has its own message: not also "needs global.kdsAddress".
    kds_tls = _kds_tls(raw.get("kdsTls"), global_cfg if role != "zones" and not kds_raw else None,
                       problems)
    license_text = top.string("license")
    if license_text is not None and product.key != "kong-mesh":
        problems.append("license: only Kong Mesh takes a license; remove it for product kuma")

    zone_auth = _zone_auth(raw.get("zoneAuth"), product, zones, problems)
    issuing = [z for z in zones if z.federated and z.zone_token is None]
    if role == "zones" and zone_auth.enabled and issuing and not global_cfg.api_token:
        problems.append(
            "global.apiToken is required in a zones stack with zoneAuth.mode zoneToken: zone "
            "tokens are issued by the global, which accepts only the admin token of the zone whose "
            "signing keys it took (its first zone's admin-user-token). Set it with `pulumi config "
            f"set --secret --path '{NAMESPACE}:global.apiToken' <token>`, or give each zone its "
            f"token as zones[i].zoneToken")

    if problems:
        raise ConfigError(problems)
    return FederationConfig(
        product=product,
        chart_version=chart_version,
        chart_repository=top.string("chartRepository", product.repository) or product.repository,
        namespace=top.string("namespace", product.namespace) or product.namespace,
        export_profile=profile,
        global_=global_cfg,
        zones=tuple(zones),
        kubeconfig=top.string("kubeconfig"),
        role="global" if role == "global" else "zones" if role == "zones" else "all",
        global_stack=global_stack,
        kds_tls=kds_tls,
        license=license_text,
        export_concurrency=export_concurrency,
        export_deadline_seconds=export_deadline,
        export_status_retries=status_retries,
        export_connect_retries=connect_retries,
        check=check,
        zone_auth=zone_auth,
        warnings=tuple(warnings),
    )


def _zone_auth(raw: Any, product: Product, zones: list[ZoneConfig], problems: list[str]) -> ZoneAuthConfig:
    a = _Reader(raw, "zoneAuth", problems)
    a.unknown_keys({"mode", "validFor", "rotation"})
    # Kuma 2.x has no authentication between control planes: Kong Mesh only.
    default_mode = "zoneToken" if product.key == "kong-mesh" else "none"
    mode = a.string("mode", default_mode) or default_mode
    if mode not in ZONE_AUTH_MODES:
        problems.append(f"zoneAuth.mode: {mode!r} is unknown; use zoneToken or none")
        mode = default_mode
    if mode == "zoneToken" and product.key != "kong-mesh":
        problems.append(
            "zoneAuth.mode: zoneToken is Kong Mesh's multi-zone authentication; Kuma 2.x has none. "
            f"Set `pulumi config set --path '{NAMESPACE}:zoneAuth.mode' none` for product kuma")
        mode = "none"
    valid_for = a.string("validFor", "8760h") or "8760h"
    if not _DURATION.match(valid_for) or not any(ch in "123456789" for ch in valid_for):
        problems.append(
            f"zoneAuth.validFor: {valid_for!r} is not a positive duration like 8760h or 720h30m "
            "(hours, minutes, seconds)")
        valid_for = "8760h"
    for index, zone in enumerate(zones):
        if zone.zone_token is not None and mode != "zoneToken":
            problems.append(
                f"zones[{index}].zoneToken is set but zoneAuth.mode is {mode}: the global would not "
                f"ask for it. Remove the token, or set zoneAuth.mode zoneToken (Kong Mesh)")
    return ZoneAuthConfig(mode="zoneToken" if mode == "zoneToken" else "none", valid_for=valid_for,
                          rotation=a.string("rotation", "") or "")


def _kds_tls(raw: Any, global_cfg: GlobalConfig | None, problems: list[str]) -> KdsTlsConfig:
    t = _Reader(raw, "kdsTls", problems)
    t.unknown_keys({"mode", "caCert", "serverCert", "serverKey", "issuer", "issuerKind"})
    mode = t.string("mode", "generated") or "generated"
    if mode not in KDS_TLS_MODES:
        problems.append(f"kdsTls.mode: {mode!r} is unknown; use one of {', '.join(KDS_TLS_MODES)}")
        return KdsTlsConfig()
    issuer_kind = t.string("issuerKind", "ClusterIssuer") or "ClusterIssuer"
    if issuer_kind not in ISSUER_KINDS:
        problems.append(f"kdsTls.issuerKind: {issuer_kind!r} is unknown; use ClusterIssuer or Issuer")
    tls = KdsTlsConfig(
        mode=("generated" if mode == "generated" else "provided" if mode == "provided"
              else "certManager" if mode == "certManager" else "skipVerify"),
        ca_cert=t.string("caCert"), server_cert=t.string("serverCert"), server_key=t.string("serverKey"),
        issuer=t.string("issuer"), issuer_kind="Issuer" if issuer_kind == "Issuer" else "ClusterIssuer",
    )
    if tls.mode in ("generated", "certManager") and global_cfg is not None and global_cfg.kds_address is None:
        problems.append(
            f"kdsTls.mode {tls.mode} needs global.kdsAddress: the server certificate must name the "
            "address zones dial, known before the global starts. Set global.kdsAddress to a stable "
            "DNS name or reserved IP, or use kdsTls.mode provided (your own certificate), or "
            "skipVerify (dev only)"
        )
    if tls.mode == "certManager":
        if not tls.issuer:
            problems.append(
                "kdsTls.issuer is required with kdsTls.mode certManager: the cert-manager issuer on "
                f"the global's cluster, e.g. `pulumi config set --path '{NAMESPACE}:kdsTls.issuer' "
                "mesh-ca` (kdsTls.issuerKind: ClusterIssuer, the default, or Issuer)")
        if not tls.ca_cert:
            problems.append(
                "kdsTls.caCert is required with kdsTls.mode certManager: the CA certificate the "
                "issuer signs with, which zones verify the global against; set it with "
                f"`pulumi config set --path '{NAMESPACE}:kdsTls.caCert' -- \"$(cat ca.pem)\"`")
    if tls.mode == "provided":
        for key, value in (("caCert", tls.ca_cert), ("serverCert", tls.server_cert),
                           ("serverKey", tls.server_key)):
            if not value:
                problems.append(
                    f"kdsTls.{key} is required with kdsTls.mode provided; set it with "
                    f"`pulumi config set {'--secret ' if key == 'serverKey' else ''}--path "
                    f"'{NAMESPACE}:kdsTls.{key}' -- \"$(cat file.pem)\"`"
                )
    return tls


def namespace_keys() -> set[str]:
    """The top-level keys set in the `mesh-federation` namespace, as the Pulumi SDK holds them
    (pulumi.runtime.config: the config the language host set, else the PULUMI_CONFIG JSON)."""
    from pulumi.runtime import config as runtime_config

    names = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    prefix = f"{NAMESPACE}:"
    return {name[len(prefix):] for name in names if name.startswith(prefix)}


def load_config() -> FederationConfig:
    """Read the stack's `mesh-federation:*` config through the Pulumi SDK and validate it."""
    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    # Every key of the namespace, known or not, so that a typo (`kdsTLS`, `licence`) is refused
    # with the key it was meant to be, not silently left out.
    for key in sorted(set(TOP_LEVEL_KEYS - OBJECT_KEYS) | (namespace_keys() - OBJECT_KEYS)):
        value = config.get(key)
        if value is not None:
            raw[key] = value
    secret_keys: set[str] = set()
    for key in sorted(OBJECT_KEYS):
        # Objects holding a secret (`--secret --path 'zones[0].apiToken'`) are secret as a whole;
        # get_object returns them in the clear, and the program wraps every token it passes on
        # to a resource with Output.secret, and every Helm value of a secret `global` / `zones`
        # (Pulumi does not say which leaf is the secret one).
        value = config.get_object(key)
        if value is not None:
            raw[key] = value
            if pulumi.runtime.is_config_secret(f"{NAMESPACE}:{key}"):
                secret_keys.add(key)
    return parse_config(raw, frozenset(secret_keys))
