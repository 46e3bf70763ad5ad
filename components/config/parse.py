"""parse_config: raw stack config in, a validated FederationConfig out. Pure (no Pulumi), so that
every rule is testable; every problem is collected and reported at once, naming the key as the
user wrote it and the fix, before anything is registered."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.config.chart_values import (
    check_chart_services,
    refuse_owned_values,
    without_name_override,
)
from components.config.fields import (
    check_chart_version,
    free_zone_name,
    parse_ca_bundle,
    parse_kds_address,
    parse_url,
)
from components.config.messages import ConfigError, config_set
from components.config.reader import Reader
from components.config.renames import apply_renames, old_names
from components.config.schema import (
    ADVANCED_KEYS,
    API_KEYS,
    CHECK_KEYS,
    CURRENT_TOP_LEVEL_KEYS,
    DEFAULT_CHECK_INTERVAL_SECONDS,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_EXPORT_DEADLINE_SECONDS,
    DEFAULT_READY_TIMEOUT_SECONDS,
    EXPORT_PROFILES,
    GLOBAL_KEYS,
    INSTALL_MODES,
    ROLES,
    ZONE_KEYS,
    CheckConfig,
    FederationConfig,
    GlobalConfig,
    ZoneConfig,
)
from components.config.trust import parse_kds_tls, parse_zone_auth
from components.redaction import redact_url
from components.rules.chart_names import zone_sync_port
from components.rules.forward_compat import zone_name_warning
from components.rules.products import PRODUCTS, Product

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class _Api:
    url: str | None
    token: str | None
    ca_bundle: str | None


def _api(owner: Reader) -> tuple[_Api, Reader]:
    """The `api` object of the global or of a zone: the same keys, read the same way."""
    api = owner.child("api")
    api.unknown_keys(API_KEYS)
    url = parse_url(api.string("url"), api.where("url"), api.problems)
    bundle = parse_ca_bundle(api.string("caBundle"), url, api.where("caBundle"), api.where("url"),
                             api.problems)
    return _Api(url=url, token=api.credential("token"), ca_bundle=bundle), api


def parse_config(raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> FederationConfig:
    """Validate raw stack config (keys as in Pulumi.<stack>.yaml, without the namespace).
    `secret_keys`: the top-level keys that hold a Pulumi secret (`global`, `zones`)."""
    renamed = apply_renames(raw)
    problems, warnings, origins = renamed.problems, renamed.warnings, renamed.origins
    raw = renamed.raw
    top = Reader(raw, "", problems, origins)
    top.unknown_keys(CURRENT_TOP_LEVEL_KEYS, old_names(""))
    ready_timeout = top.integer("readyTimeoutSeconds", DEFAULT_READY_TIMEOUT_SECONDS, minimum=30)
    export_deadline = top.integer("exportDeadlineSeconds", DEFAULT_EXPORT_DEADLINE_SECONDS,
                                  minimum=1)
    advanced = top.child("advanced")
    advanced.unknown_keys(ADVANCED_KEYS)
    export_concurrency = advanced.integer("exportConcurrency", DEFAULT_EXPORT_CONCURRENCY, minimum=1)
    # Not set: the export's own retry policy, which rides out a 30 s control plane restart.
    status_retries, connect_retries = (
        advanced.integer(key, 10, minimum=0) if key in advanced.raw else None
        for key in ("exportStatusRetries", "exportConnectRetries"))
    role = top.string("role", "all") or "all"
    if role not in ROLES:
        problems.append(f"role: {role!r} is unknown; use all (one stack), global or zones (split stacks)")
        role = "all"
    global_stack = top.string("globalStack")
    if role == "zones" and not global_stack:
        problems.append(
            "globalStack is required with role zones: the global stack's name, e.g. "
            f"{config_set('globalStack', '<org>/mesh-federation/global-prod')}")

    product_key = top.string("product", "kong-mesh") or "kong-mesh"
    product = PRODUCTS.get(product_key)
    if product is None:
        problems.append(f"product: {product_key!r} is unknown; use one of {', '.join(PRODUCTS)}")
        product = PRODUCTS["kong-mesh"]
    chart_version = top.string("chartVersion", product.default_chart_version) or ""
    check_chart_version(chart_version, problems)
    profile = top.string("exportProfile", EXPORT_PROFILES[0]) or EXPORT_PROFILES[0]
    if profile not in EXPORT_PROFILES:
        problems.append(f"exportProfile: {profile!r} is unknown; use one of {', '.join(EXPORT_PROFILES)}")

    global_cfg, kds_given = _global(top.child("global"), product, ready_timeout,
                                    secret="global" in secret_keys)
    zones = _zones(raw.get("zones"), top, role, product, global_cfg, warnings,
                   secret="zones" in secret_keys)

    c = top.child("check")
    c.unknown_keys(CHECK_KEYS, old_names("check"))
    check = CheckConfig(
        enabled=c.boolean("enabled", True),
        timeout_seconds=c.integer("timeoutSeconds", 600, minimum=1),
        interval_seconds=advanced.number("checkIntervalSeconds", DEFAULT_CHECK_INTERVAL_SECONDS,
                                         minimum=0.01),
    )

    # A zones stack gets the CA from the global stack: no address needed here for it.
    # A kdsAddress given but refused has its own message: not also "needs global.kdsAddress".
    kds_tls = parse_kds_tls(raw.get("kdsTls"),
                            global_cfg if role != "zones" and not kds_given else None, problems)
    license_text = top.string("license")
    if license_text is not None and product.key != "kong-mesh":
        problems.append("license: only Kong Mesh takes a license; remove it for product kuma")

    zone_auth = parse_zone_auth(raw.get("zoneAuth"), product, zones, problems)
    issuing = [z for z in zones if z.federated and z.zone_token is None]
    if role == "zones" and zone_auth.enabled and issuing and not global_cfg.api_token:
        problems.append(
            "global.api.token is required in a zones stack with zoneAuth.mode zoneToken: zone "
            "tokens are issued by the global, which accepts only the admin token of the zone whose "
            "signing keys it took (its first zone's admin-user-token). Set it with "
            f"{config_set('global.api.token', '<token>', secret=True)}, or give each zone its "
            "token as zones[i].zoneToken")

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


def _global(g: Reader, product: Product, ready_timeout: int, *,
            secret: bool) -> tuple[GlobalConfig, bool]:
    """The `global` object, and whether a kdsAddress was given (valid or not)."""
    g.unknown_keys(GLOBAL_KEYS, old_names("global"))
    kds_raw = g.string("kdsAddress")
    api, _ = _api(g)
    values = without_name_override(g.mapping("values"), "global.values", product, g.problems)
    refuse_owned_values(values, "global.values", product, g.problems, is_global=True, federated=True)
    check_chart_services(values, "global.values", product, g.problems, api_url=api.url,
                         is_global=True, secret=secret)
    return GlobalConfig(
        kube_context=g.string("kubeContext", required=True) or "",
        release_name=g.string("releaseName", product.chart) or product.chart,
        kds_address=(parse_kds_address(kds_raw, "global.kdsAddress", g.problems,
                                       zone_sync_port(product, values))
                     if kds_raw else None),
        api_url=api.url,
        api_token=api.token,
        api_ca_bundle=api.ca_bundle,
        ready_timeout_seconds=ready_timeout,
        values=values,
        values_secret=secret,
    ), bool(kds_raw)


def _zones(zones_raw: Any, top: Reader, role: str, product: Product, global_cfg: GlobalConfig,
           warnings: list[str], *, secret: bool) -> list[ZoneConfig]:
    problems = top.problems
    zones: list[ZoneConfig] = []
    if role == "global" and not zones_raw:
        zones_raw = []  # a global stack may hold no zone: zone stacks join it
    elif zones_raw is not None and not isinstance(zones_raw, list):
        got = "an object" if isinstance(zones_raw, Mapping) else type(zones_raw).__name__
        problems.append(
            f"zones: expected a list of zones, got {got}; "
            f"set them by index: {config_set('zones[0].name', 'zone-1')}")
        zones_raw = []
    elif not zones_raw:
        problems.append(
            "zones: at least one zone is required; set it with "
            f"{config_set('zones[0].name', 'zone-1')} and "
            f"{config_set('zones[0].kubeContext', '<context>')}"
        )
        zones_raw = []
    seen: dict[str, int] = {}
    contexts: dict[str, int] = {}
    api_urls: dict[str, int] = {}
    all_names = {str(z.get("name")) for z in zones_raw if isinstance(z, Mapping)}
    for index, zone_raw in enumerate(zones_raw):
        z = Reader(zone_raw, f"zones[{index}]", problems, top.origins)
        z.unknown_keys(ZONE_KEYS, old_names("zones[]"))
        name = z.string("name", required=True) or ""
        if name and (len(name) > 63 or not _DNS1123_LABEL.match(name)):
            problems.append(
                f"zones[{index}].name: {name!r} is not a DNS-1123 label (lower case letters, digits "
                "and '-', starting and ending with a letter or digit, at most 63 characters); "
                f"rename it, e.g. {free_zone_name(name, all_names)!r}"
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
        api, api_reader = _api(z)
        if api.url and api.url in api_urls:
            problems.append(
                f"{api_reader.where('url')}: {redact_url(api.url)!r} is also "
                f"zones[{api_urls[api.url]}]'s: one control plane would be exported as two "
                "zones; give each zone the address of its own control plane")
        if api.url:
            api_urls.setdefault(api.url, index)
        values = without_name_override(z.mapping("values"), f"zones[{index}].values", product,
                                       problems)
        federated = z.boolean("federated", True)
        refuse_owned_values(values, f"zones[{index}].values", product, problems, is_global=False,
                            federated=federated)
        check_chart_services(values, f"zones[{index}].values", product, problems,
                             api_url=api.url, is_global=False, secret=secret)
        zones.append(ZoneConfig(
            name=name,
            kube_context=context,
            release_name=z.string("releaseName", product.chart) or product.chart,
            api_url=api.url,
            api_token=api.token,
            api_ca_bundle=api.ca_bundle,
            install="greenfield" if install == "greenfield" else "brownfield",
            federated=federated,
            values=values,
            values_secret=secret,
            zone_token=z.credential("zoneToken"),
        ))
    return zones

