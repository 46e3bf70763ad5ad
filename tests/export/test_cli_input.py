"""The command under bad input and interruption: a usage error or a clear message, never a
traceback, never the token, never partial output (issue 12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_zone import FakeZone
from test_cli import REPO, cli
from zone_data import zone_objects

from tests.signals import default_interrupt_signals

TOKEN = "zone-token-Zm9vYmFyYmF6"


@pytest.fixture
def zone(resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]) -> FakeZone:
    return zone_factory(resource_types, zone_objects(), token=TOKEN)


@pytest.mark.parametrize("flag, value", [
    ("--read-timeout", "0"), ("--connect-timeout", "-1"), ("--read-timeout", "nan"),
    ("--retries", "-1"), ("--retries", "x"), ("--concurrency", "0"), ("--deadline", "0"),
])
def test_bad_numbers_are_usage_errors(flag: str, value: str) -> None:
    done = cli("--api-url", "http://127.0.0.1:9", "--system-namespace", "kuma-system", flag, value)
    assert done.returncode == 2 and done.stdout == ""
    assert flag in done.stderr and "Traceback" not in done.stderr


def test_an_api_url_without_a_scheme_is_a_usage_error() -> None:
    done = cli("--api-url", "localhost:5681", "--system-namespace", "kuma-system")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "http://localhost:5681" in done.stderr


@pytest.mark.parametrize("content", [
    f"{TOKEN}\n# rotated 2024-05-01\n", f"{TOKEN}\r\n{TOKEN}", f"{TOKEN}\rjunk", f"{TOKEN}\tjunk",
])
def test_a_token_file_with_a_second_line_is_refused_naming_the_file(
    zone: FakeZone, tmp_path: Path, content: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content, newline="")
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system",
               "--token-file", str(token_file), token=None)
    assert done.returncode == 1 and done.stdout == ""
    assert str(token_file) in done.stderr and "Traceback" not in done.stderr
    assert TOKEN not in done.stderr and "Zm9v" not in done.stderr


def test_a_token_file_ending_in_a_newline_works(zone: FakeZone, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\r\n", newline="")
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system",
               "--token-file", str(token_file), token=None)
    assert done.returncode == 0, done.stderr


def test_a_token_in_the_environment_with_a_newline_is_refused(zone: FakeZone) -> None:
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system",
               token=f"{TOKEN}\nsecond-line")
    assert done.returncode == 1 and "$KUMA_API_TOKEN" in done.stderr
    assert TOKEN not in done.stderr and "second-line" not in done.stderr


@pytest.mark.parametrize("api_url", [
    "http://opsuser:hunter2-secret@{address}",   # refused: 401, the URL in the message
    "http://opsuser:hunter2-secret@127.0.0.1:9",  # nothing listening
    "opsuser:hunter2-secret@{address}",          # no scheme: a usage error
])
def test_url_userinfo_is_never_printed(zone: FakeZone, api_url: str) -> None:
    url = api_url.format(address=zone.base_url.removeprefix("http://"))
    done = cli("--api-url", url, "--system-namespace", "kuma-system", "--retries", "0",
               token="stale")
    assert done.returncode != 0 and done.stdout == ""
    assert "hunter2" not in done.stderr and "opsuser" not in done.stderr, done.stderr


def test_an_empty_zone_is_said(resource_types: list[dict[str, Any]],
                               zone_factory: Callable[..., FakeZone]) -> None:
    empty = zone_factory(resource_types, [], token=TOKEN)
    done = cli("--api-url", empty.base_url, "--system-namespace", "kuma-system", token=TOKEN)
    assert done.returncode == 0 and done.stdout == ""
    assert "nothing to export" in done.stderr


def test_insecure_warns_once(zone: FakeZone) -> None:
    done = cli("--api-url", zone.base_url, "--system-namespace", "kuma-system", "--insecure",
               token=TOKEN)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("verification is disabled") == 1
    assert "InsecureRequestWarning" not in done.stderr
    # Said as the command's own line, not in Python's warning format with a source line.
    assert done.stderr.count("WARNING: TLS certificate verification is disabled") == 1
    assert "UserWarning" not in done.stderr and "cli.py" not in done.stderr, done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_export_exits_at_once_with_nothing(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone], tmp_path: Path,
    sig: signal.Signals,
) -> None:
    stuck = threading.Event()
    release = threading.Event()

    def hang(handler: Any, path: str, query: Any) -> bool:
        if "/meshtimeouts/" in path:
            stuck.set()
            release.wait(120)  # a read that would take the whole read timeout
        return False

    zone = zone_factory(resource_types, zone_objects(), fault=hang)
    out = tmp_path / "export.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUMA_API_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "components.export", "--api-url", zone.base_url,
         "--system-namespace", "kuma-system", "--read-timeout", "120", "-o", str(out)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_interrupt_signals)
    try:
        assert stuck.wait(60), "the export never reached the hanging reads"
        process.send_signal(sig)
        # "At once": well before the two-minute read it was waiting on would end (a bound no
        # loaded machine reaches; a command that waits the read out fails it).
        stdout, stderr = process.communicate(timeout=60)
    finally:
        release.set()
        process.kill()
    assert process.returncode == 130
    assert stdout == "" and "Traceback" not in stderr and "nothing was exported" in stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
