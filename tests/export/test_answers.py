"""A zone answer that is no manifest stops the export before anything is registered; weak
messages the fault matrix found, rewritten (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_zone import FakeZone
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import cli
from zone_data import zone_objects

from components.clients.kuma_api import ApiTarget, KumaApiClient, KumaApiError
from components.clients.kuma_names import KUMA_API_VERSION
from components.export import ExportError, ExportOptions, export_zone, listing
from components.export.documents import check_manifest


def answering(path_end: str, body: Any) -> Callable[..., bool]:
    def fault(handler: Any, path: str, query: Any) -> bool:
        if path.endswith(path_end):
            FakeZone._send(handler, 200, body)
            return True
        return False

    return fault


NOT_MANIFESTS = [
    ({"kind": "MeshTimeout", "metadata": {"name": "timeout-0007"}}, "apiVersion"),
    ({"apiVersion": KUMA_API_VERSION, "kind": "MeshTimeout", "metadata": {}}, "no metadata.name"),
    ({"apiVersion": KUMA_API_VERSION, "kind": "MeshRetry", "metadata": {"name": "timeout-0007"}},
     "MeshRetry"),
    ({"type": "MeshTimeout", "name": "timeout-0007", "mesh": "default"}, "ignored ?format=k8s"),
    (["not", "an", "object"], "JSON list"),
]


@pytest.mark.parametrize("body, says", NOT_MANIFESTS)
def test_an_item_that_is_no_manifest_fails_the_command_naming_the_object(
    make_zone: Callable[..., FakeZone], body: Any, says: str
) -> None:
    zone = make_zone(fault=answering("/meshtimeouts/timeout-0007", body))
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system")
    assert done.returncode == 1 and done.stdout == ""
    assert "MeshTimeout 'timeout-0007'" in done.stderr and says in done.stderr


@pytest.mark.parametrize("lacking", ["Mesh", "Secret"])
def test_resources_without_mesh_or_secret_is_refused(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone], lacking: str
) -> None:
    zone = zone_factory([t for t in resource_types if t["name"] != lacking], zone_objects())
    with KumaApiClient(ApiTarget(zone.base_url, retries=0)) as client, \
            pytest.raises(ExportError, match=f"does not list {lacking}"):
        export_zone(client, ExportOptions())


def test_every_kuma_crd_is_the_object_shape_checked(crd_schemas: dict[str, dict[str, Any]]) -> None:
    """The shape check_manifest holds kuma.io documents to is the CRDs': apiVersion, kind,
    metadata, and a spec that is an object."""
    assert len(crd_schemas) > 40
    for kind, schema in crd_schemas.items():
        properties = schema["properties"]
        assert {"apiVersion", "kind", "metadata"} <= set(properties), kind
        if "spec" in properties:
            # New policies type it; legacy kinds keep a protobuf message (a JSON object) with
            # x-kubernetes-preserve-unknown-fields.
            spec = properties["spec"]
            assert spec.get("type") == "object" or spec.get("x-kubernetes-preserve-unknown-fields"), kind
        good = {"apiVersion": KUMA_API_VERSION, "kind": kind, "metadata": {"name": "x"}, "spec": {}}
        assert check_manifest(good, type_name=kind, name="x", where="t") is good
        with pytest.raises(ExportError):
            check_manifest({**good, "spec": []}, type_name=kind, name="x", where="t")


def test_every_upstream_kube_input_is_accepted(upstream: Path) -> None:
    import json

    inputs = sorted((upstream / "export-testdata").glob("kube-input.*.json"))
    assert inputs
    for path in inputs:
        type_name, name = path.name.split(".", 2)[1], path.name.split(".", 2)[2].removesuffix(".json")
        doc = json.loads(path.read_text())
        assert check_manifest(doc, type_name=type_name, name=name, where=path.name) is doc


# -- messages ------------------------------------------------------------------------------------

def test_a_redirect_to_another_origin_is_said_not_a_refused_token(
    make_zone: Callable[..., FakeZone]
) -> None:
    target = make_zone(token="zone-token")

    def redirect(handler: Any, path: str, query: Any) -> bool:
        handler.send_response(302)
        handler.send_header("Location", target.base_url.replace("127.0.0.1", "localhost") + path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    front = make_zone(fault=redirect)
    api = ApiTarget(front.base_url, token="zone-token", token_source="zones[0].api.token", retries=0)
    with KumaApiClient(api) as client, pytest.raises(KumaApiError) as caught:
        client.get_json("/")
    message = str(caught.value)
    assert "another origin" in message and "was not refused, it was not sent" in message


def test_invalid_utf8_is_not_called_truncated(make_zone: Callable[..., FakeZone]) -> None:
    def latin1(handler: Any, path: str, query: Any) -> bool:
        body = '{"product": "Kuma \xe9"}'.encode("latin-1")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        return True

    with KumaApiClient(ApiTarget(make_zone(fault=latin1).base_url, retries=0)) as client, \
            pytest.raises(KumaApiError) as caught:
        client.get_json("/")
    assert "not valid UTF-8" in str(caught.value) and "truncated" not in str(caught.value)


def test_a_missing_ca_bundle_is_said_as_such(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(KumaApiError) as caught:
        KumaApiClient(ApiTarget("https://127.0.0.1:9", verify=str(missing)))
    assert f"the CA bundle '{missing}'" in str(caught.value) and "does not exist" in str(caught.value)
    assert "TLS handshake" not in str(caught.value)


# -- property: any JSON body is a manifest or a clear error ------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["items", "next", "total", "name", "mesh", "type", "apiVersion", "kind",
                         "metadata", "spec", "labels", "namespace", "data"]) | st.text(max_size=5),
        inner, max_size=5),
    max_leaves=12,
)


class _Pages:
    """A client whose list pages are the given JSON bodies, in turn."""

    def __init__(self, bodies: list[Any]) -> None:
        self.bodies = bodies

    def get_json(self, path: str, params: Any = None) -> Any:
        if not self.bodies:
            return {"items": [], "next": None}
        return self.bodies.pop(0)

    def url_for(self, path: str) -> str:
        return f"http://zone/{path}"


@settings(max_examples=400, deadline=None)
@given(bodies=st.lists(JSON, min_size=1, max_size=4))
def test_any_list_page_is_items_or_a_clear_error(bodies: list[Any]) -> None:
    try:
        items = listing.list_all(_Pages(bodies), "meshes", 10)
    except ExportError as error:
        assert "listing" in str(error)
    else:
        assert isinstance(items, list)


@settings(max_examples=400, deadline=None)
@given(body=JSON, type_name=st.sampled_from(["Mesh", "Secret", "GlobalSecret", "MeshTimeout"]))
def test_any_item_body_is_a_manifest_or_a_clear_error(body: Any, type_name: str) -> None:
    try:
        doc = check_manifest(body, type_name=type_name, name="x", where="GET /x", mesh="default")
    except ExportError as error:
        assert "GET /x" in str(error) and f"{type_name} 'x'" in str(error)
    else:
        assert isinstance(doc["metadata"]["name"], str) and doc["kind"] in (type_name, "Secret")
