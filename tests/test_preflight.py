"""Preflight from the zone's own GET / and GET /config, before anything is registered."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from components.export.model import ControlPlaneInfo
from components.program import build
from components.rules.preflight import PreflightError, PreflightResult, preflight
from components.rules.products import version_tuple
from tests import factories
from tests.pulumi_harness import monitor_of, run_program

INFO = factories.export_result([]).control_plane


def check(info: ControlPlaneInfo = INFO, documents: Sequence[Mapping[str, Any]] | None = None,
          **config: Any) -> PreflightResult:
    cfg = factories.config(**config)
    docs = factories.standard_documents() if documents is None else documents
    return preflight(cfg, 0, cfg.zones[0], info, docs)


def test_a_standalone_zone_passes_with_its_documents():
    result = check()
    assert len(result.documents) == len(factories.standard_documents())
    assert not result.warnings


def test_a_global_control_plane_is_not_a_zone():
    with pytest.raises(PreflightError, match="is a global control plane"):
        check(dataclasses.replace(INFO, mode="global"))


def test_a_global_older_than_the_zone_is_refused():
    with pytest.raises(PreflightError) as error:
        check(dataclasses.replace(INFO, version="2.15.0"))
    assert "newer than chartVersion 2.14.3" in str(error.value)
    assert "mesh-federation:chartVersion" in str(error.value)


def test_an_older_zone_is_told_that_the_switch_also_upgrades_it():
    result = check(dataclasses.replace(INFO, version="2.12.1"))
    assert any("runs Kong Mesh 2.12.1: switching it to zone mode also upgrades it to chart 2.14.3" in w
               and "mesh-federation:chartVersion to 2.12.1" in w for w in result.warnings)
    greenfield = factories.config(zones=[{"name": "zone-1", "kubeContext": "mesh-zone",
                                          "install": "greenfield"}])
    fresh = preflight(greenfield, 0, greenfield.zones[0], dataclasses.replace(INFO, version="2.12.1"), [])
    assert not any("also upgrades" in w for w in fresh.warnings)


def test_a_zone_federated_to_another_global_is_refused():
    with pytest.raises(PreflightError, match="already federated to grpcs://other:5685"):
        check(dataclasses.replace(INFO, global_address="grpcs://other:5685"))


def test_a_zone_federated_to_this_global_is_idempotent():
    # What the global pushed down is left out by the export (tests/export/test_federated_zone.py).
    own = factories.standard_documents()
    result = check(dataclasses.replace(INFO, global_address="grpcs://host.minikube.internal:5685"),
                   documents=own)
    assert list(result.documents) == own
    assert "already federated" in result.warnings[0]


def test_renaming_the_default_zone_warns_about_kuma_12611():
    result = check(dataclasses.replace(INFO, zone_name="default"))
    assert any("kumahq/kuma#12611" in w and "zones[0].name to default" in w for w in result.warnings)


def test_an_empty_export_warns_and_continues():
    result = check(documents=[])
    assert any("export is empty" in w for w in result.warnings)


def test_another_system_namespace_is_reported():
    result = check(dataclasses.replace(INFO, system_namespace="kuma-system"))
    assert any("kuma-system" in w and "kong-mesh-system" in w for w in result.warnings)


@pytest.mark.parametrize(("text", "parsed"), [
    ("2.14.3", (2, 14, 3)), ("v2.10.1-rc.1", (2, 10, 1)), ("2.9", (2, 9, 0)), ("dev", ())])
def test_version_tuple(text, parsed):
    assert version_tuple(text) == parsed


def test_a_refused_zone_registers_nothing():
    cfg = factories.config()
    skewed = dataclasses.replace(factories.export_result(factories.standard_documents()),
                                 control_plane=dataclasses.replace(INFO, version="9.0.0"))
    def exporter(cfg_, zone, index):
        return skewed
    with pytest.raises(PreflightError) as error:
        run_program(lambda: build(cfg, exporter), preview=True)
    assert monitor_of(error.value).registrations == []


# Item: another global is noticed without global.kdsAddress too. The zone's `GET /config` says
# where it is federated (multizone.zone.globalAddress); this stack's global is at its zone-sync
# LoadBalancer address (the mock engine's 203.0.113.10), known once the release exists.
LOAD_BALANCER_URL = "grpcs://203.0.113.10:5685"


def _federated_run(global_address: str, *, preview: bool):
    cfg = factories.config(**{"global": {"kubeContext": "mesh-global"}}, kdsTls={"mode": "skipVerify"})
    result = factories.export_result(factories.standard_documents())
    federated = dataclasses.replace(result, control_plane=dataclasses.replace(
        result.control_plane, global_address=global_address))
    return run_program(lambda: build(cfg, lambda *a: federated).global_.kds_url, preview=preview)


def _touched_zone(monitor) -> list[str]:
    """What would change the zone or copy its objects: its upgrade, its token, the copies."""
    return [r.name for r in monitor.registrations
            if r.custom and not r.type.startswith("pulumi:providers:") and (
        r.name.startswith(("zone-zone-1", "zone-token-zone-1")) or r.parent.endswith("exported"))]


def test_without_kds_address_a_zone_of_another_global_is_refused_before_it_is_switched():
    # Raised from the registrations that wait on the comparison (a ValueError, as preflight's).
    with pytest.raises(ValueError) as error:
        _federated_run("grpcs://other:5685", preview=False)
    assert (f"already federated to grpcs://other:5685, not to this global ({LOAD_BALANCER_URL})"
            in str(error.value))
    assert _touched_zone(monitor_of(error.value)) == []


def test_without_kds_address_a_zone_of_this_global_passes():
    monitor = _federated_run(LOAD_BALANCER_URL, preview=False)
    assert "zone-zone-1-upgrade" in _touched_zone(monitor)


def test_without_any_address_to_compare_a_federated_zone_is_refused_unless_named():
    # A new global in preview: its address does not exist yet, so the zone's global is another.
    with pytest.raises(ValueError) as error:
        _federated_run("grpcs://other:5685", preview=True)
    assert "no address yet" in str(error.value) and "global.kdsAddress" in str(error.value)
    assert _touched_zone(monitor_of(error.value)) == []
    # Named: global.kdsAddress is that address, compared at program time.
    named_cfg = factories.config(**{"global": {"kubeContext": "mesh-global", "kdsAddress": "other:5685"}})
    named = preflight(named_cfg, 0, named_cfg.zones[0],
                      dataclasses.replace(INFO, global_address="grpcs://other:5685"),
                      factories.standard_documents())
    assert any("already federated" in w for w in named.warnings) and named.federated_to is None
