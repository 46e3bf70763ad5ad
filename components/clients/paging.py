"""Read every page of a Kuma list endpoint: the one paginator of the export and the check.

A list answers `{"total", "items", "next"}`; `next` is null on the last page, else a URL whose
`offset` asks for the next one (pkg/api-server/pagination.go nextLink; upstream vector
resources/crud/list_mesh_04: `"next": "http://{{address}}/meshes?offset=2&size=2"`). The offset
is the store's to choose (pkg/core/resources/model/resource.go: `NextOffset string`), so it is
taken from `next` as it is, never computed, as Kuma's own REST client does
(pkg/core/resources/model/rest/unmarshaller.go: `uri.Query().Get("offset")`). The rest of
`next` is not used: its host is the Host header the server saw (a port-forward or the kube API
proxy makes it useless as a URL), so the next page is asked from our own base URL, with our own
parameters.

An offset seen twice, an empty page that still points to a next one, or more pages than the
server's `total` allows, is a server fault said as such (`BadPage`), never a loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from components.clients.errors import BadAnswer

# Kuma's list API refuses larger pages (pkg/api-server/pagination.go maxPageSize; vector
# resources/crud/list_mesh_02).
MAX_PAGE_SIZE = 1000
# Without a `total` to bound the pages by, at most this many.
MAX_PAGES = 1000
# Pages beyond total / size allowed for objects created while we page.
_PAGE_SLACK = 10


class BadPage(BadAnswer):
    """A list answer without its items, or paging that does not advance."""


class JsonApi(Protocol):
    """What the paginator needs of a client (`KumaApiClient` has it)."""

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any: ...

    def url_for(self, path: str) -> str: ...


def _next_offset(next_url: Any, where: str) -> str | None:
    if next_url in (None, ""):
        return None
    if not isinstance(next_url, str):
        raise BadPage(f"listing {where}: 'next' is not a URL: {next_url!r}"[:300], url=where)
    offsets = parse_qs(urlsplit(next_url).query).get("offset")
    if not offsets or not offsets[0]:
        raise BadPage(f"listing {where}: 'next' has no offset: {next_url!r}"[:300], url=where)
    return offsets[0]


def _identity(item: Any) -> tuple[Any, ...] | None:
    """What names an item of a list (its type, mesh and name), when it has a name."""
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        return None
    return (str(item.get("type")), str(item.get("mesh")), item["name"])


def list_all(api: JsonApi, path: str, *, page_size: int = MAX_PAGE_SIZE,
             params: Mapping[str, str | int] | None = None) -> list[Any]:
    """Every item of the list at `path` (with `params`, e.g. a label filter), in the server's
    order; one GET per page."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page size {page_size} is out of range: Kuma accepts 1..{MAX_PAGE_SIZE}")
    where = api.url_for(path)
    items: list[Any] = []
    # Offsets shift when an object is created before them while we page: the last item of a
    # page comes again at the top of the next. Kept once, where first seen.
    keys: set[tuple[Any, ...]] = set()
    seen: set[str] = set()
    offset: str | None = None
    max_pages = MAX_PAGES
    total: Any = None
    pages = 0
    while True:
        pages += 1
        query: dict[str, str | int] = {**(params or {}), "size": page_size}
        if offset is not None:
            query["offset"] = offset
        page = api.get_json(path, query)
        if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
            raise BadPage(
                f"listing {where}: the answer has no 'items' list; is this path a list endpoint "
                "of this control plane version?", url=where)
        page_items: list[Any] = page["items"]
        if total is None and isinstance(page.get("total"), int):
            total = page["total"]
            # Generous slack for objects created while we page, but finite.
            max_pages = total // page_size + _PAGE_SLACK
        for item in page_items:
            key = _identity(item)
            if key is not None and key in keys:
                continue
            if key is not None:
                keys.add(key)
            items.append(item)
        following = _next_offset(page.get("next"), where)
        if following is None:
            return items
        if not page_items:
            raise BadPage(
                f"listing {where}: the server sent an empty page that still points to a next one "
                f"(offset {following}); refusing to loop", url=where)
        if following in seen:
            raise BadPage(
                f"listing {where}: the server's 'next' returned to offset {following}, already "
                "read; the pagination never ends, refusing to loop", url=where)
        if pages >= max_pages:
            counted = f"the server counted {total} objects" if total is not None \
                else "the server gave no total"
            raise BadPage(
                f"listing {where}: still more pages after {pages} pages of {page_size} while "
                f"{counted}; refusing to loop", url=where)
        seen.add(following)
        offset = following


def count(api: JsonApi, path: str) -> int:
    """How many objects a list holds, from its `total`, with a one-item page."""
    page = api.get_json(path, {"size": 1})
    total = page.get("total") if isinstance(page, Mapping) else None
    if not isinstance(total, int):
        where = api.url_for(path)
        raise BadPage(f"listing {where}: the answer has no 'total' count", url=where)
    return total
