"""The whole federation as one program: config in, components wired, outputs out.

Order of work: every zone is exported first (plain HTTP at program time, so a preview lists
every object that will be copied, and an export failure stops the program before anything is
registered); then the global release, the exported objects on the global provider, each zone
release after the global release and every object it needs, and a check per zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kube, log
from components.chart_names import control_plane_service
from components.chart_source import ChartSource
from components.config import NAMESPACE, FederationConfig, ZoneConfig
from components.export import ExportOptions, ExportResult, counts_by_kind, export_zone
from components.export.cli import stopping_at_once
from components.export.kube_api import KubeApiClient
from components.exported import ExportedMeshResources, ExportedMeshResourcesArgs
from components.federation_check import FederationCheck, FederationCheckArgs, expected_policies
from components.forward_compat import mesh_name_warnings
from components.global_cp import GlobalControlPlane, GlobalControlPlaneArgs
from components.global_identity import same_global
from components.helm_values import KDS_AUTH_KONG_MESH_2X, ZoneTokenMount
from components.kds_tls import kds_certificates
from components.kuma_api import ApiTarget, KumaApiClient
from components.merge import merge_exports
from components.preflight import preflight
from components.products import API_PORT, version_tuple
from components.signing_keys import is_token_signing_key, keep_one_zones_signing_keys
from components.zone_auth import ZONE_TOKEN_KEY, ZONE_TOKEN_SECRET, ZoneToken, ZoneTokenArgs
from components.zone_cp import ZoneControlPlane, ZoneControlPlaneArgs

Exporter = Callable[[FederationConfig, ZoneConfig, int], ExportResult]


def _port_forward_hint(cfg: FederationConfig, context: str, values: Mapping[str, Any]) -> str:
    service = control_plane_service(cfg.product, values)
    return (f"kubectl --context {context} port-forward -n {cfg.namespace} "
            f"svc/{service} {API_PORT}:{API_PORT}")


def zone_api_target(cfg: FederationConfig, zone: ZoneConfig, index: int) -> ApiTarget:
    """The zone API as the export reaches it: apiUrl with a token, or the kube service proxy."""
    if zone.api_url:
        token = zone.api_token
        token_source = f"mesh-federation:zones[{index}].apiToken"
        if token is None:
            token = kube.read_admin_token(context=zone.kube_context, namespace=cfg.namespace,
                                          kubeconfig=cfg.kubeconfig)
            token_source = f"Secret {cfg.namespace}/{kube.ADMIN_TOKEN_SECRET} in {zone.kube_context!r}"
        return ApiTarget(
            base_url=zone.api_url, token=token, token_source=token_source,
            verify=zone.api_ca_bundle or True,
            address_hint=(f"start `{_port_forward_hint(cfg, zone.kube_context, zone.values)}` or fix "
                          f"mesh-federation:zones[{index}].apiUrl"),
        )
    return kube.service_proxy_target(
        context=zone.kube_context, namespace=cfg.namespace,
        service=control_plane_service(cfg.product, zone.values), port=API_PORT,
        kubeconfig=cfg.kubeconfig,
    )


def export_from_zone(cfg: FederationConfig, zone: ZoneConfig, index: int) -> ExportResult:
    """Without apiUrl (the default), the objects are listed in the zone's Kubernetes API, one
    LIST per kind, and the zone API is reached through the API server's service proxy for what
    only it knows (version, config, resource types, the Mesh list); with apiUrl, everything comes
    from the zone API, one GET per object, as kumactl reads it."""
    options = ExportOptions(profile=cfg.export_profile, target_namespace=cfg.namespace,
                            concurrency=cfg.export_concurrency)
    # One deadline for the whole export: retries never add up to an unbounded wait.
    target = replace(zone_api_target(cfg, zone, index), deadline_seconds=cfg.export_deadline_seconds,
                     deadline_setting=f"{NAMESPACE}:exportDeadlineSeconds",
                     status_retries=cfg.export_status_retries,
                     connect_retries=cfg.export_connect_retries)
    # A token read from the zone's Secret or kubeconfig: masked in every line the program logs.
    log.mask_also([target.token, *target.headers.values()])

    def progress(line: str) -> None:
        log.info(f"{zone.name}: {line}")
    with KumaApiClient(target, pool_size=cfg.export_concurrency) as client:
        if zone.api_url:
            return export_zone(client, options, progress=progress)
        with KubeApiClient(kube.kube_target(zone.kube_context, cfg.kubeconfig),
                           pool_size=cfg.export_concurrency) as kube_api:
            return export_zone(client, options, progress=progress, kube_api=kube_api)


def _api_spec(cfg: FederationConfig, *, url: str | None, token: str | None, context: str,
              ca_bundle: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """How the check reaches a control plane API (see components.check.spec); `values` are the
    release's, which may rename its Service (controlPlane.service.name)."""
    if url:
        return {"url": url, "token": token, "ca_bundle": ca_bundle}
    return {"kube_proxy": {"context": context, "namespace": cfg.namespace,
                           "service": control_plane_service(cfg.product, values), "port": API_PORT,
                           "kubeconfig": cfg.kubeconfig}}


@dataclass
class GlobalEndpoint:
    """What zones need of the global: its KDS URL and CA, and the release to wait for (None
    when a separate global stack owns it)."""

    kds_url: pulumi.Output[str]
    kds_ca_cert: pulumi.Output[str] | None
    release: pulumi.Resource | None
    control_plane: GlobalControlPlane | None


@dataclass
class Federation:
    global_: GlobalEndpoint
    exported: ExportedMeshResources | None
    zones: dict[str, ZoneControlPlane]
    zone_tokens: dict[str, ZoneToken]
    checks: dict[str, FederationCheck]
    exports: dict[str, ExportResult]
    documents: dict[str, tuple[Mapping[str, Any], ...]]


def cluster_provider(name: str, context: str, kubeconfig: str | None) -> k8s.Provider:
    """One cluster, named by an explicit context. Objects that already exist are updated, as the
    guide's `kubectl apply` does, not refused: the global creates its own token signing keys at
    start, which the copied ones replace, and a zone's token Secret is retained by a destroy and
    found again by the next `pulumi up`. pulumi-kubernetes 4.25 (the pinned provider) creates
    with a server-side apply patch, which adopts an existing object (provider/pkg/await/await.go);
    from 4.29 on the same needs the provider option upsertExistingObjects."""
    return k8s.Provider(name, context=context, kubeconfig=kubeconfig)


def exports_needed(cfg: FederationConfig) -> list[tuple[int, ZoneConfig]]:
    """Brownfield zones that federate have resources to copy; a greenfield zone has none. A
    global stack copies nothing (its zones stacks do), so it exports no zone, listed or not."""
    if cfg.role == "global":
        return []
    return [(i, z) for i, z in enumerate(cfg.zones) if z.install == "brownfield" and z.federated]


# Zones are exported side by side: each export waits on its own zone's round trips (often over a
# port-forward or a service proxy), so a fleet takes about as long as its slowest zone.
ZONE_EXPORT_WORKERS = 8
EXPORT_INTERRUPTED = "the zone export stopped; nothing was registered"


def export_all(cfg: FederationConfig, exporter: Exporter) -> list[tuple[int, ZoneConfig, ExportResult]]:
    """Every zone's export, in config order; the first failure (in config order) is raised.
    Ctrl-C during `pulumi up` (SIGINT from the language host) or SIGTERM ends the program at
    once, in one line, as it does the export command (stopping_at_once): nothing is registered
    before every export is done, and no read in flight is waited for."""
    needed = exports_needed(cfg)
    if len(needed) <= 1:
        with stopping_at_once(EXPORT_INTERRUPTED):
            return [(index, zone, exporter(cfg, zone, index)) for index, zone in needed]
    # Stopped inside the pool: leaving the pool would wait for every zone's reads in flight.
    with (ThreadPoolExecutor(max_workers=min(ZONE_EXPORT_WORKERS, len(needed)),
                             thread_name_prefix="zone-export") as pool,
          stopping_at_once(EXPORT_INTERRUPTED)):
        futures = [(index, zone, pool.submit(exporter, cfg, zone, index)) for index, zone in needed]
        return [(index, zone, future.result()) for index, zone, future in futures]


def build(cfg: FederationConfig, exporter: Exporter = export_from_zone) -> Federation:
    log.mask_only(log.config_credentials(cfg))
    exports: dict[str, ExportResult] = {}
    documents: dict[str, tuple[Mapping[str, Any], ...]] = {}
    federated_to: dict[str, tuple[int, str]] = {}
    for index, zone, result in export_all(cfg, exporter):
        checked = preflight(cfg, index, zone, result.control_plane, result.documents)
        for warning in (*result.warnings, *checked.warnings, *mesh_name_warnings(checked.documents)):
            log.warn(f"{zone.name}: {warning}")
        exports[zone.name], documents[zone.name] = result, checked.documents
        if checked.federated_to:
            federated_to[zone.name] = (index, checked.federated_to)
    key_zone = signing_key_zone(cfg, documents)
    documents, key_warnings = keep_one_zones_signing_keys(documents, key_zone)
    for warning in key_warnings:
        log.warn(warning)
    shared = merge_exports(documents)
    _warn_about_defaults(cfg)

    source = ChartSource(cfg.product, cfg.chart_repository, cfg.chart_version)
    global_provider = cluster_provider("global", cfg.global_.kube_context, cfg.kubeconfig)
    global_ = _global_endpoint(cfg, source, global_provider)
    if cfg.role == "global":
        return Federation(global_, None, {}, {}, {}, exports, documents)

    zone_providers = {
        zone.name: cluster_provider(f"zone-{zone.name}", zone.kube_context, cfg.kubeconfig)
        for zone in cfg.zones
    }
    # A zones stack reads the global's address from the global stack, checking that both agree
    # on zoneAuth and that the global's chart is not older than the zones': until that holds, no
    # object is copied and no token issued (the zone releases wait for it through their KDS
    # address).
    gate = global_.kds_url if cfg.role == "zones" else None
    # A zone found federated without global.kdsAddress to compare with: its global must be this
    # one, checked on the real address before the zone, its token or its objects are touched.
    zone_kds_urls = {name: same_global(f"zones[{index}]", name, address, global_.kds_url)
                     for name, (index, address) in federated_to.items()}
    copies_gate = (pulumi.Output.all(*([gate] if gate is not None else []), *zone_kds_urls.values())
                   if zone_kds_urls else gate)
    exported = ExportedMeshResources("exported", ExportedMeshResourcesArgs(
        objects=shared, provider=global_provider, global_release=global_.release, gate=copies_gate,
    ))
    # Tokens are issued once the signing keys copied from a zone are in place: issued earlier,
    # they would be signed with a key the copy then replaces.
    issuer_waits = [*([global_.release] if global_.release else []), *exported.signing_keys()]
    zone_tokens = {zone.name: _zone_token(cfg, index, zone, zone_providers[zone.name], issuer_waits,
                                          key_zone, zone_kds_urls.get(zone.name, gate))
                   for index, zone in enumerate(cfg.zones) if cfg.zone_auth.enabled and zone.federated}

    zones: dict[str, ZoneControlPlane] = {}
    checks: dict[str, FederationCheck] = {}
    token_path_env = KDS_AUTH_KONG_MESH_2X.zone_token_path_env
    for zone in cfg.zones:
        provider = zone_providers[zone.name]
        waits_for = [global_.release] if global_.release else []
        token = zone_tokens.get(zone.name)
        if token is not None:
            waits_for.append(token.secret)
        zone_cp = ZoneControlPlane(f"zone-{zone.name}", ZoneControlPlaneArgs(
            zone_name=zone.name, source=source, release_name=zone.release_name,
            namespace=cfg.namespace, kube_context=zone.kube_context, provider=provider,
            kds_url=zone_kds_urls.get(zone.name, global_.kds_url) if zone.federated else None,
            kds_ca_cert=global_.kds_ca_cert,
            depends_on=[*waits_for, *exported.for_zone(zone.name)],
            install=zone.install, kubeconfig=cfg.kubeconfig,
            ready_timeout_seconds=cfg.global_.ready_timeout_seconds, extra_values=zone.values,
            values_secret=zone.values_secret,
            zone_token=ZoneTokenMount(path_env=token_path_env, secret=ZONE_TOKEN_SECRET,
                                      key=ZONE_TOKEN_KEY, generation=token.generation) if token else None,
        ))
        zones[zone.name] = zone_cp
        if cfg.check.enabled and zone.federated:
            checks[zone.name] = FederationCheck(f"check-{zone.name}", FederationCheckArgs(
                zone_name=zone.name,
                global_api=_api_spec(cfg, url=cfg.global_.api_url, token=cfg.global_.api_token,
                                     context=cfg.global_.kube_context,
                                     ca_bundle=cfg.global_.api_ca_bundle, values=cfg.global_.values),
                zone_api=_api_spec(cfg, url=zone.api_url, token=zone.api_token, context=zone.kube_context,
                                   ca_bundle=zone.api_ca_bundle, values=zone.values),
                policies=expected_policies(documents.get(zone.name, ())),
                timeout_seconds=cfg.check.timeout_seconds,
                interval_seconds=cfg.check.interval_seconds,
                zone_release=zone_cp.release,
                zone_values=zone_cp.values,
            ))
    return Federation(global_, exported, zones, zone_tokens, checks, exports, documents)


def signing_key_zone(cfg: FederationConfig,
                     documents: Mapping[str, Sequence[Mapping[str, Any]]]) -> str | None:
    """The zone whose token signing keys the global takes: the first zone, in config order, that
    exported any (never in a zones stack). See signing_keys.py."""
    if cfg.role == "zones":
        return None
    return next((zone for zone, docs in documents.items() if any(map(is_token_signing_key, docs))),
                None)


def _issuer_credential(cfg: FederationConfig, key_zone: str | None) -> dict[str, Any]:
    """The admin token the global accepts once the copied keys are in place: global.apiToken;
    else the admin token of the zone whose user-token signing key it now holds; else its own."""
    if cfg.global_.api_token:
        return {"token": cfg.global_.api_token, "token_source": "mesh-federation:global.apiToken"}
    for index, zone in enumerate(cfg.zones):
        if zone.name == key_zone:
            if zone.api_token:
                return {"token": zone.api_token, "token_source": f"mesh-federation:zones[{index}].apiToken"}
            return {"token": None, "token_context": zone.kube_context}
    return {"token": None, "token_context": cfg.global_.kube_context}


def _zone_token(cfg: FederationConfig, index: int, zone: ZoneConfig, provider: k8s.Provider,
                waits_for: Sequence[pulumi.Resource], key_zone: str | None,
                gate: pulumi.Output[Any] | None) -> ZoneToken:
    """The zone's token, issued by the global (over global.apiUrl or a kubectl port-forward)."""
    issuer = None if zone.zone_token is not None else {
        "zone": zone.name, "zone_index": index, "valid_for": cfg.zone_auth.valid_for,
        "context": cfg.global_.kube_context, "namespace": cfg.namespace,
        "service": control_plane_service(cfg.product, cfg.global_.values), "port": API_PORT,
        "kubeconfig": cfg.kubeconfig, "url": cfg.global_.api_url,
        **({"ca_bundle": cfg.global_.api_ca_bundle} if cfg.global_.api_ca_bundle else {}),
        **_issuer_credential(cfg, key_zone),
    }
    return ZoneToken(f"zone-token-{zone.name}", ZoneTokenArgs(
        zone_name=zone.name, namespace=cfg.namespace, provider=provider,
        valid_for=cfg.zone_auth.valid_for, issuer=issuer, given_token=zone.zone_token,
        depends_on=waits_for, create_namespace=zone.install == "greenfield",
        rotation=cfg.zone_auth.rotation, gate=gate,
    ))


def _global_endpoint(cfg: FederationConfig, source: ChartSource, provider: k8s.Provider) -> GlobalEndpoint:
    if cfg.role == "zones":
        # A separate stack owns the global: read its address and CA from its outputs.
        assert cfg.global_stack is not None  # validated in config
        reference = pulumi.StackReference(cfg.global_stack)
        kds_url = pulumi.Output.all(
            reference.require_output("kdsUrl"), reference.get_output("zoneAuth"),
            reference.get_output("chartVersion"),
        ).apply(lambda read: _agreeing_with_global(cfg, str(read[0]), read[1], read[2]))
        ca = None if cfg.kds_tls.skip_verify else reference.require_output("kdsCaCert").apply(str)
        return GlobalEndpoint(kds_url, ca, None, None)
    control_plane = GlobalControlPlane("global", GlobalControlPlaneArgs(
        source=source, release_name=cfg.global_.release_name, namespace=cfg.namespace,
        provider=provider, ready_timeout_seconds=cfg.global_.ready_timeout_seconds,
        kds_address=cfg.global_.kds_address,
        kds_certificates=kds_certificates(cfg.kds_tls, cfg.global_.kds_address),
        license=cfg.license, extra_values=cfg.global_.values, values_secret=cfg.global_.values_secret,
        kds_auth=KDS_AUTH_KONG_MESH_2X if cfg.zone_auth.enabled else None,
    ))
    return GlobalEndpoint(control_plane.kds_url, control_plane.kds_ca_cert, control_plane.release,
                          control_plane)


def _agreeing_with_global(cfg: FederationConfig, kds_url: str, global_mode: Any,
                          global_chart: Any) -> str:
    """A zones stack must authenticate the way its global expects, or its zones are refused (or
    hold tokens nobody asks for), and must not run a newer chart than the global (Kuma supports
    a global of the zones' version or newer; preflight already holds each running zone to this
    stack's chartVersion): stop before switching any zone. A global stack that exports neither
    (an older version of this program) is taken at its word."""
    if global_mode is not None and global_mode != cfg.zone_auth.mode:
        raise ValueError(
            f"zoneAuth.mode is {cfg.zone_auth.mode} here, but the global stack {cfg.global_stack} "
            f"runs with zoneAuth.mode {global_mode}: set `pulumi config set --path "
            f"'mesh-federation:zoneAuth.mode' {global_mode}` in this stack")
    ours, theirs = version_tuple(cfg.chart_version), version_tuple(str(global_chart or ""))
    if ours and theirs and ours > theirs:
        raise ValueError(
            f"chartVersion is {cfg.chart_version} here, newer than the {global_chart} the global "
            f"stack {cfg.global_stack} runs: a global must run its zones' version or a newer one. "
            f"Upgrade the global stack first (its mesh-federation:chartVersion), or set `pulumi "
            f"config set mesh-federation:chartVersion {global_chart}` in this stack")
    return kds_url


def _warn_about_defaults(cfg: FederationConfig) -> None:
    for warning in cfg.warnings:
        log.warn(warning)
    if cfg.kds_tls.skip_verify:
        log.warn("kdsTls.mode is skipVerify: zones do not verify the global's KDS "
                 "certificate (controlPlane.tls.kdsZoneClient.skipVerify=true), as the guide "
                 "does; fine for a dev stack, not for production")
    if cfg.product.key == "kong-mesh" and not cfg.license and cfg.role != "zones":
        log.warn("no mesh-federation:license set: Kong Mesh runs on its bundled license "
                 "(5 data plane proxies for 30 days); set one with `pulumi config set "
                 "--secret mesh-federation:license -- \"$(cat license.json)\"`")


def outputs(cfg: FederationConfig, federation: Federation) -> Mapping[str, Any]:
    api_url = cfg.global_.api_url or f"http://localhost:{API_PORT}"
    zones_out: dict[str, Any] = {}
    for zone in cfg.zones:
        copied = federation.documents.get(zone.name)
        check = federation.checks.get(zone.name)
        zones_out[zone.name] = {
            "name": zone.name,
            "install": zone.install,
            "federated": zone.federated,
            "exported": counts_by_kind(copied) if copied is not None else {},
            "check": check.result if check else "not run",
        }
    out: dict[str, Any] = {
        "globalApiUrl": api_url,
        "globalGuiUrl": f"{api_url}/gui",
        # kdsUrl, kdsCaCert, chartVersion and zoneAuth are what a zones stack reads (role zones).
        "kdsUrl": federation.global_.kds_url,
        "chartVersion": cfg.chart_version,
        "zoneAuth": cfg.zone_auth.mode,
        "zones": zones_out,
    }
    if federation.global_.kds_ca_cert is not None:
        out["kdsCaCert"] = federation.global_.kds_ca_cert
    if not cfg.global_.api_url:
        hint = _port_forward_hint(cfg, cfg.global_.kube_context, cfg.global_.values)
        # A Service name read from a secret `global` config key stays one.
        renamed = (control_plane_service(cfg.product, cfg.global_.values)
                   != cfg.product.control_plane_service)
        out["globalApiPortForward"] = (pulumi.Output.secret(hint)
                                       if renamed and cfg.global_.values_secret else hint)
    return out
