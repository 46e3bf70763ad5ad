"""The export's reading of Kuma lists: the one paginator (components/clients/paging.py), with a
list answer of the wrong shape said as the export's own failure (an `ExportError`: nothing is
exported), as every other answer of the wrong shape is."""

from __future__ import annotations

from components.clients import paging
from components.clients.paging import MAX_PAGE_SIZE, BadPage, JsonApi
from components.export.model import ExportError


def list_all(client: JsonApi, path: str, page_size: int = MAX_PAGE_SIZE) -> list[object]:
    """Every item of the list at `path`, in the server's order; one GET per page."""
    try:
        return paging.list_all(client, path, page_size=page_size)
    except BadPage as error:
        raise ExportError(str(error)) from None


def count(client: JsonApi, path: str) -> int:
    """How many objects a list holds, from its `total`."""
    try:
        return paging.count(client, path)
    except BadPage as error:
        raise ExportError(str(error)) from None
