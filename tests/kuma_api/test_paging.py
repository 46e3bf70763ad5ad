"""The one paginator (components/clients/paging.py), read against upstream.

Upstream facts used: Kuma's offset is a string the store chooses (pkg/core/resources/model
resource.go `Pagination.NextOffset string`), handed out in `next` (pkg/api-server/pagination.go
nextLink), and Kuma's own client takes it from `next`'s query as it is
(pkg/core/resources/model/rest/unmarshaller.go: `uri.Query().Get("offset")`); the API server's
vectors resources/crud/list_mesh* show a `next` of `http://{{address}}/meshes?offset=2&size=2`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from components.check.conditions import list_items
from components.clients.errors import BadAnswer, KumaApiError
from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.clients.paging import BadPage, count, list_all
from tests.check.fake_kuma import FakeKuma
from tests.upstream import upstream_path

CRUD = "api-server-testdata/resources/crud"


class Pages:
    """An API whose list pages are keyed by the offset asked (None: the first page)."""

    def __init__(self, pages: Mapping[str | None, Any]) -> None:
        self.pages = pages
        self.asked: list[dict[str, str | int]] = []

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        query = dict(params or {})
        self.asked.append(query)
        offset = query.get("offset")
        return self.pages[str(offset) if offset is not None else None]

    def url_for(self, path: str) -> str:
        return f"http://zone/{path.lstrip('/')}"


def mesh(name: str) -> dict[str, Any]:
    return {"type": "Mesh", "name": name}


def test_the_offset_is_taken_from_next_as_the_server_wrote_it() -> None:
    # A store's offset need not be a count of items: a paginator that computes offset + items
    # asks for a page the server never offered.
    pages = Pages({
        None: {"total": 3, "items": [mesh("m1")], "next": "http://10.0.0.7:5681/meshes?offset=b3Q6MQ&size=1000"},
        "b3Q6MQ": {"total": 3, "items": [mesh("m2")], "next": "http://10.0.0.7:5681/meshes?offset=b3Q6Mg&size=1000"},
        "b3Q6Mg": {"total": 3, "items": [mesh("m3")], "next": None},
    })  # fmt: skip
    assert [m["name"] for m in list_all(pages, "meshes")] == ["m1", "m2", "m3"]
    assert [q.get("offset") for q in pages.asked] == [None, "b3Q6MQ", "b3Q6Mg"]
    assert all(q["size"] == 1000 for q in pages.asked)


def test_the_check_and_the_export_page_the_upstream_vector_alike() -> None:
    """The store of list_mesh.input.yaml, served by the check's fake as Kuma does (its first page
    is the vector list_mesh_04, tests/test_fakes_against_upstream.py), read two by two."""
    text = upstream_path(f"{CRUD}/list_mesh.input.yaml").read_text()
    golden = json.loads(upstream_path(f"{CRUD}/list_mesh_04.golden.json").read_text())
    store = [doc for doc in yaml.safe_load_all(text) if doc]
    with FakeKuma(page_size=None) as fake:
        fake.serve_store(store)
        with KumaApiClient(ApiTarget(fake.url, retries=0)) as client:
            first = client.get_json("/meshes", {"size": 2})
            assert first["next"].replace(fake.url, "http://{{address}}") == golden["next"]
            names = [m["name"] for m in list_all(client, "/meshes", page_size=2)]
            assert [m["name"] for m in list_items(client, "/meshes")] == names
    assert names == ["m1", "m2", "m3"]


@pytest.mark.parametrize(("page", "problem"), [
    ({"total": 1, "next": None}, "no 'items' list"),
    ([], "no 'items' list"),
    ({"items": [mesh("a")], "next": 7}, "'next' is not a URL"),
    ({"items": [mesh("a")], "next": "http://x/meshes?size=2"}, "'next' has no offset"),
    ({"items": [], "next": "http://x/meshes?offset=9"}, "empty page"),
])  # fmt: skip
def test_a_page_of_another_shape_is_a_bad_answer(page: Any, problem: str) -> None:
    with pytest.raises(BadPage, match=problem) as caught:
        list_all(Pages({None: page}), "meshes")
    assert isinstance(caught.value, BadAnswer) and isinstance(caught.value, KumaApiError)
    assert caught.value.url == "http://zone/meshes"


def test_an_offset_seen_twice_is_refused_not_looped() -> None:
    pages = Pages({
        None: {"items": [mesh("a")], "next": "http://x/meshes?offset=o1"},
        "o1": {"items": [mesh("b")], "next": "http://x/meshes?offset=o1"},
    })  # fmt: skip
    with pytest.raises(BadPage, match="never ends"):
        list_all(pages, "meshes")


def test_pages_beyond_the_total_are_refused() -> None:
    # Ever new offsets, each page one item, while the server counted 1: at most total / size + 10.
    class Endless(Pages):
        def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
            n = len(self.asked)
            self.asked.append(dict(params or {}))
            return {"total": 1, "items": [mesh(f"m{n}")], "next": f"http://x/meshes?offset=o{n}"}

    endless = Endless({})
    with pytest.raises(BadPage, match="counted 1 objects"):
        list_all(endless, "meshes", page_size=1)
    assert len(endless.asked) == 1 // 1 + 10


def test_an_item_repeated_across_a_page_boundary_is_kept_once() -> None:
    pages = Pages({
        None: {"items": [mesh("a"), mesh("b")], "next": "http://x/meshes?offset=2"},
        "2": {"items": [mesh("b"), mesh("c")], "next": None},
    })  # fmt: skip
    assert [m["name"] for m in list_all(pages, "meshes")] == ["a", "b", "c"]


def test_params_ride_on_every_page() -> None:
    pages = Pages({
        None: {"items": [mesh("a")], "next": "http://x/meshes?offset=1"},
        "1": {"items": [mesh("b")], "next": None},
    })  # fmt: skip
    list_all(pages, "meshes", params={"filter[labels.kuma.io/zone]": "z"})
    assert all(q["filter[labels.kuma.io/zone]"] == "z" for q in pages.asked)


def test_count_reads_the_total_of_a_one_item_page() -> None:
    pages = Pages({None: {"total": 42, "items": [mesh("a")], "next": "http://x/meshes?offset=1"}})
    assert count(pages, "meshes") == 42 and pages.asked == [{"size": 1}]
    with pytest.raises(BadPage, match="no 'total'"):
        count(Pages({None: {"items": []}}), "meshes")
