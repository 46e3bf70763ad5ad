"""Read every page of a Kuma list endpoint.

`next` is built from the Host header the server saw (a port-forward or the
kube API proxy makes it useless as a URL), so only its `offset` is taken and
the next page is requested from our own base URL. Offsets are opaque: an
offset seen twice, or a page that is empty yet announces a next one, is a
server fault reported as such, never a loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from components.export.model import MAX_PAGE_SIZE, ExportError

if TYPE_CHECKING:
    from components.clients.kuma_api import KumaApiClient


def _next_offset(next_url: Any, path: str) -> str | None:
    if next_url in (None, ""):
        return None
    if not isinstance(next_url, str):
        raise ExportError(f"listing {path}: 'next' is not a URL: {next_url!r}")
    offsets = parse_qs(urlsplit(next_url).query).get("offset")
    if not offsets or not offsets[0]:
        raise ExportError(f"listing {path}: 'next' has no offset: {next_url!r}")
    return offsets[0]


def _identity(item: Any) -> tuple[Any, ...] | None:
    """What names an item of a list (its type, mesh and name), when it has a name."""
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        return None
    return (str(item.get("type")), str(item.get("mesh")), item["name"])


def list_all(client: KumaApiClient, path: str, page_size: int = MAX_PAGE_SIZE) -> list[Any]:
    """Every item of the list at `path`, in the server's order; one GET per page."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ExportError(f"page size {page_size} is out of range: Kuma accepts 1..{MAX_PAGE_SIZE}")
    items: list[Any] = []
    # Offsets shift when an object is created before them while we page: the last item of a
    # page comes again at the top of the next. Kept once, where first seen.
    keys: set[tuple[Any, ...]] = set()
    seen: set[str] = set()
    offset: str | None = None
    max_pages: int | None = None
    pages = 0
    while True:
        pages += 1
        params: dict[str, str | int] = {"size": page_size}
        if offset is not None:
            params["offset"] = offset
        page = client.get_json(path, params)
        if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
            raise ExportError(
                f"listing {client.url_for(path)}: the answer has no 'items' list; is this "
                "path a list endpoint of this control plane version?"
            )
        page_items: list[Any] = page["items"]
        total = page.get("total")
        if max_pages is None and isinstance(total, int):
            # Generous slack for objects created while we page, but finite.
            max_pages = total // page_size + 10
        for item in page_items:
            key = _identity(item)
            if key is not None and key in keys:
                continue
            if key is not None:
                keys.add(key)
            items.append(item)
        following = _next_offset(page.get("next"), path)
        if following is None:
            return items
        if not page_items:
            raise ExportError(
                f"listing {client.url_for(path)}: the server sent an empty page that still "
                f"points to a next one (offset {following}); refusing to loop"
            )
        if following in seen:
            raise ExportError(
                f"listing {client.url_for(path)}: the server's 'next' returned to offset "
                f"{following}, already read; the pagination never ends, refusing to loop"
            )
        if max_pages is not None and pages >= max_pages:
            raise ExportError(
                f"listing {client.url_for(path)}: still more pages after {pages} pages of "
                f"{page_size} while the server counted {total} objects; refusing to loop"
            )
        seen.add(following)
        offset = following


def count(client: KumaApiClient, path: str) -> int:
    """How many objects a list holds, from its `total`, with a one-item page."""
    page = client.get_json(path, {"size": 1})
    total = page.get("total") if isinstance(page, Mapping) else None
    if not isinstance(total, int):
        raise ExportError(f"listing {client.url_for(path)}: the answer has no 'total' count")
    return total
