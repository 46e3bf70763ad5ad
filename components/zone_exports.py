"""Step 3, first half: every zone exported while the program runs, and what the global takes.

The export runs at program time (plain HTTP, no resource), so that `pulumi preview` lists every
object that will be copied before anything changes, and an export failure stops the program
before anything is registered. Each zone's documents then pass preflight, keep or lose their
token signing keys (rules.signing_keys), and are merged into the one set the global receives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from components import log
from components.clients import cluster_access
from components.clients.kube_api import KubeApiClient
from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.clients.transport import Budget
from components.config import NAMESPACE, FederationConfig, ZoneConfig
from components.export import ExportOptions, ExportResult, export_zone
from components.interrupt import stopping_at_once
from components.rules.api_specs import port_forward_hint
from components.rules.chart_names import control_plane_service
from components.rules.forward_compat import mesh_name_warnings
from components.rules.merge import SharedObject, merge_exports
from components.rules.preflight import preflight
from components.rules.products import API_PORT
from components.rules.signing_keys import choose_signing_keys

Exporter = Callable[[FederationConfig, ZoneConfig, int], ExportResult]

# Zones are exported side by side: each export waits on its own zone's round trips (often over a
# port-forward or a service proxy), so a fleet takes about as long as its slowest zone.
ZONE_EXPORT_WORKERS = 8
EXPORT_INTERRUPTED = "the zone export stopped; nothing was registered"


@dataclass(frozen=True)
class ZoneExports:
    """What the exports give the rest of the program.

    :param exports: each exported zone's result, by zone name.
    :param documents: each zone's documents as the global takes them (after preflight, with
        signing keys only in the key zone's).
    :param shared: the documents of every zone merged: one object per name, with its zones.
    :param federated_to: zones found already federated: their config index and global address.
    :param key_zone: the zone whose token signing keys the global takes, if any.
    :param warnings: what the user should read, each prefixed with its zone.
    """

    exports: dict[str, ExportResult]
    documents: dict[str, tuple[Mapping[str, Any], ...]]
    shared: list[SharedObject]
    federated_to: dict[str, tuple[int, str]]
    key_zone: str | None
    warnings: list[str]


def export_limits(cfg: FederationConfig) -> ApiTarget:
    """How long and how often a zone's export may ask (no server: `ApiTarget.limited_as` gives
    these to each target the export uses)."""
    return ApiTarget("", deadline_seconds=cfg.export_deadline_seconds,
                     deadline_setting=f"{NAMESPACE}:exportDeadlineSeconds",
                     status_retries=cfg.export_status_retries,
                     connect_retries=cfg.export_connect_retries)


def zone_api_target(cfg: FederationConfig, zone: ZoneConfig, index: int, *,
                    budget: Budget | None = None) -> ApiTarget:
    """The zone API as the export reaches it: api.url with a token (read, when not set, from the
    zone's Secret within `budget`), or the kube service proxy; with the export's limits."""
    limits = export_limits(cfg)
    if zone.api_url:
        token = zone.api_token
        token_source = f"mesh-federation:zones[{index}].api.token"
        if token is None:
            token = cluster_access.read_admin_token(context=zone.kube_context, namespace=cfg.namespace,
                                                    kubeconfig=cfg.kubeconfig, limits=limits,
                                                    budget=budget)
            token_source = (f"Secret {cfg.namespace}/{cluster_access.ADMIN_TOKEN_SECRET} "
                            f"in {zone.kube_context!r}")
        return ApiTarget(
            base_url=zone.api_url, token=token, token_source=token_source,
            verify=zone.api_ca_bundle or True,
            address_hint=(f"start `{port_forward_hint(cfg, zone.kube_context, zone.values)}` or fix "
                          f"mesh-federation:zones[{index}].api.url"),
        ).limited_as(limits)
    return cluster_access.service_proxy_target(
        context=zone.kube_context, namespace=cfg.namespace,
        service=control_plane_service(cfg.product, zone.values), port=API_PORT,
        kubeconfig=cfg.kubeconfig,
    ).limited_as(limits)


def export_from_zone(cfg: FederationConfig, zone: ZoneConfig, index: int) -> ExportResult:
    """Without api.url (the default), the objects are listed in the zone's Kubernetes API, one
    LIST per kind, and the zone API is reached through the API server's service proxy for what
    only it knows (version, config, resource types, the Mesh list); with api.url, everything comes
    from the zone API, one GET per object, as kumactl reads it."""
    options = ExportOptions(profile=cfg.export_profile, target_namespace=cfg.namespace,
                            concurrency=cfg.export_concurrency)
    # One deadline for the whole export, every request of either API (the admin token's read
    # too): retries never add up to an unbounded wait.
    budget = Budget.of(export_limits(cfg))
    target = zone_api_target(cfg, zone, index, budget=budget)
    # The zone's Kubernetes API, read by default, keeps the same timeouts, retries and deadline.
    kube_target = (None if zone.api_url else
                   cluster_access.kube_target(zone.kube_context, cfg.kubeconfig).limited_as(target))
    # A token read from the zone's Secret or kubeconfig: masked in every line the program logs.
    log.mask_also([target.token, *target.headers.values()])

    def progress(line: str) -> None:
        log.info(f"{zone.name}: {line}")
    with KumaApiClient(target, pool_size=cfg.export_concurrency, budget=budget) as client:
        if kube_target is None:
            return export_zone(client, options, progress=progress)
        with KubeApiClient(kube_target, pool_size=cfg.export_concurrency, budget=budget) as kube_api:
            return export_zone(client, options, progress=progress, kube_api=kube_api)


def exports_needed(cfg: FederationConfig) -> list[tuple[int, ZoneConfig]]:
    """Brownfield zones that federate have resources to copy; a greenfield zone has none. A
    global stack copies nothing (its zones stacks do), so it exports no zone, listed or not."""
    if cfg.role == "global":
        return []
    return [(i, z) for i, z in enumerate(cfg.zones) if z.install == "brownfield" and z.federated]


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
        return [(index, zone, _result_waking_for_signals(future)) for index, zone, future in futures]


# How often the main thread wakes while it waits for the zones' exports.
SIGNAL_CHECK_SECONDS = 0.2


def _result_waking_for_signals(future: Future[ExportResult]) -> ExportResult:
    """The export's result, waited for in short timed waits: a Python signal handler runs only
    when the main thread returns to the interpreter, and an untimed wait on the future's lock
    was seen to sleep through a SIGINT (tests/test_program_interrupt.py, 1 run in 6 with two
    zones), so Ctrl-C during `pulumi up` would have waited for the zones' reads."""
    while not future.done():
        wait([future], timeout=SIGNAL_CHECK_SECONDS)
    return future.result()


def export_zones(cfg: FederationConfig, exporter: Exporter = export_from_zone) -> ZoneExports:
    """Every zone exported, checked by preflight, and merged into what the global takes."""
    exports: dict[str, ExportResult] = {}
    documents: dict[str, tuple[Mapping[str, Any], ...]] = {}
    federated_to: dict[str, tuple[int, str]] = {}
    warnings: list[str] = []
    for index, zone, result in export_all(cfg, exporter):
        checked = preflight(cfg, index, zone, result.control_plane, result.documents)
        warnings += [f"{zone.name}: {warning}" for warning in
                     (*result.warnings, *checked.warnings, *mesh_name_warnings(checked.documents))]
        exports[zone.name], documents[zone.name] = result, checked.documents
        if checked.federated_to:
            federated_to[zone.name] = (index, checked.federated_to)
    keys = choose_signing_keys(documents, zones_stack=cfg.role == "zones")
    return ZoneExports(exports=exports, documents=keys.documents,
                       shared=merge_exports(keys.documents), federated_to=federated_to,
                       key_zone=keys.key_zone, warnings=[*warnings, *keys.warnings])
