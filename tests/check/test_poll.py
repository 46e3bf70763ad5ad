"""run_check against real HTTP servers whose state changes from poll to poll."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from components.check import CheckFailed, CheckResult, CheckSpec, DirectApi, run_check
from components.check.conditions import label_filter
from components.clients.kuma_api import ApiTarget, KumaApiClient
from tests import kuma_rules
from tests.check.fake_kuma import (
    FakeKuma,
    closed_port,
    dataplane,
    not_found,
    overview,
    policy,
    subscription,
)
from tests.upstream import upstream_path

ZONE = "zone-1"
OVERVIEW = f"/zones/{ZONE}/_overview"
DPS = "/meshes/default/dataplanes"
TIMEOUTS = "/meshes/default/meshtimeouts"
MTPS = "/meshes/default/meshtrafficpermissions"
ONLINE = overview(ZONE, subscription())
HASHED = "timeout-1-7f9c2b4d6e8a1c3b"


def make_spec(global_url: str, zone_url: str, *, dataplanes: bool = True,
              policies: list[dict[str, Any]] | None = None, timeout: float = 2.0) -> CheckSpec:
    return CheckSpec.from_json({
        "zone": ZONE,
        "global_api": {"url": global_url},
        "zone_api": {"url": zone_url},
        "expect": {"dataplanes": dataplanes,
                   "policies": policies if policies is not None else [
                       {"type": "MeshTimeout", "mesh": "default", "name": "timeout-1"},
                       {"type": "MeshTrafficPermission", "mesh": "default", "name": "allow-all"},
                   ]},
        "timeout_seconds": timeout,
        "interval_seconds": 0.02,
    })


class RoundClock:
    """The check's clock, moved only by its sleeps between rounds: a spec's timeout is then a
    number of rounds (timeout / interval), however long a loaded machine takes over each."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def check(spec: CheckSpec, lines: list[str] | None = None) -> CheckResult:
    def target(url: str) -> ApiTarget:
        # Generous: the fakes answer at once, unless the machine is loaded.
        return ApiTarget(base_url=url, retries=0, connect_timeout=10.0, read_timeout=30.0)

    assert isinstance(spec.global_api, DirectApi) and isinstance(spec.zone_api, DirectApi)
    clock = RoundClock()
    with KumaApiClient(target(spec.global_api.url)) as g, \
            KumaApiClient(target(spec.zone_api.url)) as z:
        return run_check(spec, global_client=g, zone_client=z,
                         progress=(lines.append if lines is not None else None),
                         clock=clock, sleep=clock.sleep)


def healthy_global(fake: FakeKuma) -> None:
    fake.route(OVERVIEW, lambda n: ONLINE)
    fake.list_route(DPS, lambda n: [dataplane(f"dp-{i}", "default", ZONE) for i in range(3)])
    fake.list_route(TIMEOUTS, lambda n: [
        policy("MeshTimeout", "default", HASHED, {"kuma.io/display-name": "timeout-1"})])
    fake.list_route(MTPS, lambda n: [policy("MeshTrafficPermission", "default", "allow-all")])


def zone_proxies(fake: FakeKuma, count: int = 3) -> None:
    """The zone's own mesh and data plane proxies, as the zone lists them."""
    fake.list_route("/meshes", lambda n: [{"type": "Mesh", "name": "default"}])
    fake.list_route(DPS, lambda n: [dataplane(f"dp-{i}", "default", ZONE) for i in range(count)])


def healthy_zone(fake: FakeKuma) -> None:
    zone_proxies(fake)
    fake.list_route(TIMEOUTS, lambda n: [
        policy("MeshTimeout", "default", HASHED, {"kuma.io/origin": "global"})])
    fake.list_route(MTPS, lambda n: [
        policy("MeshTrafficPermission", "default", "allow-all-x", {"kuma.io/origin": "global"})])


def test_zone_comes_online_and_resources_appear_later() -> None:
    # The global ignores the label filter and pages by 2: counting must read every page and
    # filter on the zone label itself.
    with FakeKuma(honour_label_filter=False) as glob, FakeKuma() as zone:
        glob.route(OVERVIEW, lambda n: not_found() if n <= 2 else
                   overview(ZONE) if n == 3 else ONLINE)
        glob.list_route(DPS, lambda n: [dataplane("other-1", "default", "zone-2"),
                                        dataplane("other-2", "default", "zone-2")]
                        + [dataplane(f"dp-{i}", "default", ZONE) for i in range(min(n - 1, 3))])
        glob.list_route(TIMEOUTS, lambda n: [] if n < 5 else [
            policy("MeshTimeout", "default", "timeout-1-other", {"kuma.io/display-name": "x"}),
            policy("MeshTimeout", "default", HASHED, {"kuma.io/display-name": "timeout-1"})])
        glob.list_route(MTPS, lambda n: [policy("MeshTrafficPermission", "default", "allow-all")])
        zone_proxies(zone)
        zone.list_route(TIMEOUTS, lambda n: [
            policy("MeshTimeout", "default", "local", {"kuma.io/origin": "zone"})] + ([] if n < 6 else [
                policy("MeshTimeout", "default", HASHED, {"kuma.io/origin": "global"})]))
        zone.list_route(MTPS, lambda n: [
            policy("MeshTrafficPermission", "default", "allow-all", {"kuma.io/origin": "global"})])
        lines: list[str] = []
        result = check(make_spec(glob.url, zone.url), lines).to_dict()

    assert result["zone"] == ZONE
    assert result["online"] is True
    assert result["connect_time"] == "2026-11-24T10:00:00Z"
    assert result["dataplanes"] == {"default": {"in_zone": 3, "on_global": 3}}
    assert result["policies_on_global"] == [
        {"type": "MeshTimeout", "mesh": "default", "name": "timeout-1", "name_on_global": HASHED},
        {"type": "MeshTrafficPermission", "mesh": "default", "name": "allow-all",
         "name_on_global": "allow-all"},
    ]
    assert result["policies_back_in_zone"] == {"applicable": True, "types": [
        {"type": "MeshTimeout", "mesh": "default", "count": 1},
        {"type": "MeshTrafficPermission", "mesh": "default", "count": 1}]}
    assert result["rounds"] == 6 == len(lines)
    assert result["elapsed_seconds"] >= 0
    assert "online: no (not registered on the global yet)" in lines[0]
    assert "online: no (no KDS subscription yet)" in lines[2]
    assert "dataplanes 0/1 meshes" in lines[0]
    assert "dataplanes 1/1 meshes" in lines[1]
    assert "policies on global 1/2" in lines[0]
    assert "policies back in zone: waiting (1/2 types)" in lines[0]
    assert lines[0].startswith(f"[{ZONE} ")
    assert "online: yes (1/2 rounds)" in lines[3]


def test_zone_never_online_fails_in_time_with_the_reason() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.route(OVERVIEW, lambda n: overview(
            ZONE, subscription("2026-11-24T10:00:00Z", "2026-11-24T10:05:00Z")))
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, timeout=0.5))
    message = str(failed.value)
    assert "zone online on the global: disconnected at 2026-11-24T10:05:00Z" in message
    assert list(failed.value.failures) == ["zone online on the global"]
    assert failed.value.rounds >= 2


def test_unregistered_zone_is_named_as_such() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.route(OVERVIEW, lambda n: not_found())
        with pytest.raises(CheckFailed, match="not registered on the global yet"):
            check(make_spec(glob.url, zone.url, timeout=0.3))


def test_global_answering_503_for_a_while_then_good_passes() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.outage = lambda n: 503 if n <= 6 else None
        lines: list[str] = []
        result = check(make_spec(glob.url, zone.url), lines)
    assert result.online
    assert any("503" in line and "online: unknown" in line for line in lines)
    assert result.rounds > 2


def test_global_down_for_the_whole_check_fails_naming_the_address() -> None:
    with closed_port() as port, FakeKuma() as zone:
        healthy_zone(zone)
        lines: list[str] = []
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(f"http://127.0.0.1:{port}", zone.url, timeout=0.5), lines)
    message = str(failed.value)
    assert f"127.0.0.1:{port}" in message
    online_why = failed.value.failures["zone online on the global"]
    assert online_why.startswith("global API: ")
    assert f"http://127.0.0.1:{port}/zones/{ZONE}/_overview" in online_why
    # One unreachable API is told once per round, not once per request.
    for title in ("dataplanes on the global", "policies on the global"):
        assert failed.value.failures[title] == (
            "not checked: the global API failed earlier in the round")
    # The zone side was reachable, so its own condition is judged on the zone's answer.
    assert "policies back in the zone" not in message
    assert lines and all("error:" in line for line in lines)


def test_flapping_zone_does_not_pass() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.route(OVERVIEW, lambda n: ONLINE if n % 2 else overview(
            ZONE, subscription(), subscription("2026-11-24T10:00:00Z", "2026-11-24T10:00:07Z", 2)))
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, timeout=0.5))
    why = failed.value.failures["zone online on the global"]
    assert "flapping" in why
    assert set(failed.value.failures) == {"zone online on the global"}


def test_missing_policy_on_global_is_named() -> None:
    policies = [{"type": "MeshTimeout", "mesh": "default", "name": "timeout-1"},
                {"type": "MeshTimeout", "mesh": "default", "name": "timeout-2"}]
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        # timeout-2 exists only under a hashed name without its display-name label: that is not
        # a match (names are never compared hashed).
        glob.list_route(TIMEOUTS, lambda n: [
            policy("MeshTimeout", "default", HASHED, {"kuma.io/display-name": "timeout-1"}),
            policy("MeshTimeout", "default", "timeout-2-5d8e0f1a2b3c4d5e")])
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, policies=policies, timeout=0.3))
    why = failed.value.failures["policies on the global"]
    assert why == "missing on the global: MeshTimeout default/timeout-2"


def test_policy_matched_by_exact_name_when_no_display_label() -> None:
    policies = [{"type": "MeshTimeout", "mesh": "default", "name": "timeout-1.kong-mesh-system"}]
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.list_route(TIMEOUTS, lambda n: [
            policy("MeshTimeout", "default", "timeout-1.kong-mesh-system")])
        result = check(make_spec(glob.url, zone.url, policies=policies))
    assert result.policies_on_global[0]["name_on_global"] == "timeout-1.kong-mesh-system"


def test_policies_not_back_in_zone_fail_naming_the_type() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        zone.list_route(MTPS, lambda n: [
            policy("MeshTrafficPermission", "default", "allow-all", {"kuma.io/origin": "zone"})])
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, timeout=0.3))
    assert failed.value.failures == {
        "policies back in the zone": "the zone lists no policy labelled kuma.io/origin=global "
                                     "for: MeshTrafficPermission in mesh default"}


def test_nothing_expected_reports_policies_back_not_applicable() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        lines: list[str] = []
        result = check(make_spec(glob.url, zone.url, dataplanes=False, policies=[]), lines)
    assert result.policies_back_in_zone == {"applicable": False,
                                            "reason": "no policies were expected"}
    assert result.dataplanes == {}
    assert "policies back in zone: not applicable" in lines[-1]
    assert zone.total == 0


def test_unknown_policy_type_fails_fast() -> None:
    policies = [{"type": "MeshTimeoutt", "mesh": "default", "name": "t"}]
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        with pytest.raises(CheckFailed, match="'MeshTimeoutt' is unknown to the global"):
            check(make_spec(glob.url, zone.url, policies=policies, timeout=30))


def test_failure_keeps_the_last_error_seen_next_to_the_last_answer() -> None:
    policies = [{"type": "MeshTimeout", "mesh": "default", "name": "timeout-9"}]
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.outage = lambda n: 503 if n <= 3 else None
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, policies=policies, timeout=0.3))
    why = failed.value.failures["policies on the global"]
    assert why.startswith("missing on the global: MeshTimeout default/timeout-9 (last error seen: "
                          "global API: ")
    assert "HTTP 503" in why
    assert set(failed.value.failures) == {"policies on the global"}


def test_a_refused_credential_fails_at_once_not_at_the_deadline() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.outage = lambda n: 401
        with pytest.raises(CheckFailed) as error:
            check(make_spec(glob.url, zone.url, timeout=60.0))
    assert "global API refused the check's credentials" in str(error.value)
    assert error.value.rounds == 0  # no waiting out the 60 s deadline


def _vector_request(case: str) -> str:
    """The request of an API server vector: its input's first line, `#<path?query> <status>`."""
    first = upstream_path(f"api-server-testdata/resources/crud/{case}.input.yaml").read_text()
    return first.splitlines()[0].lstrip("#").split()[0]


def test_the_label_filter_is_spelled_as_the_api_server_accepts_it() -> None:
    # The vector's filter, which Kuma answers 200, is the parameter the check builds for its key.
    query = parse_qs(urlsplit(_vector_request("list_dp_with_label_filter")).query)
    [(param, [value])] = query.items()
    key = param[param.index(".") + 1:-1]
    assert (key, value) == ("k8s.kuma.io/namespace", "ns1")
    assert label_filter(key) == param
    # ...and not the spelling of the vector Kuma answers 400.
    bad = next(iter(parse_qs(urlsplit(_vector_request("list_dp_with_label_filter_bad")).query)))
    assert label_filter(bad[bad.index(".") + 1:-1]) != bad


def test_a_400_ends_the_check_at_once_instead_of_waiting_out_the_timeout() -> None:
    """A 400 answers the request itself: polling again gets the same 400, so the check fails
    with Kuma's reason in the first round rather than as a timeout of a federation that works."""
    body = json.loads(upstream_path(
        "api-server-testdata/resources/crud/list_dp_with_label_filter_bad.golden.json").read_text())
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        glob.route(DPS, lambda n: (400, body))
        del glob.lists[DPS]
        healthy_zone(zone)
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, timeout=30.0))
    assert "HTTP 400" in str(failed.value)
    assert "filters are only supported on labels" in str(failed.value)
    assert glob.counts[DPS] == 1, "not asked again"


# -- data plane proxies: presence, read live from both sides --------------------------------


def test_a_scaled_down_zone_passes_with_the_proxies_it_has_now() -> None:
    """Three proxies at export time, one left when the check runs: the check looks for the
    zone's proxies as the zone lists them now, not for a count kept from the export."""
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        glob.list_route(DPS, lambda n: [dataplane("dp-0", "default", ZONE),
                                        dataplane("dp-9", "default", "zone-2")])
        healthy_zone(zone)
        zone_proxies(zone, count=1)
        result = check(make_spec(glob.url, zone.url))
    assert result.dataplanes == {"default": {"in_zone": 1, "on_global": 1}}


def test_a_mesh_whose_proxies_never_reach_the_global_is_named() -> None:
    # Only meshes where the zone has proxies count: "empty" has none and is not looked for.
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        glob.list_route(DPS, lambda n: [dataplane("dp-9", "default", "zone-2")])
        healthy_zone(zone)
        zone.list_route("/meshes", lambda n: [{"type": "Mesh", "name": "default"},
                                              {"type": "Mesh", "name": "empty"}])
        zone.list_route("/meshes/empty/dataplanes", lambda n: [])
        with pytest.raises(CheckFailed) as failed:
            check(make_spec(glob.url, zone.url, timeout=0.5))
    why = failed.value.failures["dataplanes on the global"]
    assert why == "mesh default: the zone lists 3 Dataplanes, the global none labelled " \
                  f"kuma.io/zone={ZONE}"
    assert glob.counts["/meshes/empty/dataplanes"] == 0


def test_a_mesh_not_yet_on_the_global_is_waited_for() -> None:
    """The global answers a list under a mesh it does not have yet with a 404 (vector
    list_mesh_doesnt_exist_not_found): not there yet, so the check keeps polling."""
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        del glob.lists[DPS]
        glob.route(DPS, lambda n: kuma_rules.mesh_not_found() if n <= 2 else
                   {"total": 1, "items": [dataplane("dp-0", "default", ZONE)], "next": None})
        healthy_zone(zone)
        lines: list[str] = []
        result = check(make_spec(glob.url, zone.url), lines)
    assert result.dataplanes == {"default": {"in_zone": 3, "on_global": 1}}
    assert "dataplanes 0/1 meshes" in lines[0]
