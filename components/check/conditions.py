"""One observation of each federation condition, read from the control plane APIs.

Each ``observe_*`` function makes the GETs for one condition and returns what it saw; a failed
request raises a ``KumaApiError`` (the poll loop records it and keeps polling), an answer of the
wrong shape a ``BadAnswer`` (``UnexpectedAnswer`` for the shapes read here). Nothing here sleeps
or loops over time.

API facts used (Kuma 2.x, ``docs/generated/openapi.yaml`` and the API server):
- ``GET /zones/{name}/_overview`` on the global answers a ZoneOverview
  ``{"zone": {"enabled": bool}, "zoneInsight": {"subscriptions": [KDSSubscription...]}}``;
  a KDS subscription carries ``connectTime`` and, once the stream closed, ``disconnectTime``
  (protojson timestamps: RFC 3339 strings; ``{seconds, nanos}`` accepted too). The newest
  subscription is the last one. 404 means the zone never registered.
- resource lists answer ``{"total", "items", "next"}``, read page after page by the one paginator
  (components/clients/paging.py), and take a label filter ``filter[labels.<key>]=<value>``
  (pkg/api-server/filters/filtering.go; the API server's vectors
  resources/crud/list_dp_with_label_filter*: any other ``filter[`` key is a 400 "filters are only
  supported on labels"; the OpenAPI example ``filter[label.<key>]`` is wrong).
  Labels are filtered again client-side, so an API version that ignores the filter still gives
  the right answer.
- ``GET /_resources`` lists every type with ``name``, ``scope`` (Global/Mesh) and ``path``
  (components/clients/resource_types.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from components.check.spec import ExpectedPolicy
from components.clients import paging
from components.clients.errors import BadAnswer, NotFound
from components.clients.kuma_names import DISPLAY_NAME, GLOBAL_ORIGIN, ORIGIN_LABEL, ZONE_LABEL
from components.clients.paging import JsonApi
from components.clients.resource_types import ResourceType, parse_resource_types

__all__ = ["JsonApi", "ResourceType"]


class UnexpectedAnswer(BadAnswer):
    """The API answered, but not with the JSON shape its specification promises."""


class SpecMismatch(Exception):
    """The spec asks for something this control plane can never satisfy (unknown type...)."""


# -- 1. zone online -----------------------------------------------------------


@dataclass(frozen=True)
class OnlineObservation:
    online: bool
    reason: str  # why not online, or a short description of the live subscription
    connect_time: str | None = None
    disconnect_time: str | None = None
    registered: bool = True


def _timestamp(value: object) -> str | None:
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        seconds = value.get("seconds")
        if isinstance(seconds, int) and not isinstance(seconds, bool):
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise UnexpectedAnswer(f"a timestamp is neither an RFC 3339 string nor {{seconds}}: {value!r}")


def overview_path(zone: str) -> str:
    return f"/zones/{quote(zone, safe='')}/_overview"


def read_overview(body: object, zone: str) -> OnlineObservation:
    """Interpret a ZoneOverview answer."""
    if not isinstance(body, Mapping):
        raise UnexpectedAnswer(f"the overview of zone {zone} is not a JSON object")
    zone_obj = body.get("zone")
    if isinstance(zone_obj, Mapping) and zone_obj.get("enabled") is False:
        return OnlineObservation(False, "zone is disabled on the global (zone.enabled=false)")
    insight = body.get("zoneInsight")
    if insight is None:
        insight = {}
    if not isinstance(insight, Mapping):
        raise UnexpectedAnswer(f"zoneInsight of zone {zone} is not a JSON object")
    subscriptions = insight.get("subscriptions")
    if subscriptions is None:
        subscriptions = []
    if not isinstance(subscriptions, list):
        raise UnexpectedAnswer(f"zoneInsight.subscriptions of zone {zone} is not a list")
    if not subscriptions:
        return OnlineObservation(False, "no KDS subscription yet")
    last = subscriptions[-1]
    if not isinstance(last, Mapping):
        raise UnexpectedAnswer(f"a KDS subscription of zone {zone} is not a JSON object")
    connected = _timestamp(last.get("connectTime"))
    disconnected = _timestamp(last.get("disconnectTime"))
    if connected is None:
        return OnlineObservation(False, "the last KDS subscription has no connectTime")
    if disconnected is not None:
        return OnlineObservation(
            False, f"disconnected at {disconnected} (connected at {connected})", connected,
            disconnected,
        )
    return OnlineObservation(True, f"connected since {connected}", connected)


def observe_online(global_api: JsonApi, zone: str) -> OnlineObservation:
    try:
        body = global_api.get_json(overview_path(zone))
    except NotFound:
        return OnlineObservation(False, "not registered on the global yet", registered=False)
    return read_overview(body, zone)


# -- listing ------------------------------------------------------------------


def label_filter(key: str) -> str:
    """The query parameter that filters a list on label ``key`` (see the module docstring)."""
    return f"filter[labels.{key}]"


def list_items(api: JsonApi, path: str, labels: Mapping[str, str] | None = None) -> list[Any]:
    """Every item of a resource list, all pages, with the given labels (filtered both ends)."""
    labels = labels or {}
    params: dict[str, str | int] = {label_filter(k): v for k, v in labels.items()}
    items = paging.list_all(api, path, params=params)
    return [item for item in items if _has_labels(item, labels)]


def _labels(item: object) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        labels = item.get("labels")
        if isinstance(labels, Mapping):
            return labels
    return {}


def _has_labels(item: object, wanted: Mapping[str, str]) -> bool:
    labels = _labels(item)
    return all(labels.get(k) == v for k, v in wanted.items())


# -- resource types -----------------------------------------------------------


def read_resource_types(body: object) -> dict[str, ResourceType]:
    return {rtype.name: rtype for rtype in parse_resource_types(body)}


def list_path(rtype: ResourceType, mesh: str | None) -> str:
    """Where the expected policies of ``rtype`` in ``mesh`` are listed."""
    if not rtype.mesh_scoped:
        return rtype.list_path(None)
    if not mesh:
        raise SpecMismatch(f"{rtype.name} is mesh-scoped: the expected policy needs a mesh")
    return rtype.list_path(mesh)


def resolve(types: Mapping[str, ResourceType], type_name: str, side: str) -> ResourceType:
    try:
        return types[type_name]
    except KeyError:
        raise SpecMismatch(
            f"resource type {type_name!r} is unknown to the {side} control plane "
            "(not in its GET /_resources)"
        ) from None


def policy_key(policy: ExpectedPolicy) -> str:
    where = f"{policy.mesh}/" if policy.mesh else ""
    return f"{policy.type} {where}{policy.name}"


def group_key(type_name: str, mesh: str | None) -> str:
    return f"{type_name} in mesh {mesh}" if mesh else type_name


# -- 2. data plane proxies on the global --------------------------------------


def observe_zone_dataplanes(zone_api: JsonApi) -> dict[str, int]:
    """Per mesh of the zone that has any, how many Dataplanes the zone lists now."""
    meshes = [str(item["name"]) for item in list_items(zone_api, "/meshes")
              if isinstance(item, Mapping) and item.get("name")]
    counts = {mesh: len(list_items(zone_api, f"/meshes/{quote(mesh, safe='')}/dataplanes"))
              for mesh in meshes}
    return {mesh: count for mesh, count in counts.items() if count}


def observe_dataplanes(global_api: JsonApi, zone: str, meshes: Iterable[str]) -> dict[str, int]:
    """Per mesh, how many Dataplanes the global lists as coming from ``zone``; none while the
    mesh itself has not reached the global (Kuma's 404 "Failed to retrieve Mesh", vector
    resources/crud/list_mesh_doesnt_exist_not_found)."""
    found: dict[str, int] = {}
    for mesh in meshes:
        try:
            found[mesh] = len(list_items(global_api, f"/meshes/{quote(mesh, safe='')}/dataplanes",
                                         {ZONE_LABEL: zone}))
        except NotFound:
            found[mesh] = 0
    return found


# -- 3. exported policies on the global ---------------------------------------


def match_name(items: Iterable[Any], name: str) -> str | None:
    """The stored name of the item whose display name is ``name`` (label first, then exact)."""
    listed = [item for item in items if isinstance(item, Mapping)]
    for item in listed:
        if _labels(item).get(DISPLAY_NAME) == name:
            return str(item.get("name", name))
    for item in listed:
        if item.get("name") == name:
            return name
    return None


def observe_policies_on_global(
    global_api: JsonApi, types: Mapping[str, ResourceType], policies: Iterable[ExpectedPolicy]
) -> dict[ExpectedPolicy, str | None]:
    """For each expected policy, its name on the global, or None when it is not there."""
    listed: dict[tuple[str, str | None], list[Any]] = {}
    found: dict[ExpectedPolicy, str | None] = {}
    for policy in policies:
        key = (policy.type, policy.mesh)
        if key not in listed:
            rtype = resolve(types, policy.type, "global")
            listed[key] = list_items(global_api, list_path(rtype, policy.mesh))
        found[policy] = match_name(listed[key], policy.name)
    return found


# -- 4. policies synced back to the zone --------------------------------------


def observe_policies_in_zone(
    zone_api: JsonApi, types: Mapping[str, ResourceType], policies: Iterable[ExpectedPolicy]
) -> dict[tuple[str, str | None], int]:
    """Per expected (type, mesh), how many items the zone lists with origin ``global``."""
    counts: dict[tuple[str, str | None], int] = {}
    for policy in policies:
        key = (policy.type, policy.mesh)
        if key not in counts:
            rtype = resolve(types, policy.type, "zone")
            counts[key] = len(list_items(zone_api, list_path(rtype, policy.mesh),
                                         {ORIGIN_LABEL: GLOBAL_ORIGIN}))
    return counts
