"""The command: YAML on stdout or in a file, only on success; diagnostics on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_zone import FakeZone
from zone_data import federation_with_policies_order, zone_objects

from tests.export.fake_kube_api import FakeKubeApi

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def zone(resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]) -> FakeZone:
    return zone_factory(resource_types, zone_objects(), token="zone-token")


def cli(*args: str, token: str | None = "zone-token") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUMA_API_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    if token is not None:
        env["KUMA_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "components.export", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def kinds_and_names(text: str) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(text)]


def test_prints_yaml_to_stdout(zone: FakeZone) -> None:
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system")
    assert done.returncode == 0, done.stderr
    assert kinds_and_names(done.stdout) == federation_with_policies_order()
    assert "MeshTimeout" in done.stderr  # the summary goes to stderr


def test_writes_file_only(zone: FakeZone, tmp_path: Path) -> None:
    out = tmp_path / "export.yaml"
    done = cli(
        "--api-url", zone.base_url, "--system-namespace", "kuma-system", "--output", str(out),
        "--profile", "federation", "--concurrency", "4", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert {k for k, _ in kinds_and_names(out.read_text())} == {"Mesh", "Secret", "TrafficPermission"}


def test_token_file(zone: FakeZone, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("zone-token\n")
    done = cli(
        "--api-url", zone.base_url, "--system-namespace", "kuma-system", "--token-file", str(token),
        token=None,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_wrong_token_prints_nothing(zone: FakeZone, tmp_path: Path) -> None:
    out = tmp_path / "export.yaml"
    done = cli(
        "--api-url", zone.base_url, "--system-namespace", "kuma-system", "--output", str(out),
        token="stale",
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stdout == ""
    assert "KUMA_API_TOKEN" in done.stderr and "401" in done.stderr
    assert "stale" not in done.stderr
    assert not out.exists()


def test_nothing_listening_prints_nothing() -> None:
    done = cli(
        "--api-url", "http://127.0.0.1:9", "--system-namespace", "kuma-system",
        "--retries", "0", "--connect-timeout", "1",
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stdout == ""
    assert "127.0.0.1:9" in done.stderr and "port-forward" in done.stderr


def test_failure_midway_prints_nothing(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]
) -> None:
    def broken(handler: Any, path: str, query: Any) -> bool:
        if path.endswith("/timeout-1234"):
            FakeZone._send(handler, 500, {"title": "Internal Server Error"})
            return True
        return False

    zone = zone_factory(resource_types, zone_objects(), fault=broken)
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system", "--retries", "0")
    assert done.returncode != 0
    assert done.stdout == ""
    assert "timeout-1234" in done.stderr and "HTTP 500" in done.stderr


def test_missing_token_file(zone: FakeZone) -> None:
    done = cli(
        "--api-url", zone.base_url, "--system-namespace", "kuma-system",
        "--token-file", "/nonexistent/token",
    )  # fmt: skip
    assert done.returncode != 0 and done.stdout == ""
    assert "/nonexistent/token" in done.stderr


def test_bad_arguments() -> None:
    done = cli("--api-url", "http://127.0.0.1:9", "--system-namespace", "x", "--profile", "nope")
    assert done.returncode == 2 and done.stdout == ""


@pytest.fixture
def kube_zone(resource_types: list[dict[str, Any]],
              zone_factory: Callable[..., FakeZone]) -> Iterator[FakeKubeApi]:
    """The same zone behind a Kubernetes API server; Kuma reads are anonymous through its proxy."""
    with FakeKubeApi(zone_factory(resource_types, zone_objects())) as api:
        yield api


def test_kube_context_prints_what_api_url_prints(zone: FakeZone, kube_zone: FakeKubeApi,
                                                 tmp_path: Path) -> None:
    config = kube_zone.kubeconfig(tmp_path / "kubeconfig")
    done = cli("--kube-context", "mesh-zone", "--kubeconfig", config,
               "--system-namespace", "kuma-system", token=None)
    assert done.returncode == 0, done.stderr
    assert done.stdout == cli("--api-url", zone.base_url, "--system-namespace", "kuma-system").stdout
    assert kinds_and_names(done.stdout) == federation_with_policies_order()
    assert not [r for r in kube_zone.zone.requests if "format=k8s" in r]


def test_kube_context_failures_print_nothing_and_name_the_fix(kube_zone: FakeKubeApi,
                                                              tmp_path: Path) -> None:
    config = kube_zone.kubeconfig(tmp_path / "kubeconfig")
    unknown = cli("--kube-context", "mesh-zoen", "--kubeconfig", config,
                  "--system-namespace", "kuma-system", token=None)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert "mesh-zoen" in unknown.stderr and "kubectl config get-contexts" in unknown.stderr
    kube_zone.forbidden.add(("list", "meshtimeouts"))
    out = tmp_path / "out.yaml"
    denied = cli("--kube-context", "mesh-zone", "--kubeconfig", config, "--output", str(out),
                 "--system-namespace", "kuma-system", token=None)
    assert denied.returncode == 1 and denied.stdout == "" and not out.exists()
    assert 'cannot list resource "meshtimeouts"' in denied.stderr
    assert "mesh-federation-zone-export" in denied.stderr and "nothing was exported" in denied.stderr


def test_api_url_and_kube_context_exclude_each_other(zone: FakeZone) -> None:
    done = cli("--api-url", zone.base_url, "--kube-context", "x", "--system-namespace", "kuma-system")
    assert done.returncode == 2 and "not allowed with argument" in done.stderr


def test_one_default_concurrency_for_the_program_the_cli_and_the_library() -> None:
    from components.config import parse_config
    from components.export import ExportOptions
    from components.export.cli import _parser

    cfg = parse_config({"global": {"kubeContext": "g", "kdsAddress": "kds"},
                        "zones": [{"name": "z", "kubeContext": "zc"}]})
    cli_default = _parser().parse_args(["--api-url", "http://u", "--system-namespace", "n"]).concurrency
    assert cfg.export_concurrency == cli_default == ExportOptions().concurrency
