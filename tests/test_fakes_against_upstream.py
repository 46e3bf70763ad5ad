"""The fakes answer as the Kuma API server does: its own vectors, replayed against both.

Each case of ``api-server-testdata/resources/crud/`` (kumahq/kuma v2.14.3,
pkg/api-server/testdata/resources/crud/) that concerns what the fakes serve (GET lists, label
filters, paging, item GETs, the 400 and 404 bodies) is loaded into tests/check/fake_kuma.py and
tests/export/fake_zone.py, the vector's request is sent over HTTP, and the answer is compared
with the golden:

- status, and error bodies: exactly;
- lists: ``total`` exactly, ``next`` with its scheme and host replaced by ``{{address}}`` (the
  golden's placeholder: each server names its own address), and items in order by ``type``,
  ``mesh``, ``name`` and ``labels``; item GETs by the same four fields. The other fields of an
  item (``kri``, ``creationTime``, ``snis``, defaults the server fills into ``spec``/``status``)
  are computed by Kuma from the stored resource, and the fakes serve what a test gives them:
  no code of ours reads them from a list.

Cases left out, and why: ``put_*``/``delete_*``/``workload_label_validation`` (other methods;
the fakes serve GET only), ``*_by_kri*``/``get_dp_by_kri`` (the ``/_kri/`` lookup, which neither
our code nor the fakes use), ``get_global-secret``/``list_global-secret``/``*zone-ingress*`` (legacy
path aliases absent from ``_resources.json``, whose paths our code uses), ``list_dp_with_filters``/
``list_externalservices_with_filters`` (the Dataplane ``tag=`` filter, unused by our code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from tests.check.fake_kuma import FakeKuma
from tests.export.fake_zone import FakeZone, Obj, load_types
from tests.upstream import UPSTREAM, upstream_path

CRUD = "api-server-testdata/resources/crud"
CASES = [
    "get_globalsecret", "get_resource", "get_resource_not-found", "get_zoneingress",
    "list_all_meshes", "list_dp_with_label_filter", "list_dp_with_label_filter_bad",
    "list_dp_with_label_filter_op_unsupported", "list_globalsecret", "list_mesh",
    "list_mesh_doesnt_exist_not_found", "list_meshservices", "list_resource", "list_workloads",
    "list_zoneingresses",
]
REQUEST_LINE = re.compile(r"^#(/\S*) (\d{3})$")


@dataclass(frozen=True)
class Exchange:
    case: str
    request: str
    status: int
    golden: Any
    store: list[dict[str, Any]]


def exchanges(case: str) -> Iterator[Exchange]:
    """A case's requests (``#<path?query> <status>`` lines; a case with several has goldens
    ``<case>_00`` ... in order) with the store they run against."""
    text = upstream_path(f"{CRUD}/{case}.input.yaml").read_text()
    requests = [(m[1], int(m[2])) for m in map(REQUEST_LINE.match, text.splitlines()) if m]
    store = [doc for doc in yaml.safe_load_all(text) if doc]
    for index, (request, status) in enumerate(requests):
        name = case if len(requests) == 1 else f"{case}_{index:02d}"
        golden = json.loads((UPSTREAM / CRUD / f"{name}.golden.json").read_text())
        yield Exchange(case, request, status, golden, store)


def all_exchanges() -> list[Exchange]:
    if not (UPSTREAM / CRUD).exists():
        return []
    return [exchange for case in CASES for exchange in exchanges(case)]


def _id(exchange: Exchange) -> str:
    return f"{exchange.case} {exchange.request}"


def identity(item: Any) -> tuple[Any, ...]:
    return (item.get("type"), item.get("mesh"), item.get("name"), item.get("labels") or {})


def normalised(status: int, body: Any) -> Any:
    if status >= 400 or not isinstance(body, dict):
        return body
    if "items" not in body:
        return identity(body)
    nxt = body.get("next")
    if nxt:
        nxt = re.sub(r"^https?://[^/]+", "http://{{address}}", nxt)
    return {"total": body["total"], "next": nxt, "items": [identity(i) for i in body["items"]]}


def fetch(base_url: str, request: str) -> tuple[int, Any]:
    response = urllib3.request("GET", base_url + request, retries=False, timeout=5.0)
    return response.status, json.loads(response.data)


def zone_objects(store: list[dict[str, Any]]) -> list[Obj]:
    # The fake serves the universal form it is given, as the store would render it.
    stamped = [{**doc, "creationTime": "0001-01-01T00:00:00Z",
                "modificationTime": "0001-01-01T00:00:00Z"} for doc in store]
    return [Obj(type=doc["type"], name=doc["name"], mesh=doc.get("mesh"), k8s={}, universal=doc)
            for doc in stamped]


@pytest.fixture(params=["fake_kuma", "fake_zone"])
def fake(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("exchange", all_exchanges(), ids=_id)
def test_the_fake_answers_the_vector_as_kuma_does(fake: str, exchange: Exchange) -> None:
    if fake == "fake_kuma":
        with FakeKuma(page_size=None) as server:
            server.serve_store(exchange.store)
            status, body = fetch(server.url, exchange.request)
    else:
        types = load_types(str(upstream_path("api/_resources.json")))
        with FakeZone(resource_types=types, objects=zone_objects(exchange.store)) as zone:
            status, body = fetch(zone.base_url, exchange.request)
    assert status == exchange.status, body
    assert normalised(status, body) == normalised(exchange.status, exchange.golden)


def test_every_vector_the_fakes_answer_is_replayed() -> None:
    """A vector added upstream for a GET list or item is either replayed or left out with a
    reason in the module docstring, never skipped silently."""
    folder = upstream_path(CRUD)
    left_out = re.compile(r"^(put_|delete_|workload_label_validation|.*by_kri|get_dp_by_kri"
                          r"|get_global-secret|list_global-secret|.*zone-ingress"
                          r"|list_dp_with_filters|list_externalservices_with_filters)")
    cases = sorted(p.name.removesuffix(".input.yaml") for p in Path(folder).glob("*.input.yaml"))
    assert [c for c in cases if not left_out.match(c)] == sorted(CASES)
    assert len(all_exchanges()) >= len(CASES)
