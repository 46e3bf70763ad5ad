"""Names Kuma 2.x accepts and 3.0 refuses (issue 11, item 11): warned now, naming the 3.0 rule."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from components.config import ConfigError
from components.rules.forward_compat import mesh_name_warnings
from tests import factories
from tests.pulumi_harness import run_program
from tests.test_program import program


def _zones(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "kubeContext": "mesh-zone", "api": {"url": "http://127.0.0.1:1"}}]


@pytest.mark.parametrize("name", ["1zone", "9-east", "0"])
def test_a_zone_name_starting_with_a_digit_federates_with_a_warning_naming_the_3_0_rule(name, caplog):
    cfg = factories.config(zones=_zones(name))
    [warning] = cfg.warnings
    assert "zones[0].name" in warning and repr(name) in warning
    assert "3.0" in warning and "RFC 1035" in warning
    with caplog.at_level(logging.WARNING):
        run_program(program(cfg, {name: factories.standard_documents()}), preview=True)
    assert warning in caplog.text


@pytest.mark.parametrize("name", ["zone-1", "z", "east-9"])
def test_an_rfc_1035_zone_name_is_not_warned_about(name):
    assert factories.config(zones=_zones(name)).warnings == ()


def test_a_name_that_is_not_even_dns_1123_is_still_refused():
    with pytest.raises(ConfigError, match="not a DNS-1123 label"):
        factories.config(zones=_zones("Zone_1"))


def test_an_exported_mesh_whose_name_3_0_refuses_is_warned_about(caplog):
    documents = [factories.mesh("default"), factories.mesh("2024-payments"),
                 factories.policy("timeout-0", mesh_name="2024-payments")]
    assert len(mesh_name_warnings(documents)) == 1
    with caplog.at_level(logging.WARNING):
        run_program(program(factories.config(), {"zone-1": documents}), preview=True)
    assert "Mesh '2024-payments' is not an RFC 1035 label" in caplog.text
    assert "3.0" in caplog.text
    assert "Mesh 'default'" not in caplog.text
