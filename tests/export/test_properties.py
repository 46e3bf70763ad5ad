"""Property tests: the Mesh rewrite, the type order, the YAML writer."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.clients.kuma_names import ORIGIN_LABEL
from components.clients.resource_types import ResourceType
from components.export.kube_objects import finalize, mesh_spec
from components.export.profiles import KNOWN_TYPES, select_types
from components.export.yaml_out import _go_key_less, to_yaml

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
backend = st.fixed_dictionaries(
    {"name": names, "type": st.sampled_from(["builtin", "provided", "vault", "acmpca"])},
    optional={
        "conf": st.dictionaries(names, st.integers() | names, max_size=3),
        "dpCert": st.just({"rotation": {"expiration": "1d"}}),
    },
)
mesh = st.fixed_dictionaries(
    {"type": st.just("Mesh"), "name": names},
    optional={
        "mtls": st.fixed_dictionaries(
            {"backends": st.lists(backend, max_size=4)}, optional={"enabledBackend": names}
        ),
        "labels": st.dictionaries(names, names, max_size=2),
        "creationTime": st.just("2024-01-01T00:00:00Z"),
        "networking": st.just({"outbound": {"passthrough": False}}),
    },
)


@given(mesh)
def test_mesh_rewrite(universal: dict[str, Any]) -> None:
    before = copy.deepcopy(universal)
    spec, needed = mesh_spec(universal)
    assert universal == before  # the input is not modified
    assert spec["skipCreatingInitialPolicies"] == ["*"]
    for meta in ("type", "name", "labels", "creationTime"):
        assert meta not in spec
    if "networking" in universal:
        assert spec["networking"] == universal["networking"]
    if "mtls" not in universal:
        assert needed == [] and "mtls" not in spec
        return
    old = universal["mtls"]["backends"]
    new = spec["mtls"]["backends"]
    assert len(old) == len(new)
    assert spec["mtls"].get("enabledBackend") == universal["mtls"].get("enabledBackend")
    builtins = 0
    for was, now in zip(old, new, strict=True):
        assert now["name"] == was["name"] and now.get("dpCert") == was.get("dpCert")
        if was["type"] == "builtin":
            builtins += 1
            prefix = universal["name"]
            assert now["type"] == "provided"
            assert now["conf"] == {
                "cert": {"secret": f"{prefix}.ca-builtin-cert-{was['name']}"},
                "key": {"secret": f"{prefix}.ca-builtin-key-{was['name']}"},
            }
        else:
            assert now == was
    assert len(needed) == 2 * builtins
    assert spec["mtls"].get("skipValidation", False) is (builtins > 0)


resource_type = st.builds(
    ResourceType,
    name=st.sampled_from(sorted(KNOWN_TYPES)) | st.just("SomethingNew"),
    path=names,
    scope=st.sampled_from(["Global", "Mesh"]),
    include_in_federation=st.booleans(),
    is_target_ref=st.booleans(),
)


@given(
    st.lists(resource_type, max_size=30, unique_by=lambda t: t.name),
    st.sampled_from(["all", "federation", "federation-with-policies", "no-dataplanes"]),
    st.booleans(),
)
def test_type_order(available: list[ResourceType], profile: str, include_admin: bool) -> None:
    selected, unknown = select_types(available, profile, include_admin)
    order = [t.name for t in selected]
    assert unknown == [t.name for t in available if t.name not in KNOWN_TYPES]
    rank = {"Mesh": 0, "Secret": 1, "GlobalSecret": 3}
    ranks = [rank.get(name, 2) for name in order]
    assert ranks == sorted(ranks)
    # Everything else keeps the control plane's order (a stable sort).
    others = [name for name in order if name not in rank]
    assert others == [t.name for t in available if t.name in others]
    if profile == "federation":
        assert all(not t.is_target_ref and t.name != "MeshGateway" for t in selected)
    if profile in ("all", "no-dataplanes") and not include_admin:
        assert "Secret" not in order and "GlobalSecret" not in order


scalar = (
    st.text(max_size=30)
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.booleans()
    | st.none()
    | st.sampled_from(["y", "n", "true", "1e3", "0x1F", "*", "", "- a", "a: b", "2024-01-01", "|", "a\nb\n"])
)
tree = st.recursive(
    scalar,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(st.lists(st.dictionaries(st.text(max_size=10), tree, min_size=1, max_size=5), max_size=3))
def test_yaml_round_trips(documents: list[dict[str, Any]]) -> None:
    text = to_yaml(documents)
    assert list(yaml.safe_load_all(text)) == documents if documents else text == ""


def test_go_key_order_compares_digits_as_numbers() -> None:
    assert _go_key_less("a2", "a10")
    assert not _go_key_less("a10", "a2")
    assert _go_key_less("apiVersion", "kind")
    assert _go_key_less("_x", "Ax")  # non-letters before letters, unlike Python


@given(st.lists(st.text(max_size=8), min_size=2, max_size=8, unique=True))
def test_go_key_order_is_a_strict_order(keys: list[str]) -> None:
    for a in keys:
        assert not _go_key_less(a, a)
        for b in keys:
            assert not (_go_key_less(a, b) and _go_key_less(b, a))


k8s_object = st.fixed_dictionaries(
    {"apiVersion": st.just("kuma.io/v1alpha1"), "kind": st.just("MeshTimeout"),
     "metadata": st.fixed_dictionaries(
         {"name": names, "namespace": st.sampled_from(["kong-mesh-system", "other"])},
         optional={"labels": st.dictionaries(names | st.just(ORIGIN_LABEL), names, max_size=3),
                   "annotations": st.dictionaries(names | st.just(ORIGIN_LABEL), names, max_size=2),
                   "resourceVersion": st.just("42"), "uid": names}),
     "spec": st.dictionaries(names, st.lists(st.dictionaries(names, names, max_size=2), max_size=2),
                             max_size=3)})


@given(k8s_object, st.booleans())
def test_finalize_leaves_its_input_as_it_was(obj: dict[str, Any], rename: bool) -> None:
    before = copy.deepcopy(obj)
    out = finalize(obj, profile="federation-with-policies",
                   allowed_namespaces={"kong-mesh-system", "other"}, excluded_keys={ORIGIN_LABEL},
                   rename_namespace=("kong-mesh-system", "mesh-global") if rename else None)
    assert obj == before  # the zone's answer is not modified, whatever the export rewrote
    assert out is not None and out["spec"] == obj["spec"]
    assert ORIGIN_LABEL not in out["metadata"].get("labels", {})
    assert "resourceVersion" not in out["metadata"] and "uid" not in out["metadata"]
    if rename and obj["metadata"]["namespace"] == "kong-mesh-system":
        assert out["metadata"]["namespace"] == "mesh-global"
