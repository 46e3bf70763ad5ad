"""The federation as Kong's guide runs it, one step after another: wiring only.

1. the global control plane (or, in a zones stack, the global another stack owns);
2. its KDS sync address, which every zone is given;
3. every zone exported (at program time, components.zone_exports) and its objects copied to the
   global, after the global release;
4. each zone's release switched to zone mode, after the global release and every object it needs
   (with a zone token first where zoneAuth asks for one);
5. a check per zone that the federation works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import log
from components.clients.cluster_access import api_server
from components.clients.transport import InsecureTransportWarning
from components.config import ConfigError, FederationConfig, ZoneConfig
from components.export import ExportResult
from components.resources.dependencies import one_dependency_input
from components.resources.exported_resources import ExportedMeshResources, ExportedMeshResourcesArgs
from components.resources.federation_check import (
    FederationCheck,
    FederationCheckArgs,
    expected_policies,
)
from components.resources.global_control_plane import GlobalControlPlane, GlobalControlPlaneArgs
from components.resources.kds_certificates import kds_certificates
from components.resources.zone_control_plane import ZoneControlPlane, ZoneControlPlaneArgs
from components.resources.zone_token import (
    ZONE_TOKEN_KEY,
    ZONE_TOKEN_SECRET,
    ZoneToken,
    ZoneTokenArgs,
)
from components.rules.advice import config_advice
from components.rules.api_specs import check_api_spec, issuer_spec
from components.rules.chart_source import ChartSource
from components.rules.global_identity import same_global
from components.rules.helm_values import KDS_AUTH_KONG_MESH_2X, ZoneTokenMount
from components.rules.shared_clusters import NamedCluster, shared_clusters
from components.rules.split_stacks import kds_url_agreed_with_global
from components.rules.switch_summary import switch_summary
from components.rules.values_view import known_or
from components.warning_hook import say_warnings_of
from components.zone_exports import Exporter, ZoneExports, export_from_zone, export_zones

# What a preview says of a KDS address read only once the global exists (its zone-sync
# LoadBalancer, with no global.kdsAddress set).
UNKNOWN_KDS_URL = "the global's KDS address (known once the global release exists)"


@dataclass
class GlobalEndpoint:
    """What zones need of the global: its KDS URL and CA, and the release to wait for (None
    when a separate global stack owns it)."""

    kds_url: pulumi.Output[str]
    kds_ca_cert: pulumi.Output[str] | None
    release: pulumi.Resource | None
    # The global release's values, secrets masked (None: another stack owns it).
    shown_values: Mapping[str, Any] | None = None


@dataclass
class Federation:
    global_: GlobalEndpoint
    exported: ExportedMeshResources | None
    zones: dict[str, ZoneControlPlane]
    zone_tokens: dict[str, ZoneToken]
    checks: dict[str, FederationCheck]
    exports: dict[str, ExportResult]
    documents: dict[str, tuple[Mapping[str, Any], ...]]


def build(cfg: FederationConfig, exporter: Exporter = export_from_zone) -> Federation:
    log.mask_only(log.config_credentials(cfg))
    # A zone reached without TLS verification is said in the program's log, once per server.
    say_warnings_of(InsecureTransportWarning, log.warn)
    refuse_shared_clusters(cfg)
    # Step 3 starts first: every zone is exported before anything is registered.
    exported_zones = export_zones(cfg, exporter)
    for warning in (*exported_zones.warnings, *config_advice(cfg)):
        log.warn(warning)

    # Steps 1 and 2: the global control plane and its KDS address.
    source = ChartSource(cfg.product, cfg.chart_repository, cfg.chart_version)
    global_provider = cluster_provider("global", cfg.global_.kube_context, cfg.kubeconfig)
    global_ = _global_endpoint(cfg, source, global_provider)
    if cfg.role == "global":
        return Federation(global_, None, {}, {}, {}, exported_zones.exports, exported_zones.documents)

    # In a zones stack, nothing of a zone is touched until the global stack agrees (its KDS
    # address resolves only then). A zone found federated without global.kdsAddress to compare
    # with must be federated to this global: checked on the real address first.
    gate = global_.kds_url if cfg.role == "zones" else None
    zone_kds_urls = {name: same_global(f"zones[{index}]", name, address, global_.kds_url)
                     for name, (index, address) in exported_zones.federated_to.items()}
    copies_gate = (pulumi.Output.all(*([gate] if gate is not None else []), *zone_kds_urls.values())
                   if zone_kds_urls else gate)

    # Step 3, second half: the zones' objects copied to the global.
    # Every copy after the global release: it brings the CRDs and the webhook they go through.
    exported = ExportedMeshResources(
        "exported", ExportedMeshResourcesArgs(objects=exported_zones.shared),
        opts=pulumi.ResourceOptions(provider=global_provider, depends_on=one_dependency_input(
            [global_.release] if global_.release else [], gate=copies_gate)))

    # Step 4: each zone switched to zone mode, with its zone token first where one is needed.
    zone_providers = {
        zone.name: cluster_provider(f"zone-{zone.name}", zone.kube_context, cfg.kubeconfig)
        for zone in cfg.zones
    }
    # Tokens are issued once the signing keys copied from a zone are in place: issued earlier,
    # they would be signed with a key the copy then replaces.
    issuer_waits = [*([global_.release] if global_.release else []), *exported.signing_keys()]
    zone_tokens = {zone.name: _zone_token(cfg, index, zone, zone_providers[zone.name], issuer_waits,
                                          exported_zones, zone_kds_urls.get(zone.name, gate))
                   for index, zone in enumerate(cfg.zones) if cfg.zone_auth.enabled and zone.federated}
    zones = {zone.name: _zone_control_plane(cfg, zone, source, zone_providers[zone.name], global_,
                                            exported, zone_tokens.get(zone.name),
                                            zone_kds_urls.get(zone.name))
             for zone in cfg.zones}
    for zone in cfg.zones:
        _say_what_the_switch_changes(zone, zones[zone.name], exported_zones)

    # Step 5: the check, per federated zone.
    checks = {zone.name: _federation_check(cfg, zone, zones[zone.name], exported_zones)
              for zone in cfg.zones if cfg.check.enabled and zone.federated}
    return Federation(global_, exported, zones, zone_tokens, checks, exported_zones.exports,
                      exported_zones.documents)


def refuse_shared_clusters(cfg: FederationConfig) -> None:
    """Stop, before anything is exported or registered, when two kube contexts of the config
    reach one cluster (components/rules/shared_clusters.py). A context not in the kubeconfig is
    left to the step that uses it, as before; in a zones stack the global's context may be
    absent, and the zones are then compared among themselves."""
    named = [NamedCluster("global.kubeContext", cfg.global_.kube_context,
                          api_server(cfg.global_.kube_context, cfg.kubeconfig)),
             *(NamedCluster(f"zones[{index}].kubeContext", zone.kube_context,
                            api_server(zone.kube_context, cfg.kubeconfig))
               for index, zone in enumerate(cfg.zones))]
    problems = shared_clusters(named)
    if problems:
        raise ConfigError(problems)


def cluster_provider(name: str, context: str, kubeconfig: str | None) -> k8s.Provider:
    """One cluster, named by an explicit context. Objects that already exist are updated, as the
    guide's `kubectl apply` does, not refused: the global creates its own token signing keys at
    start, which the copied ones replace, and a zone's token Secret is retained by a destroy and
    found again by the next `pulumi up`. pulumi-kubernetes 4.25 (the pinned provider) creates
    with a server-side apply patch, which adopts an existing object (provider/pkg/await/await.go);
    from 4.29 on the same needs the provider option upsertExistingObjects."""
    return k8s.Provider(name, context=context, kubeconfig=kubeconfig)


def _global_endpoint(cfg: FederationConfig, source: ChartSource, provider: k8s.Provider) -> GlobalEndpoint:
    if cfg.role == "zones":
        # A separate stack owns the global: read its address and CA from its outputs.
        assert cfg.global_stack is not None  # validated in config
        reference = pulumi.StackReference(cfg.global_stack)
        kds_url = pulumi.Output.all(
            reference.require_output("kdsUrl"), reference.get_output("zoneAuth"),
            reference.get_output("chartVersion"),
        ).apply(lambda read: kds_url_agreed_with_global(cfg, str(read[0]), read[1], read[2]))
        ca = None if cfg.kds_tls.skip_verify else reference.require_output("kdsCaCert").apply(str)
        return GlobalEndpoint(kds_url, ca, None)
    control_plane = GlobalControlPlane("global", GlobalControlPlaneArgs(
        source=source, release_name=cfg.global_.release_name, namespace=cfg.namespace,
        ready_timeout_seconds=cfg.global_.ready_timeout_seconds,
        kds_address=cfg.global_.kds_address,
        kds_certificates=kds_certificates(cfg.kds_tls, cfg.global_.kds_address),
        license=cfg.license, extra_values=cfg.global_.values, values_secret=cfg.global_.values_secret,
        extra_values_shown=cfg.global_.values_shown, redactor=log.redactor(),
        kds_auth=KDS_AUTH_KONG_MESH_2X if cfg.zone_auth.enabled else None,
    ), opts=pulumi.ResourceOptions(provider=provider))
    return GlobalEndpoint(control_plane.kds_url, control_plane.kds_ca_cert, control_plane.release,
                          control_plane.shown_values)


def _zone_token(cfg: FederationConfig, index: int, zone: ZoneConfig, provider: k8s.Provider,
                issue_after: Sequence[pulumi.Resource], exported_zones: ZoneExports,
                gate: pulumi.Output[Any] | None) -> ZoneToken:
    """The zone's token: given in config, or issued by the global."""
    issuer = (None if zone.zone_token is not None
              else issuer_spec(cfg, index, zone, exported_zones.key_zone))
    return ZoneToken(f"zone-token-{zone.name}", ZoneTokenArgs(
        zone_name=zone.name, namespace=cfg.namespace,
        valid_for=cfg.zone_auth.valid_for, issuer=issuer, given_token=zone.zone_token,
        issue_after=issue_after, create_namespace=zone.install == "greenfield",
        rotation=cfg.zone_auth.rotation,
    ), opts=pulumi.ResourceOptions(provider=provider, depends_on=one_dependency_input([], gate=gate)))


def _zone_control_plane(cfg: FederationConfig, zone: ZoneConfig, source: ChartSource,
                        provider: k8s.Provider, global_: GlobalEndpoint,
                        exported: ExportedMeshResources, token: ZoneToken | None,
                        federated_kds_url: pulumi.Output[str] | None) -> ZoneControlPlane:
    """The zone's release in zone mode (or back to standalone when it no longer federates)."""
    waits_for = [global_.release] if global_.release else []
    if token is not None:
        waits_for.append(token.secret)
    return ZoneControlPlane(f"zone-{zone.name}", ZoneControlPlaneArgs(
        zone_name=zone.name, source=source, release_name=zone.release_name,
        namespace=cfg.namespace, kube_context=zone.kube_context,
        kds_url=(federated_kds_url or global_.kds_url) if zone.federated else None,
        kds_ca_cert=global_.kds_ca_cert,
        install=zone.install, kubeconfig=cfg.kubeconfig,
        ready_timeout_seconds=cfg.global_.ready_timeout_seconds, extra_values=zone.values,
        values_secret=zone.values_secret, extra_values_shown=zone.values_shown,
        redactor=log.redactor(),
        zone_token=ZoneTokenMount(path_env=KDS_AUTH_KONG_MESH_2X.zone_token_path_env,
                                  secret=ZONE_TOKEN_SECRET, key=ZONE_TOKEN_KEY,
                                  generation=token.generation) if token else None,
    ), opts=pulumi.ResourceOptions(provider=provider, depends_on=one_dependency_input(
        [*waits_for, *exported.for_zone(zone.name)])))


def _say_what_the_switch_changes(zone: ZoneConfig, zone_cp: ZoneControlPlane,
                                 exported_zones: ZoneExports) -> None:
    """One line per zone, under its switch, in every preview and update: what it runs with now
    (its /config, as its export read it) beside what the switch sets (rules/switch_summary.py)."""
    exported = exported_zones.exports.get(zone.name)
    not_read = ("a greenfield zone is installed new" if zone.install == "greenfield"
                else "the way back does not export the zone")
    if zone_cp.kds_url is None:
        log.info(switch_summary(zone.name, exported.control_plane if exported else None,
                                kds_url=None, not_read=not_read), zone_cp.switch)
        return
    known_or(zone_cp.kds_url, UNKNOWN_KDS_URL).apply(lambda url: log.info(switch_summary(
        zone.name, exported.control_plane if exported else None, kds_url=url, not_read=not_read),
        zone_cp.switch))


def _federation_check(cfg: FederationConfig, zone: ZoneConfig, zone_cp: ZoneControlPlane,
                      exported_zones: ZoneExports) -> FederationCheck:
    return FederationCheck(f"check-{zone.name}", FederationCheckArgs(
        zone_name=zone.name,
        global_api=check_api_spec(cfg, url=cfg.global_.api_url, token=cfg.global_.api_token,
                                  context=cfg.global_.kube_context,
                                  ca_bundle=cfg.global_.api_ca_bundle, values=cfg.global_.values),
        zone_api=check_api_spec(cfg, url=zone.api_url, token=zone.api_token, context=zone.kube_context,
                                ca_bundle=zone.api_ca_bundle, values=zone.values),
        policies=expected_policies(exported_zones.documents.get(zone.name, ())),
        timeout_seconds=cfg.check.timeout_seconds,
        interval_seconds=cfg.check.interval_seconds,
        zone_switch_urn=zone_cp.switch.urn,
        zone_values=zone_cp.values,
    ), opts=pulumi.ResourceOptions(depends_on=[zone_cp.switch]))
