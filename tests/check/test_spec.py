"""The check spec: parsing, errors naming the field, round trip; the ZoneOverview reading."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.check import CheckSpec, DirectApi, ExpectedPolicy, KubeProxyApi, SpecError
from components.check.conditions import UnexpectedAnswer, read_overview
from tests.check.fake_kuma import overview, subscription

BASE: dict[str, Any] = {
    "zone": "zone-1",
    "global_api": {"url": "https://global.example:5682", "token": "tok-global-123",
                   "ca_bundle": "/etc/ca.pem", "insecure": False},
    "zone_api": {"kube_proxy": {"context": "mesh-zone-1", "namespace": "kong-mesh-system",
                                "service": "kong-mesh-control-plane", "port": 5681,
                                "kubeconfig": None}},
    "expect": {"dataplanes": True,
               "policies": [{"type": "MeshTimeout", "mesh": "default", "name": "timeout-1"}]},
    "timeout_seconds": 600,
    "interval_seconds": 5,
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[keys[-1]]
    elif isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return data


def test_parses_the_documented_shape() -> None:
    spec = CheckSpec.from_json(json.dumps(BASE))
    assert spec.zone == "zone-1"
    assert spec.global_api == DirectApi("https://global.example:5682", "tok-global-123",
                                        "/etc/ca.pem", False)
    assert spec.zone_api == KubeProxyApi("mesh-zone-1", "kong-mesh-system",
                                         "kong-mesh-control-plane", 5681, None)
    assert spec.expect.dataplanes is True
    assert spec.expect.policies == (ExpectedPolicy("MeshTimeout", "default", "timeout-1"),)
    assert (spec.timeout_seconds, spec.interval_seconds) == (600.0, 5.0)
    assert "tok-global-123" not in repr(spec)


def test_defaults_and_round_trip() -> None:
    spec = CheckSpec.from_json({"zone": "z", "global_api": {"url": "http://g:5681"},
                                "zone_api": {"url": "http://z:5681"}})
    assert spec.expect.dataplanes is True and spec.expect.policies == ()
    assert (spec.timeout_seconds, spec.interval_seconds) == (600.0, 5.0)
    assert CheckSpec.from_json(spec.to_json()) == spec
    full = CheckSpec.from_json(BASE)
    assert CheckSpec.from_json(full.to_json()) == full


@pytest.mark.parametrize(("path", "value", "named"), [
    ("zone", "", "`zone`"),
    ("zone", KeyError, "`zone`"),
    ("global_api", KeyError, "`global_api`"),
    ("global_api.url", "global:5681", "`global_api.url`"),
    ("global_api.url", None, "`global_api.url`"),
    ("global_api.token", 5, "`global_api.token`"),
    ("global_api.insecure", "yes", "`global_api.insecure`"),
    ("global_api.insecure", True, "`global_api`"),  # with ca_bundle: contradictory
    ("global_api.tokn", "x", "`global_api.tokn`"),
    ("zone_api.kube_proxy.port", "5681", "`zone_api.kube_proxy.port`"),
    ("zone_api.kube_proxy.port", 0, "`zone_api.kube_proxy.port`"),
    ("zone_api.kube_proxy.context", KeyError, "`zone_api.kube_proxy.context`"),
    ("zone_api.url", "http://z", "`zone_api`"),  # both kube_proxy and url
    ("expect.dataplanes", "yes", "`expect.dataplanes`"),
    # The old shape, a count per mesh taken at export time, is refused: presence is checked live.
    ("expect.dataplanes", {"default": 3}, "`expect.dataplanes`"),
    ("expect.policies", {"type": "x"}, "`expect.policies`"),
    ("expect.policies.0", "MeshTimeout", "`expect.policies[0]`"),
    ("expect.policies.0.name", "", "`expect.policies[0].name`"),
    ("expect.policies.0.kind", "x", "`expect.policies[0].kind`"),
    ("timeout_seconds", 0, "`timeout_seconds`"),
    ("timeout_seconds", "600", "`timeout_seconds`"),
    ("interval_seconds", -1, "`interval_seconds`"),
    ("extra", 1, "`extra`"),
])
def test_errors_name_the_field(path: str, value: Any, named: str) -> None:
    with pytest.raises(SpecError) as error:
        CheckSpec.from_json(with_change(path, value))
    assert named in str(error.value)
    assert "tok-global-123" not in str(error.value)


def test_not_json() -> None:
    with pytest.raises(SpecError, match="not valid JSON"):
        CheckSpec.from_json("{zone: 1")
    with pytest.raises(SpecError, match="must be a JSON object"):
        CheckSpec.from_json("[]")


names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12).filter(str.strip)


@given(
    zone=names,
    token=st.none() | names,
    dataplanes=st.booleans(),
    policies=st.lists(st.tuples(names, st.none() | names, names), max_size=4),
    timeout=st.floats(0.001, 1e6),
)
def test_round_trip_property(zone: str, token: str | None, dataplanes: bool,
                             policies: list[tuple[str, str | None, str]], timeout: float) -> None:
    spec = CheckSpec.from_json({
        "zone": zone,
        "global_api": {"url": "http://g:5681", "token": token},
        "zone_api": {"kube_proxy": {"context": zone, "namespace": "ns", "service": "s",
                                    "port": 5681}},
        "expect": {"dataplanes": dataplanes,
                   "policies": [{"type": t, "mesh": m, "name": n} for t, m, n in policies]},
        "timeout_seconds": timeout,
    })
    assert CheckSpec.from_json(spec.to_json()) == spec


# -- reading a ZoneOverview ----------------------------------------------------


def test_overview_online_uses_the_last_subscription() -> None:
    seen = read_overview(overview("z", subscription("t0", "t1"), subscription("t2")), "z")
    assert seen.online and seen.connect_time == "t2"
    seen = read_overview(overview("z", subscription("t2"), subscription("t0", "t1")), "z")
    assert not seen.online and seen.reason == "disconnected at t1 (connected at t0)"


def test_overview_accepts_protobuf_style_timestamps() -> None:
    sub = {"connectTime": {"seconds": 1_800_000_000, "nanos": 5}}
    seen = read_overview({"zoneInsight": {"subscriptions": [sub]}}, "z")
    assert seen.online and seen.connect_time == "2027-01-15T08:00:00Z"


def test_overview_not_online_cases() -> None:
    assert read_overview(overview("z"), "z").reason == "no KDS subscription yet"
    assert read_overview({"name": "z"}, "z").reason == "no KDS subscription yet"
    disabled = read_overview(overview("z", subscription(), enabled=False), "z")
    assert not disabled.online and "disabled" in disabled.reason
    assert not read_overview(overview("z", subscription(connect=None)), "z").online


@pytest.mark.parametrize("body", [[], {"zoneInsight": []},
                                  {"zoneInsight": {"subscriptions": {}}},
                                  {"zoneInsight": {"subscriptions": [{"connectTime": 5}]}}])
def test_overview_of_the_wrong_shape(body: Any) -> None:
    with pytest.raises(UnexpectedAnswer):
        read_overview(body, "z")
