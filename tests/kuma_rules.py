"""How the Kuma API server (v2.14.3) answers resource lists and items, for the fakes to share.

Every rule here comes from upstream, never from our reading of the OpenAPI examples:
- the API server's own vectors, ``api-server-testdata/resources/crud/`` (kumahq/kuma
  pkg/api-server/testdata/resources/crud/): ``list_mesh.input.yaml`` (``size`` default and
  maximum 1000, ``offset``, ``next``, the three 400 bodies), ``list_dp_with_label_filter*``
  (``filter[labels.<key>]=<value>``; any other ``filter[`` key, or an operator after the key, is a
  400), ``get_resource_not-found`` (the item 404 body), ``list_mesh_doesnt_exist_not_found`` (a
  list under a mesh that does not exist is a 404 "Failed to retrieve Mesh"), ``list_all_meshes``
  (a mesh-scoped type listed at the root spans every mesh);
- pkg/api-server/filters/filtering.go (labelFilter: the last value of a repeated filter wins,
  an item matches when every filtered label is present with that value).

``tests/test_fakes_against_upstream.py`` replays those vectors against both fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100  # what Kuma serves when `size` is not given
LABEL_FILTER_PREFIX = "filter[labels."

Answer = tuple[int, Any]
LabelPredicate = Callable[[Mapping[str, Any]], bool]


def std_error(status: int, title: str, detail: str,
              violations: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Kuma's error body: ``detail`` twice (``details`` is the legacy spelling), and each
    violation both as ``invalid_parameters`` (field, reason) and ``causes`` (field, message)."""
    body: dict[str, Any] = {"type": "/std-errors", "status": status, "title": title,
                            "detail": detail}
    if violations:
        body["invalid_parameters"] = [{"field": f, "reason": r} for f, r in violations]
    body["details"] = detail
    if violations:
        body["causes"] = [{"field": f, "message": r} for f, r in violations]
    return body


def item_not_found() -> Answer:
    return 404, std_error(404, "Could not retrieve a resource", "Not found")


def mesh_not_found() -> Answer:
    return 404, std_error(404, "Failed to retrieve Mesh", "Not found")


class Refused(Exception):
    """The API server refuses the request: ``answer`` is its status and body."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer[1].get("detail"))
        self.answer = answer


def _bad_list(detail: str, violations: Sequence[tuple[str, str]] = ()) -> Refused:
    return Refused((400, std_error(400, "Could not retrieve resources", detail, violations)))


def route_template(path: str) -> str:
    """The route a list path matched, as Kuma names it in errors: ``/meshes/{mesh}/dataplanes``."""
    segs = [s for s in path.strip("/").split("/") if s]
    if len(segs) == 3 and segs[0] == "meshes":
        return f"/meshes/{{mesh}}/{segs[2]}"
    return "/" + "/".join(segs)


def page_of(query: Mapping[str, str]) -> tuple[int, int]:
    """(offset, size) from the query; ``Refused`` with Kuma's 400 for bad ones."""
    raw_offset = query.get("offset", "")
    offset = 0
    if raw_offset:
        try:
            offset = int(raw_offset)
        except ValueError:
            # Go's strconv.Atoi error, as Kuma passes it through.
            raise _bad_list(f'invalid: invalid offset: strconv.Atoi: parsing "{raw_offset}": '
                             "invalid syntax") from None
    raw_size = query.get("size", "")
    size = DEFAULT_PAGE_SIZE
    if raw_size:
        try:
            size = int(raw_size)
        except ValueError:
            raise _bad_list("Invalid page size", [("size", "invalid format")]) from None
        if size > MAX_PAGE_SIZE:
            raise _bad_list("Invalid page size", [(
                "size", f"invalid page size of {size}. Maximum page size is {MAX_PAGE_SIZE}")])
    return offset, size


def label_filter(query: Mapping[str, str], path: str) -> LabelPredicate:
    """A predicate on an item's labels from the ``filter[...]`` parameters; ``Refused`` with
    Kuma's 400 for a filter it does not support."""
    violations: list[tuple[str, str]] = []
    wanted: dict[str, str] = {}
    route = route_template(path)
    for key, value in query.items():
        if not key.startswith("filter["):
            continue
        if not key.startswith(LABEL_FILTER_PREFIX):
            violations.append((f"{route}.{key}", "filters are only supported on labels"))
            continue
        closing = key.index("]")
        if closing != len(key) - 1:
            violations.append((f"{route}.{key}", "advanced filters are not supported"))
            continue
        wanted[key[len(LABEL_FILTER_PREFIX):closing]] = value
    if violations:
        raise _bad_list("Resource is not valid", violations)

    def matches(item: Mapping[str, Any]) -> bool:
        labels = item.get("labels") or {}
        return all(labels.get(k) == v for k, v in wanted.items())

    return matches


def list_answer(items: Sequence[Mapping[str, Any]], *, path: str, query: Mapping[str, str],
                next_base: str, page_cap: int | None = None) -> Answer:
    """A list answer: filtered, then paged, ``next`` an absolute URL on ``next_base``.

    ``page_cap`` lets a test server give shorter pages than asked (Kuma does not; a client must
    still follow ``next``), and is the only departure from Kuma here."""
    try:
        offset, size = page_of(query)
        predicate = label_filter(query, path)
    except Refused as refused:
        return refused.answer
    if page_cap is not None:
        size = min(size, page_cap)
    selected = [item for item in items if predicate(item)]
    chunk = selected[offset:offset + size]
    nxt = None
    if offset + size < len(selected):
        nxt = f"{next_base}{path}?offset={offset + size}&size={size}"
    return 200, {"total": len(selected), "items": list(chunk), "next": nxt}
