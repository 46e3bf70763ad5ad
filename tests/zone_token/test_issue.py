"""Issuing a zone token against a loopback global control plane (real HTTP, real statuses),
directly or through a stand-in `kubectl port-forward` (a script that prints what kubectl prints)."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from components.zone_token import TokenSpec, ZoneTokenError, issue_zone_token
from components.zone_token.cli import main
from tests.http_json import LoopbackHTTPServer

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJab25lIjoiem9uZS0xIiwiU2NvcGUiOlsiY3AiXX0.c2lnbmF0dXJl"
ADMIN = "global-admin-token"


# A Kong Mesh 2.x global's GET /config where zone authentication is on: the keys as Kong's
# kuma-migrator reads them from real /config answers (its preflight TestKDSAuthFindings).
KONG_MESH_ENFORCING = {"mode": "global",
                       "kmesh": {"multizone": {"global": {"kds": {"auth": {"type": "cpToken"}}}}}}


@dataclass
class FakeGlobal:
    """POST /tokens/zone as Kuma answers it: the bare token as text; GET /config: `config`."""

    status: int = 200
    body: str = TOKEN
    delay: float = 0.0  # seconds a POST waits before its answer, unless released
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    config: dict[str, Any] = field(default_factory=lambda: KONG_MESH_ENFORCING)


@pytest.fixture
def fake_global() -> Iterator[FakeGlobal]:
    fake = FakeGlobal()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            fake.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
            raw = json.dumps(fake.config).encode()
            self.send_response(200 if self.path == "/config" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fake.seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                              "body": json.loads(self.rfile.read(length) or b"null")})
            fake.release.wait(fake.delay)
            raw = fake.body.encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()


def spec(**overrides: Any) -> TokenSpec:
    # A ceiling for what passes (a fake kubectl is a Python process, slow to start on a loaded
    # machine); a test meant to time out sets a short one.
    base = TokenSpec(zone="zone-1", valid_for="720h", context="mesh-global", namespace="kong-mesh-system",
                     service="kong-mesh-control-plane", port=5681, url=None, token=ADMIN,
                     timeout_seconds=60.0)
    return replace(base, **overrides)


def fake_kubectl(tmp_path: Path, script: str) -> str:
    path = tmp_path / "kubectl"
    path.write_text(f"#!{sys.executable}\n{script}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def forwarding_kubectl(tmp_path: Path, port: int) -> str:
    """Prints what `kubectl port-forward` prints, records its arguments, then waits to be stopped."""
    return fake_kubectl(tmp_path, f"""
import os, sys, time, json, pathlib
pathlib.Path({str(tmp_path / 'argv.json')!r}).write_text(json.dumps(sys.argv[1:]))
pathlib.Path({str(tmp_path / 'pid')!r}).write_text(str(os.getpid()))
print("Forwarding from 127.0.0.1:{port} -> 5681", flush=True)
time.sleep(60)
""")


def test_the_global_issues_a_cp_scoped_token_for_the_zone(fake_global):
    token = issue_zone_token(spec(url=fake_global.url))
    assert token == TOKEN
    assert fake_global.seen == [{"path": "/config", "auth": f"Bearer {ADMIN}"},
                                {"path": "/tokens/zone", "auth": f"Bearer {ADMIN}",
                                 "body": {"zone": "zone-1", "scope": ["cp"], "validFor": "720h"}}]


def test_without_a_url_the_token_is_issued_through_kubectl_port_forward(fake_global, tmp_path):
    port = int(fake_global.url.rsplit(":", 1)[1])
    kubectl = forwarding_kubectl(tmp_path, port)
    token = issue_zone_token(spec(kubectl=kubectl, kubeconfig="/tmp/kc"))
    assert token == TOKEN
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv == ["--kubeconfig", "/tmp/kc", "--context", "mesh-global", "--namespace",
                    "kong-mesh-system", "port-forward", "--address", "127.0.0.1",
                    "svc/kong-mesh-control-plane", ":5681"]
    # The port-forward ends with the request: no kubectl is left running.
    with pytest.raises(ProcessLookupError):
        os.kill(int((tmp_path / "pid").read_text()), 0)


def test_without_an_admin_token_the_globals_admin_user_token_secret_is_read(fake_global):
    calls: list[dict[str, Any]] = []

    def read_admin_token(**where: Any) -> str:
        calls.append(where)
        return "from-the-secret"

    issue_zone_token(spec(url=fake_global.url, token=None), read_admin_token=read_admin_token)
    assert calls == [{"context": "mesh-global", "namespace": "kong-mesh-system", "kubeconfig": None}]
    assert fake_global.seen[0]["auth"] == "Bearer from-the-secret"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_admin_token_names_its_source_and_both_ways_out(fake_global, status):
    fake_global.status, fake_global.body = status, '{"title": "Unauthenticated"}'
    with pytest.raises(ZoneTokenError) as caught:
        issue_zone_token(spec(url=fake_global.url, zone_index=2))
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert "mesh-federation:global.api.token" in message
    assert "kumactl generate zone-token --zone zone-1 --scope cp --valid-for 720h" in message
    assert "mesh-federation:zones[2].zoneToken" in message
    assert ADMIN not in message


def test_a_failing_global_says_so_without_retrying_the_post(fake_global):
    fake_global.status, fake_global.body = 503, "upstream connect error"
    with pytest.raises(ZoneTokenError, match=r"HTTP 503.*Retry later"):
        issue_zone_token(spec(url=fake_global.url))
    assert [seen["path"] for seen in fake_global.seen] == ["/config", "/tokens/zone"]


def test_an_answer_that_is_not_a_token_is_refused_and_not_echoed(fake_global):
    fake_global.body = "<html>Kong Mesh GUI secret-looking-page</html>"
    with pytest.raises(ZoneTokenError, match="not a token") as caught:
        issue_zone_token(spec(url=fake_global.url))
    assert "secret-looking-page" not in str(caught.value)


def test_a_slow_global_ends_in_bounded_time(fake_global):
    # The global would answer after a minute: ended well before, within a bound no loaded
    # machine reaches.
    fake_global.delay = 60.0
    started = time.monotonic()
    with pytest.raises(ZoneTokenError, match="did not answer within 1s"):
        issue_zone_token(spec(url=fake_global.url, timeout_seconds=1.0))
    assert time.monotonic() - started < 30


def test_nothing_listening_names_the_address_and_the_key():
    with pytest.raises(ZoneTokenError, match=r"Cannot connect to http://127\.0\.0\.1:9/config.*"
                                             r"global\.api\.url"):
        issue_zone_token(spec(url="http://127.0.0.1:9"))


def test_kubectl_failing_to_forward_reports_kubectls_reason(tmp_path):
    kubectl = fake_kubectl(tmp_path, """
import sys
print('error: services "kong-mesh-control-plane" not found', file=sys.stderr)
sys.exit(1)
""")
    with pytest.raises(ZoneTokenError, match='services "kong-mesh-control-plane" not found'):
        issue_zone_token(spec(kubectl=kubectl))


def test_kubectl_that_never_forwards_is_stopped_in_bounded_time(tmp_path):
    # kubectl would print nothing for a minute: stopped well before, within a bound no loaded
    # machine reaches.
    kubectl = fake_kubectl(tmp_path, "import time\ntime.sleep(60)\n")
    started = time.monotonic()
    with pytest.raises(ZoneTokenError, match="no forwarded port within 1s"):
        issue_zone_token(spec(kubectl=kubectl, timeout_seconds=1.0))
    assert time.monotonic() - started < 30


def test_missing_kubectl_says_what_to_install_or_set():
    with pytest.raises(ZoneTokenError, match=r"not found: install kubectl, or set global\.api\.url"):
        issue_zone_token(spec(kubectl="/nonexistent/kubectl"))


def run_cli(spec_json: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(io.StringIO(spec_json), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_cli_prints_only_the_token_on_stdout(fake_global):
    payload = {"zone": "zone-1", "valid_for": "720h", "context": "g", "namespace": "ns",
               "service": "svc", "port": 5681, "url": fake_global.url, "token": ADMIN}
    code, out, err = run_cli(json.dumps(payload))
    assert (code, out) == (0, TOKEN + "\n")
    assert TOKEN not in err and ADMIN not in err


@pytest.mark.parametrize(("payload", "needle"), [
    ("not json", "not valid JSON"),
    (json.dumps({"zone": "z"}), "needs valid_for"),
    (json.dumps({"zone": "z", "valid_for": "1h", "context": "g", "namespace": "n", "service": "s",
                 "port": 5681, "colour": "red"}), "unknown keys: colour"),
])
def test_cli_refuses_a_bad_spec_with_nothing_on_stdout(payload, needle):
    code, out, err = run_cli(payload)
    assert code == 1 and out == ""
    assert needle in err


def test_cli_failure_leaves_stdout_empty(fake_global):
    fake_global.status = 401
    payload = {"zone": "zone-1", "valid_for": "720h", "context": "g", "namespace": "ns",
               "service": "svc", "port": 5681, "url": fake_global.url, "token": ADMIN}
    code, out, err = run_cli(json.dumps(payload))
    assert code == 1 and out == ""
    assert "HTTP 401" in err and ADMIN not in err




def test_the_admin_token_is_read_in_the_vouching_zones_cluster_when_named(fake_global):
    calls: list[dict[str, Any]] = []

    def read_admin_token(**where: Any) -> str:
        calls.append(where)
        return "zone-1-admin"

    issue_zone_token(spec(url=fake_global.url, token=None, token_context="mesh-zone-1"),
                     read_admin_token=read_admin_token)
    assert calls == [{"context": "mesh-zone-1", "namespace": "kong-mesh-system", "kubeconfig": None}]
    assert fake_global.seen[0]["auth"] == "Bearer zone-1-admin"


def test_a_refused_token_from_config_is_named_by_its_key(fake_global):
    fake_global.status = 401
    with pytest.raises(ZoneTokenError, match=r"refused mesh-federation:zones\[0\]\.api\.token"):
        issue_zone_token(spec(url=fake_global.url, token="t",
                              token_source="mesh-federation:zones[0].api.token"))


def test_kubectl_dying_during_the_request_reports_kubectls_reason(tmp_path):
    """kubectl printed its port, then lost the pod: nothing listens there any more."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    kubectl = fake_kubectl(tmp_path, f"""
import sys
print("Forwarding from 127.0.0.1:{dead_port} -> 5681", flush=True)
print("error: lost connection to pod", file=sys.stderr, flush=True)
sys.exit(1)
""")
    with pytest.raises(ZoneTokenError, match="ended during the request: error: lost connection to pod"):
        issue_zone_token(spec(kubectl=kubectl))


@pytest.mark.parametrize("config", [
    {"mode": "global"},
    {"mode": "global", "kmesh": {"multizone": {"global": {"kds": {"auth": {"type": "none"}}}}}},
    {"mode": "global", "multizone": {"global": {"kds": {"auth": {"type": "none"}}}}},
], ids=["kuma-without-auth", "kong-mesh-auth-none", "kuma-settings-auth-none"])
def test_a_global_that_does_not_require_zone_tokens_gets_no_request_for_one(fake_global, config):
    """Issue 11, item 12: a global that would let zones in without a token fails the run
    before any token is issued, so no zone switches to it unauthenticated."""
    fake_global.config = config
    with pytest.raises(ZoneTokenError) as caught:
        issue_zone_token(spec(url=fake_global.url))
    message = str(caught.value)
    assert "does not require zone tokens" in message
    assert "kmesh.multizone.global.kds.auth.type=" in message
    assert "KMESH_MULTIZONE_GLOBAL_KDS_AUTH_TYPE=cpToken" in message
    assert [seen["path"] for seen in fake_global.seen] == ["/config"]


def test_a_global_on_kumas_settings_that_requires_zone_tokens_issues_one(fake_global):
    """The names Kong Mesh 2.14.6+ mirrors its settings into (and 3.0 keeps)."""
    fake_global.config = {"mode": "global",
                          "multizone": {"global": {"kds": {"auth": {"type": "zoneToken"}}}}}
    assert issue_zone_token(spec(url=fake_global.url)) == TOKEN
