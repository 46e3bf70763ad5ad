"""The program's log lines go through the one masking path (issue 12: "one redaction path for
every message the program and its commands print")."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from components import log
from components.config import parse_config
from components.program import build
from tests import canaries, factories
from tests.pulumi_harness import run_program
from tests.test_end_to_end import TOKEN, serve_zone

REPO = Path(__file__).resolve().parents[1]


def test_a_zone_address_with_userinfo_is_masked_in_the_programs_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    """A real path: a zone already federated says where to in its /config
    (multizone.zone.globalAddress), and the program warns about it, quoting the address."""
    address = f"grpcs://kds:{canaries.PASSWORD}@kds.elsewhere.example.com:5685"
    with serve_zone(TOKEN) as zone:
        zone.global_address = address
        cfg = parse_config({"kdsTls": {"mode": "skipVerify"}, "global": {"kubeContext": "mesh-global"},
                            "zones": [{"name": "zone-1", "kubeContext": "mesh-zone",
                                       "apiUrl": zone.base_url, "apiToken": TOKEN}]})
        with caplog.at_level(logging.INFO), pytest.raises(Exception) as failure:
            # The zone is federated to another global: the program stops (preflight), after
            # saying where the zone is federated to.
            run_program(lambda: build(cfg), preview=True)
    assert "is already federated to grpcs://***@kds.elsewhere.example.com:5685" in caplog.text
    assert canaries.PASSWORD not in caplog.text
    assert canaries.PASSWORD not in str(failure.value)


def test_a_config_credential_in_a_log_line_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    cfg = factories.config(license=f"license-{canaries.TOKEN}", zones=[
        {"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1",
         "apiToken": canaries.TOKEN}])

    def program() -> None:
        log.mask_only(log.config_credentials(cfg))
        log.warn(f"zone-1 answered: unknown token {canaries.TOKEN}")
        log.info(f"license license-{canaries.TOKEN}")

    with caplog.at_level(logging.INFO):
        run_program(program, preview=True)
    assert "unknown token ***" in caplog.text and "license ***" in caplog.text
    assert canaries.TOKEN not in caplog.text


def test_the_program_logs_through_the_masking_helper_only() -> None:
    """Every log call under components/ is the helper's: a direct pulumi.log call would skip it."""
    direct = [f"{path.relative_to(REPO)}:{number}"
              for path in sorted((REPO / "components").rglob("*.py")) if path.name != "log.py"
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\bpulumi\.log\.|from pulumi import log\b", line)]
    assert direct == []
