"""`kumactl export --format=kubernetes` over the control plane HTTP API.

Lists and item reads run on a bounded thread pool; item reads are queued as
soon as their list page arrives, so the wall time approaches
max(longest chain of dependent round trips, requests / concurrency).
Results are placed by (type, mesh, position) keys, never by completion
order, so the output is identical whatever the timing. Any failure cancels
what is queued and raises: nothing partial is returned.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from components.clients import kuma_names
from components.clients.errors import BadAnswer, NotFound
from components.clients.kube_api import KubeApiClient, KubeKind
from components.clients.kuma_api import KumaApiClient
from components.clients.paging import MAX_PAGE_SIZE
from components.clients.resource_types import ResourceType, parse_resource_types
from components.export import kube_objects, kube_order, listing, profiles
from components.export.discovery import parse_info
from components.export.documents import check_manifest
from components.export.model import (
    FEDERATION_PROFILES,
    ControlPlaneInfo,
    ExportError,
    ExportOptions,
    ExportResult,
)
from components.interrupt import interrupt_received
from components.redaction import redact_url
from components.rules import kuma_mesh, signing_keys

Progress = Callable[[str], None]
Item = Mapping[str, Any]

# kumactl's federation rules (Mesh rewrite, namespace filter, ...) exist since 2.11.
_RULES_SINCE = (2, 11)


def _validate(options: ExportOptions) -> None:
    profiles.check_profile(options.profile)
    if options.concurrency < 1:
        raise ExportError(f"concurrency must be at least 1, not {options.concurrency}")
    if not 1 <= options.page_size <= MAX_PAGE_SIZE:
        raise ExportError(
            f"page size {options.page_size} is out of range: Kuma accepts 1..{MAX_PAGE_SIZE}"
        )
    if options.kube_page_size < 1:
        raise ExportError(f"kube page size must be at least 1, not {options.kube_page_size}")


def _version_tuple(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _seg(name: str) -> str:
    return quote(name, safe="")


def _item_name(item: Any, where: str) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ExportError(f"listing {where}: an item has no name: {item!r}"[:300])
    return name


def _setter(target: dict[Any, Any], key: Any) -> Callable[[Any], None]:
    def store(value: Any) -> None:
        target[key] = value

    return store


@dataclass
class _ListSlot:
    """One (type, mesh) list and the item reads it spawned."""

    rtype: ResourceType
    mesh: str | None
    names: list[str] = field(default_factory=list)
    objects: dict[int, dict[str, Any]] = field(default_factory=dict)


class _Run:
    def __init__(
        self,
        client: KumaApiClient,
        options: ExportOptions,
        pool: ThreadPoolExecutor,
        progress: Progress | None,
        kube_api: KubeApiClient | None = None,
    ) -> None:
        self.client = client
        # With it, objects come from the zone's Kubernetes API, one LIST per kind (kube_api.py).
        self.kube_api = kube_api
        self.kinds: dict[str, KubeKind] = {}
        self.options = options
        self.pool = pool
        self.progress = progress or (lambda _message: None)
        self.warnings: list[str] = []
        self.from_global: list[str] = []
        self.pending: dict[Future[Any], Callable[[Any], None]] = {}
        # Finished futures arrive here (done-callbacks), so draining is O(1)
        # per request instead of a wait() over every pending future.
        self.finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self.items_total = 0
        self.items_done = 0
        self.k8s_params: dict[str, str | int] = {"format": "k8s"}

    # -- scheduling ------------------------------------------------------

    def submit(self, on_done: Callable[[Any], None], fn: Callable[..., Any], *args: Any) -> None:
        future = self.pool.submit(fn, *args)
        self.pending[future] = on_done
        future.add_done_callback(self.finished.put)

    def drain(self) -> None:
        """Run callbacks as futures finish (main thread only) until none is left."""
        while self.pending:
            try:
                # Timed: a signal handler (Ctrl-C, components/interrupt.py stopping_at_once)
                # runs only when the main thread returns to the interpreter, which an untimed
                # wait on the queue's lock may not do until a read in flight ends.
                future = self.finished.get(timeout=0.2)
            except queue.Empty:
                continue
            on_done = self.pending.pop(future)
            on_done(future.result())  # re-raises the worker's exception

    # -- phases ----------------------------------------------------------

    def run(self) -> ExportResult:
        answers: dict[str, Any] = {}
        for path in ("/", "/config", "/_resources"):
            self.submit(_setter(answers, path), self.get, path)
        # The Mesh list needs nothing else: it rides in the first round trip.
        self.submit(_setter(answers, "meshes"), listing.list_all, self.client, "meshes",
                    self.options.page_size)
        if self.kube_api is not None:
            self.submit(self._set_kinds, self.kube_api.kuma_kinds)
        self.drain()
        info = parse_info(answers["/"], answers["/config"])
        try:
            available = parse_resource_types(answers["/_resources"],
                                             url=self.client.url_for("/_resources"))
        except BadAnswer as error:
            raise ExportError(str(error)) from None
        lacking = [t for t in (profiles.MESH, profiles.SECRET) if t not in {a.name for a in available}]
        if lacking:
            raise ExportError(
                f"GET /_resources of {self.client.url_for('/')} does not list {' or '.join(lacking)}, "
                "which every Kuma control plane serves: is the address a Kuma control plane API?")
        self.progress(
            f"{info.product} {info.version}, {info.mode} control plane on {info.environment}"
            + (f", zone {info.zone_name}" if info.zone_name else "")
        )
        self._note_version(info)
        selected, unknown = profiles.select_types(
            available, self.options.profile, self.options.include_admin
        )
        if unknown:
            self.warnings.append(
                "The following types won't be exported because they are unknown to this "
                f"exporter: {','.join(unknown)}. Is the exporter older than the control plane?"
            )
        # As kumactl: only objects in the zone's own system namespace are exported (the global
        # admits namespaced policies there alone). A global with another system namespace gets
        # them moved there here, after that filter. Asking the API for `namespace=<target>` would
        # not do: Kuma's Kubernetes mapper sets it on every object, workload namespaces included,
        # which would then pass the filter as mesh-wide policies and collide by name.
        zone_ns = info.system_namespace
        target_ns = self.options.target_namespace or zone_ns
        self.zone_namespace = zone_ns
        self.rename = (zone_ns, target_ns) if target_ns != zone_ns else None
        excluded: set[str] = set()
        if self.options.profile in FEDERATION_PROFILES:
            excluded.add(kuma_names.ORIGIN_LABEL)
        if self.options.strip_zone_label:
            excluded.add(kuma_names.ZONE_LABEL)
        self.excluded = frozenset(excluded)

        meshes: list[Item] = answers["meshes"]
        mesh_names = [_item_name(m, "meshes") for m in meshes]
        self.progress(f"{len(mesh_names)} meshes; listing {len(selected)} resource types")
        return self._export(info, available, selected, meshes, mesh_names)

    def _set_kinds(self, kinds: dict[str, KubeKind]) -> None:
        self.kinds = kinds

    def _note_version(self, info: ControlPlaneInfo) -> None:
        version = _version_tuple(info.version)
        if version is not None and (0, 0) < version < _RULES_SINCE:
            self.warnings.append(
                f"{info.product} {info.version} is older than 2.11; exporting with kumactl "
                "2.11+ rules (Mesh CA kept as provided, namespaced objects filtered)"
            )

    def _export(
        self,
        info: ControlPlaneInfo,
        available: Sequence[ResourceType],
        selected: Sequence[ResourceType],
        meshes: Sequence[Item],
        mesh_names: Sequence[str],
    ) -> ExportResult:
        use_source = self.options.secret_source is not None
        mesh_objects: dict[int, dict[str, Any]] = {}
        slots: list[_ListSlot] = []
        sourced: dict[str, list[Mapping[str, Any]]] = {}
        dataplanes: dict[str, int] = {}
        exports_dataplanes = any(t.name == profiles.DATAPLANE for t in selected)

        def on_listed(slot: _ListSlot) -> Callable[[Any], None]:
            return lambda items: self._listed(slot, items, dataplanes, exports_dataplanes)

        if self.kube_api is not None:
            self._list_from_kube(selected, mesh_names, mesh_objects, slots, sourced, dataplanes,
                                 exports_dataplanes)
        elif any(t.name == profiles.MESH for t in selected):
            for index, name in enumerate(mesh_names):
                self.items_total += 1
                path = f"meshes/{_seg(name)}"
                self.submit(self._keep(mesh_objects, index, profiles.MESH, name, path),
                            self.get_item, path, self.k8s_params, profiles.MESH, name)

        for rtype in selected if self.kube_api is None else ():
            if rtype.name == profiles.MESH:
                continue
            if self.options.secret_source is not None and rtype.name in profiles.ADMIN_ONLY:
                self.submit(_setter(sourced, rtype.name), self.options.secret_source, rtype.name)
                continue
            for mesh in mesh_names if rtype.mesh_scoped else [None]:
                slot = _ListSlot(rtype, mesh)
                slots.append(slot)
                self.submit(
                    on_listed(slot),
                    listing.list_all,
                    self.client,
                    rtype.list_path(mesh),
                    self.options.page_size,
                )

        dp_type = next((t for t in available if t.name == profiles.DATAPLANE), None)
        if dp_type is not None and not exports_dataplanes:
            for mesh in mesh_names:
                self.submit(
                    _setter(dataplanes, mesh),
                    listing.count,
                    self.client,
                    dp_type.list_path(mesh),
                )
        self.drain()
        self.progress(f"read {self.items_done} objects")

        documents = self._assemble(
            selected, meshes, mesh_names, mesh_objects, slots, sourced, use_source
        )
        ordered_dataplanes = {m: dataplanes.get(m, 0) for m in mesh_names}
        return ExportResult(
            documents=tuple(documents),
            control_plane=info,
            warnings=tuple(self.warnings),
            dataplanes=ordered_dataplanes if dp_type is not None else {},
            requests=0,  # filled in by export_zone
            from_global=tuple(self.from_global),
        )

    # -- the Kubernetes API path ----------------------------------------------

    def _kind(self, rtype: ResourceType) -> KubeKind:
        kind = self.kinds.get(rtype.name)
        if kind is None:
            raise ExportError(
                f"the zone's /_resources lists {rtype.name}, but its Kubernetes API serves no "
                f"kuma.io/v1alpha1 kind {rtype.name}: are the CRDs of the zone's chart version "
                "installed? Set the zone's api.url to export through the zone API instead")
        return kind

    def _list_from_kube(
        self,
        selected: Sequence[ResourceType],
        mesh_names: Sequence[str],
        mesh_objects: dict[int, dict[str, Any]],
        slots: list[_ListSlot],
        sourced: dict[str, list[Mapping[str, Any]]],
        dataplanes: dict[str, int],
        counting: bool,
    ) -> None:
        """One LIST (page after page) per selected kind, all side by side; then each object in
        the slot where the zone API would have listed it."""
        assert self.kube_api is not None
        api = self.kube_api
        limit = self.options.kube_page_size
        listed: dict[str, list[dict[str, Any]]] = {}
        for rtype in selected:
            if rtype.name in profiles.ADMIN_ONLY:
                if self.options.secret_source is not None:
                    self.submit(_setter(sourced, rtype.name), self.options.secret_source,
                                rtype.name)
                else:
                    self.submit(_setter(listed, rtype.name), api.list_secrets,
                                self.zone_namespace, kuma_names.SECRET_TYPES[rtype.name], limit)
                continue
            self.submit(_setter(listed, rtype.name), api.list_kind, self._kind(rtype), limit)
        self.drain()
        for rtype in selected:
            if rtype.name not in listed:
                continue
            objects = listed.pop(rtype.name)
            if rtype.name == profiles.MESH:
                by_name = {kube_order.kuma_name(o, rtype.name): o for o in objects}
                for index, name in enumerate(mesh_names):
                    if name not in by_name:
                        raise ExportError(
                            f"Mesh {name} is listed by the zone API but not by its Kubernetes "
                            "API: it changed while it was read; retry")
                    mesh_objects[index] = by_name[name]
                continue
            in_order: list[tuple[str | None, list[Mapping[str, Any]]]]
            if rtype.mesh_scoped:
                grouped = kube_order.by_mesh(objects, rtype.name, mesh_names)
                in_order = [(mesh, grouped[mesh]) for mesh in mesh_names]
            else:
                in_order = [(None, kube_order.global_order(objects, rtype.name))]
            for mesh, members in in_order:
                slot = _ListSlot(rtype, mesh)
                slots.append(slot)
                for obj in members:
                    name = str(obj["metadata"]["name"])
                    if rtype.name == profiles.GLOBAL_SECRET and name in kube_objects.NEVER_EXPORTED:
                        continue
                    slot.names.append(name)
                    slot.objects[len(slot.objects)] = dict(obj)
                self.items_done += len(slot.objects)
                if counting and rtype.name == profiles.DATAPLANE and mesh is not None:
                    dataplanes[mesh] = len(slot.names)

    # -- callbacks (main thread) ------------------------------------------

    def _listed(
        self, slot: _ListSlot, items: list[Any], dataplanes: dict[str, int], counting: bool
    ) -> None:
        where = slot.rtype.list_path(slot.mesh)
        names: list[str] = []
        seen: set[str] = set()
        for item in items:
            name = _item_name(item, where)
            # A page boundary can shift while we read: never export twice.
            if name in seen:
                continue
            seen.add(name)
            if slot.rtype.name == profiles.GLOBAL_SECRET and name in kube_objects.NEVER_EXPORTED:
                continue
            names.append(name)
        slot.names = names
        if counting and slot.rtype.name == profiles.DATAPLANE and slot.mesh is not None:
            dataplanes[slot.mesh] = len(names)
        for index, name in enumerate(names):
            self.items_total += 1
            path = f"{where}/{_seg(name)}"
            self.submit(
                self._keep(slot.objects, index, slot.rtype.name, name, path, slot.mesh),
                self.get_item,
                path,
                self.k8s_params,
                slot.rtype.name,
                name,
            )

    def _keep(self, into: dict[int, dict[str, Any]], index: int, type_name: str, name: str,
              path: str, mesh: str | None = None) -> Callable[[Any], None]:
        return lambda obj: self._item_done(into, index, obj, type_name, name, path, mesh)

    def _item_done(self, into: dict[int, dict[str, Any]], index: int, obj: Any, type_name: str,
                   name: str, path: str, mesh: str | None) -> None:
        where = f"GET {self.client.url_for(path)}?format=k8s"
        into[index] = check_manifest(obj, type_name=type_name, name=name, where=where, mesh=mesh)
        self.items_done += 1
        step = max(1, self.items_total // 10)
        if self.items_done % step == 0:
            self.progress(f"read {self.items_done}/{self.items_total} objects")

    # -- helpers ----------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return self.client.get_json(path, params)

    def get_item(self, path: str, params: Mapping[str, str | int], type_name: str, name: str) -> Any:
        """One listed object; gone since it was listed (404) is said as such."""
        try:
            return self.client.get_json(path, params)
        except NotFound as error:
            raise ExportError(
                f"{type_name} {name!r} was listed a moment ago but is gone now (HTTP 404 on "
                f"{redact_url(error.url)}): it was deleted while the export ran. Re-run the export") from None

    def _finalize(
        self, obj: Mapping[str, Any], mesh_universal: Item | None = None
    ) -> dict[str, Any] | None:
        out = kube_objects.finalize(
            obj,
            profile=self.options.profile,
            allowed_namespaces=(self.zone_namespace,),
            excluded_keys=self.excluded,
            rename_namespace=self.rename,
            mesh_universal=mesh_universal,
        )
        return out

    # -- assembly -----------------------------------------------------------

    def _assemble(
        self,
        selected: Sequence[ResourceType],
        meshes: Sequence[Item],
        mesh_names: Sequence[str],
        mesh_objects: Mapping[int, dict[str, Any]],
        slots: Sequence[_ListSlot],
        sourced: Mapping[str, list[Mapping[str, Any]]],
        use_source: bool,
    ) -> list[dict[str, Any]]:
        documents: list[dict[str, Any]] = []
        last: list[dict[str, Any]] = []
        left_out: list[str] = []   # outside the zone's system namespace, as kumactl leaves them
        needed_secrets: list[str] = []
        for index in sorted(mesh_objects):
            spec_needs = kube_objects.mesh_spec(meshes[index])[1]
            doc = self._finalize(mesh_objects[index], mesh_universal=meshes[index])
            if doc is not None:
                documents.append(doc)
                needed_secrets += spec_needs

        by_type: dict[str, list[_ListSlot]] = {}
        for slot in slots:
            by_type.setdefault(slot.rtype.name, []).append(slot)
        for rtype in selected:
            if rtype.name == profiles.MESH:
                continue
            raw: list[Mapping[str, Any]]
            if use_source and rtype.name in profiles.ADMIN_ONLY:
                raw = self._order_sourced(rtype.name, sourced.get(rtype.name, []), mesh_names)
            else:
                raw = [
                    slot.objects[i] for slot in by_type.get(rtype.name, []) for i in sorted(slot.objects)
                ]
            for obj in raw:
                if kube_objects.pushed_down_by_global(obj):
                    # The global's own object, synced here under a hashed name: copied back, it
                    # would be a new object on the global, pushed down again under another hash.
                    name = str((obj.get("metadata") or {}).get("name", ""))
                    where = kube_objects.namespace_of(obj)
                    self.from_global.append(f"{rtype.name} {where}/{name}" if where
                                            else f"{rtype.name} {name}")
                    continue
                doc = self._finalize(obj)
                if doc is None:
                    name = str((obj.get("metadata") or {}).get("name", ""))
                    left_out.append(f"{rtype.name} {kube_objects.namespace_of(obj)}/{name}")
                    continue
                name = str(doc.get("metadata", {}).get("name", ""))
                if rtype.name == profiles.GLOBAL_SECRET and signing_keys.applied_last(name):
                    # Applied last: once the global has the zone's signing key,
                    # tokens issued by the global itself stop working.
                    last.append(doc)
                else:
                    documents.append(doc)
        documents += last
        if left_out:
            shown = ", ".join(left_out[:10]) + (f" and {len(left_out) - 10} more"
                                                if len(left_out) > 10 else "")
            self.warnings.append(
                f"{len(left_out)} objects outside the zone's system namespace "
                f"{self.zone_namespace} are not exported, as kumactl leaves them out (a global "
                f"admits namespaced policies only in its own system namespace): {shown}. To "
                "federate one, recreate it in the system namespace, or on the global once federated")
        if self.from_global:
            shown = ", ".join(self.from_global[:10]) + (
                f" and {len(self.from_global) - 10} more" if len(self.from_global) > 10 else "")
            self.warnings.append(
                f"{len(self.from_global)} objects the global synced into this zone (kuma.io/origin: "
                "global, renamed from their kuma.io/display-name) are not exported: they are the "
                f"global's already: {shown}")
        if any(t.name == profiles.SECRET for t in selected):
            exported = {
                str(d.get("metadata", {}).get("name"))
                for d in documents
                if d.get("kind") == "Secret"
            }
            missing = [s for s in needed_secrets if s not in exported]
            if missing:
                self.warnings.append(
                    "The exported Meshes reference CA secrets that were not exported (the global "
                    f"will reject those Meshes): {', '.join(missing)}"
                )
        return documents

    def _order_sourced(
        self, kind: str, docs: Sequence[Mapping[str, Any]], mesh_names: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        """Secrets from secret_source in the order the API would list them."""
        mesh_rank = {name: i for i, name in enumerate(mesh_names)}
        keyed: list[tuple[int, str, str, Mapping[str, Any]]] = []
        for doc in docs:
            meta = check_manifest(doc, type_name=kind, name=None,
                                  where=f"the kube API's list of {kind}s")["metadata"]
            name: str = meta["name"]
            if kind == profiles.GLOBAL_SECRET and name in kube_objects.NEVER_EXPORTED:
                continue
            mesh = kuma_mesh.secret_listed_in(doc) or ""
            if kind == profiles.SECRET:
                rank = mesh_rank.get(mesh, len(mesh_rank))
                keyed.append((rank, mesh, name, doc))
            else:
                keyed.append((0, "", name, doc))
        keyed.sort(key=lambda entry: entry[:3])
        return [entry[3] for entry in keyed]


def export_zone(
    client: KumaApiClient,
    options: ExportOptions,
    *,
    progress: Progress | None = None,
    kube_api: KubeApiClient | None = None,
) -> ExportResult:
    """Export the zone behind client as Kubernetes manifests, in kumactl's order.

    With `kube_api` (the zone's Kubernetes API server), the objects are listed there, one LIST
    per kind, and the zone API (`client`, e.g. through the API server's service proxy) is asked
    only what the control plane knows: GET /, /config, /_resources and the Mesh list."""
    _validate(options)
    before = client.requests_made
    kube_before = kube_api.requests_made if kube_api is not None else 0
    pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="kuma-export")
    try:
        result = _Run(client, options, pool, progress, kube_api).run()
    except BaseException as failure:
        # Fail fast: queued reads are dropped, waits between retries end now, running reads end
        # within their timeouts; on Ctrl-C nothing is waited for (the caller exits).
        client.cancel()
        interrupted = isinstance(failure, KeyboardInterrupt) or interrupt_received()
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return ExportResult(
        documents=result.documents,
        control_plane=result.control_plane,
        warnings=result.warnings,
        dataplanes=result.dataplanes,
        requests=client.requests_made - before
        + (kube_api.requests_made - kube_before if kube_api is not None else 0),
        from_global=result.from_global,
    )
