"""`python -m components.check` end to end: spec on stdin, a subprocess, real HTTP servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.check.fake_kuma import FakeKuma
from tests.check.test_poll import ZONE, healthy_global, healthy_zone

REPO = Path(__file__).resolve().parents[2]
GLOBAL_TOKEN = "eyJhbGciOiJSUzI1NiJ9.global-secret-token"
ZONE_TOKEN = "eyJhbGciOiJSUzI1NiJ9.zone-secret-token"


# A check that passes ends as soon as it does: its timeout is a ceiling a loaded machine does
# not reach. Only a check meant to fail is given a short one.
def spec_json(global_url: str, zone_url: str, *, timeout: float = 60.0) -> str:
    return json.dumps({
        "zone": ZONE,
        "global_api": {"url": global_url, "token": GLOBAL_TOKEN, "ca_bundle": None,
                       "insecure": False},
        "zone_api": {"url": zone_url, "token": ZONE_TOKEN},
        "expect": {"dataplanes": True,
                   "policies": [{"type": "MeshTimeout", "mesh": "default", "name": "timeout-1"}]},
        "timeout_seconds": timeout,
        "interval_seconds": 0.02,
    })


def run(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "components.check", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def assert_no_token(*texts: str) -> None:
    for text in texts:
        # The token prefix too: a shortened message must not keep half a token.
        for secret in (GLOBAL_TOKEN, ZONE_TOKEN, "eyJhbGciOiJSUzI1NiJ9"):
            assert secret not in text


def test_passes_and_prints_one_json_result() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.route(f"/zones/{ZONE}/_overview", lambda n: (404, {"title": "not found"}) if n < 3
                   else {"zone": {"enabled": True}, "zoneInsight": {"subscriptions": [
                       {"connectTime": "2026-11-24T10:00:00Z"}]}})
        done = run(spec_json(glob.url, zone.url))
    assert done.returncode == 0, done.stderr
    out_lines = done.stdout.splitlines()
    assert len(out_lines) == 1
    result: dict[str, Any] = json.loads(out_lines[0])
    assert result["zone"] == ZONE and result["online"] is True
    assert result["dataplanes"] == {"default": {"in_zone": 3, "on_global": 3}}
    assert result["policies_on_global"][0]["name_on_global"].startswith("timeout-1-")
    assert result["policies_back_in_zone"]["applicable"] is True
    assert result["rounds"] >= 4 and "elapsed_seconds" in result
    progress = done.stderr.splitlines()
    assert len(progress) == result["rounds"]
    assert all(line.startswith(f"[{ZONE} ") for line in progress)
    assert "not registered on the global yet" in progress[0]
    # The tokens were sent, and never printed.
    assert f"Bearer {GLOBAL_TOKEN}" in glob.authorizations
    assert set(zone.authorizations) == {f"Bearer {ZONE_TOKEN}"}
    assert_no_token(done.stdout, done.stderr)


def test_fails_with_reasons_and_masks_a_token_echoed_by_the_server() -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        glob.outage = lambda n: 503
        glob.echo_auth = True
        done = run(spec_json(glob.url, zone.url, timeout=0.3))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "federation check of zone zone-1 failed" in done.stderr
    assert "zone online on the global: global API: " in done.stderr
    assert "HTTP 503" in done.stderr
    assert "***" in done.stderr  # the echoed Authorization header, masked
    assert_no_token(done.stdout, done.stderr)


def test_bad_spec_exits_2_naming_the_field() -> None:
    bad = json.loads(spec_json("http://127.0.0.1:1", "http://127.0.0.1:1"))
    bad["expect"]["policies"][0]["name"] = ""
    done = run(json.dumps(bad))
    assert done.returncode == 2
    assert "`expect.policies[0].name`" in done.stderr
    assert_no_token(done.stdout, done.stderr)


def test_spec_from_a_file(tmp_path: Path) -> None:
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)
        path = tmp_path / "spec.json"
        path.write_text(spec_json(glob.url, zone.url))
        done = run("", "--spec", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["online"] is True


# -- in process: the kube service-proxy route, target settings ----------------------


def kube_spec(global_url: str) -> str:
    data = json.loads(spec_json(global_url, "http://unused"))
    data["zone_api"] = {"kube_proxy": {"context": "mesh-zone-1", "namespace": "kong-mesh-system",
                                       "service": "kong-mesh-control-plane", "port": 5681}}
    return json.dumps(data)


def test_kube_proxy_target_is_used_with_no_retries(monkeypatch: Any) -> None:
    import io

    import components.clients.cluster_access
    from components.check import main
    from components.clients.kuma_api import ApiTarget

    kube_credential = "Bearer kube-sa-credential-0123456789"
    asked: list[dict[str, Any]] = []
    with FakeKuma() as glob, FakeKuma() as zone:
        healthy_global(glob)
        healthy_zone(zone)

        def fake_proxy_target(**kwargs: Any) -> ApiTarget:
            asked.append(kwargs)
            return ApiTarget(base_url=zone.url, headers={"Authorization": kube_credential},
                             retries=5)

        monkeypatch.setattr(components.clients.cluster_access, "service_proxy_target", fake_proxy_target)
        out, err = io.StringIO(), io.StringIO()
        code = main([], stdin=io.StringIO(kube_spec(glob.url)), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert asked == [{"context": "mesh-zone-1", "namespace": "kong-mesh-system",
                      "service": "kong-mesh-control-plane", "port": 5681, "kubeconfig": None}]
    assert set(zone.authorizations) == {kube_credential}
    assert json.loads(out.getvalue())["online"] is True
    assert "kube-sa-credential" not in out.getvalue() + err.getvalue()


def test_unusable_kube_context_exits_2(monkeypatch: Any) -> None:
    import io

    import components.clients.cluster_access
    from components.check import main

    def broken(**kwargs: Any) -> Any:
        raise components.clients.cluster_access.KubeAccessError(
            "kube context 'mesh-zone-1' could not be loaded")

    monkeypatch.setattr(components.clients.cluster_access, "service_proxy_target", broken)
    err = io.StringIO()
    code = main([], stdin=io.StringIO(kube_spec("http://127.0.0.1:1")), stdout=io.StringIO(),
                stderr=err)
    assert code == 2
    assert "kube context 'mesh-zone-1'" in err.getvalue()


def test_direct_targets_map_tls_settings_and_poll_without_retries() -> None:
    from components.check.cli import build_target
    from components.check.spec import DirectApi

    ca = build_target(DirectApi("https://g:5682", "t", ca_bundle="/ca.pem"), side="global",
                      timeout_seconds=600)
    assert (ca.verify, ca.retries, ca.token) == ("/ca.pem", 0, "t")
    assert ca.connect_timeout <= 5 and ca.read_timeout <= 15
    assert "global_api.token" in ca.token_source
    insecure = build_target(DirectApi("https://g:5682", insecure=True), side="zone",
                            timeout_seconds=2)
    assert insecure.verify is False and insecure.read_timeout <= 2
    assert build_target(DirectApi("http://g:5681"), side="zone", timeout_seconds=2).verify is True
