"""Retries of transient answers and of failed connections are two budgets, set apart, the same way
for the command (`--status-retries`, `--connect-retries`) and the program
(`advanced.exportStatusRetries`, `advanced.exportConnectRetries`) (issue 12: "status and connect
retries counted separately"). urllib3's Retry(total=None, connect=..., status=...) counts each on its own
(urllib3/util/retry.py, Retry.increment); these tests hold the settings to reach it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fake_kube_api import FakeKubeApi
from fake_zone import FakeZone
from test_cli import cli
from zone_data import zone_objects

from components.clients.kuma_api import ApiTarget, KumaApiClient, KumaApiError, RetryPolicy
from components.config import ConfigError
from tests import factories

# Short waits (30 retries wait about 6 s at most): a storm of a fraction of a second stands
# for a restart.
QUICK = RetryPolicy(backoff_factor=0.02, backoff_max=0.2, backoff_jitter=0.0)
STORM = 4  # answers of 503 in a row


@pytest.fixture
def make_zone(resource_types: list[dict[str, Any]],
              zone_factory: Callable[..., FakeZone]) -> Callable[..., FakeZone]:
    def make(**kwargs: Any) -> FakeZone:
        return zone_factory(resource_types, zone_objects(), **kwargs)
    return make


def storm_of_503(zone_requests: Callable[[], list[str]], count: int) -> Callable[..., bool]:
    """The first `count` requests after `arm()` answer 503."""
    state = {"armed_at": -1}

    def fault(handler: Any, path: str, query: Any) -> bool:
        seen = len(zone_requests())
        if state["armed_at"] >= 0 and seen - state["armed_at"] <= count:
            FakeZone._send(handler, 503, {"title": "Service Unavailable"})
            return True
        return False

    def arm() -> None:
        state["armed_at"] = len(zone_requests())
    fault.arm = arm  # type: ignore[attr-defined]
    return fault


def refusing_for_a_while(zone: FakeZone, client: KumaApiClient, seconds: float) -> threading.Thread:
    """Nothing listens on the zone's port for `seconds`: every connection is refused (and the
    client keeps none alive from before)."""
    client.close()
    port = int(zone.base_url.rsplit(":", 1)[1])
    zone.stop()

    def restart() -> None:
        time.sleep(seconds)
        zone.start(port)
    thread = threading.Thread(target=restart, daemon=True)
    thread.start()
    return thread


def client_for(zone: FakeZone, *, status: int, connect: int) -> KumaApiClient:
    return KumaApiClient(ApiTarget(zone.base_url, retry=QUICK, status_retries=status,
                                   connect_retries=connect, connect_timeout=2.0, read_timeout=5.0))


def answered_once(client: KumaApiClient) -> None:
    """What follows comes after a first answer, as in an export."""
    client.get_json("/")


def test_many_status_retries_ride_out_503s_but_not_a_refused_connection(
        make_zone: Callable[..., FakeZone]) -> None:
    zone: FakeZone = make_zone()
    fault = storm_of_503(lambda: zone.requests, STORM)
    zone.fault = fault
    with client_for(zone, status=STORM + 2, connect=0) as client:
        answered_once(client)
        fault.arm()  # type: ignore[attr-defined]
        assert client.get_json("/")["version"] == zone.version
        restarted = refusing_for_a_while(zone, client, 0.5)
        with pytest.raises(KumaApiError) as refused:
            client.get_json("/")
    restarted.join()  # back up before the fixture stops it
    assert "Cannot connect" in str(refused.value) and "after" not in str(refused.value)


def test_many_connect_retries_ride_out_refusals_but_not_a_503(
        make_zone: Callable[..., FakeZone]) -> None:
    zone: FakeZone = make_zone()
    fault = storm_of_503(lambda: zone.requests, STORM)
    zone.fault = fault
    with client_for(zone, status=0, connect=30) as client:
        answered_once(client)
        refusing_for_a_while(zone, client, 0.5)
        assert client.get_json("/")["version"] == zone.version
        fault.arm()  # type: ignore[attr-defined]
        before = len(zone.requests)
        with pytest.raises(KumaApiError) as answered:
            client.get_json("/")
    assert answered.value.status == 503 and "after" not in str(answered.value)
    assert len(zone.requests) == before + 1  # the 503 was not retried


def test_retries_caps_every_kind_unless_a_kind_is_set_apart() -> None:
    """--retries N (every kind at most N) stays what it was; a kind set apart overrides it."""
    policy = ApiTarget("http://x", retries=2, status_retries=7).retry_policy()
    assert (policy.status, policy.connect, policy.read) == (7, 2, 2)
    policy = ApiTarget("http://x", connect_retries=0).retry_policy()
    assert (policy.status, policy.connect, policy.first_connect) == (RetryPolicy().status, 0, 0)


def test_the_command_sets_each_budget(make_zone: Callable[..., FakeZone]) -> None:
    """Through the command: every request's first answers are 503 (a control plane shedding
    load); only the status budget decides whether the export rides it out."""
    zone: FakeZone = make_zone(token="zone-token")
    fault = storm_of_503(lambda: zone.requests, 2)
    zone.fault = fault
    fault.arm()  # type: ignore[attr-defined]
    args = ("--api-url", zone.base_url, "--system-namespace", "kuma-system", "--quiet")
    done = cli(*args, "--retries", "0", "--status-retries", "4")
    assert done.returncode == 0, done.stderr
    fault.arm()  # type: ignore[attr-defined]
    done = cli(*args, "--retries", "4", "--status-retries", "0")
    assert done.returncode == 1 and "kept answering HTTP 503" in done.stderr
    assert done.stdout == ""


def test_the_program_sets_each_budget_from_its_config(monkeypatch: Any) -> None:
    from components import zone_exports

    seen = factories.recorded_export_targets(monkeypatch)
    cfg = factories.config(advanced={"exportStatusRetries": "20", "exportConnectRetries": 3})
    zone_exports.export_from_zone(cfg, cfg.zones[0], 0)
    policy = seen[0].retry_policy()
    assert (policy.status, policy.connect, policy.first_connect) == (20, 3, 3)
    # Not set: the default policy, which rides out a 30 s restart.
    default = factories.config()
    zone_exports.export_from_zone(default, default.zones[0], 0)
    assert seen[1].retry_policy() == RetryPolicy()


@pytest.mark.parametrize("key", ["exportStatusRetries", "exportConnectRetries"])
@pytest.mark.parametrize("value", ["-1", "abc", 1.5, True])
def test_a_bad_retry_count_names_its_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as error:
        factories.config(advanced={key: value})
    problems = error.value.problems
    assert any(problem.startswith(f"advanced.{key}") for problem in problems), problems


def test_the_command_sets_each_budget_through_the_kube_context_too(
        make_zone: Callable[..., FakeZone], tmp_path: Any) -> None:
    """--kube-context reaches the zone API through the API server's service proxy: the same
    budgets (and deadline, timeouts) apply there."""
    zone: FakeZone = make_zone()
    fault = storm_of_503(lambda: zone.requests, 2)
    zone.fault = fault
    with FakeKubeApi(zone) as api:
        fault.arm()  # type: ignore[attr-defined]
        done = cli("--kube-context", "mesh-zone", "--kubeconfig", api.kubeconfig(tmp_path / "k"),
                   "--system-namespace", "kuma-system", "--retries", "4", "--status-retries", "0",
                   token=None)
    assert done.returncode == 1 and "kept answering HTTP 503" in done.stderr
    assert done.stdout == ""
