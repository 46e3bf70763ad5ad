"""Environments and split stacks: every stack file loads, and a zones stack reads the global's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.config import FederationConfig, parse_config
from components.program import build
from components.stack_outputs import outputs
from tests import factories
from tests.pulumi_harness import RecordingMonitor, monitor_of, run_program
from tests.test_program import COMMAND, RELEASE

ROOT = Path(__file__).resolve().parents[1]


def stack_config(name: str) -> FederationConfig:
    config = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
    raw = {k.split(":", 1)[1]: v for k, v in config.items()
           if k.startswith("mesh-federation:") and not (isinstance(v, dict) and "secure" in v)}
    return parse_config(raw)


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_environment_file_is_valid(name):
    cfg = stack_config(name)
    assert cfg.zones and cfg.global_.kube_context


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_environment_turns_default_kubernetes_providers_off(name):
    config = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
    assert "kubernetes" in config["pulumi:disable-default-providers"]


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_non_dev_environments_verify_kds_tls_and_pin_versions(name):
    text = (ROOT / f"Pulumi.{name}.yaml").read_text()
    cfg = stack_config(name)
    assert cfg.kds_tls.mode == "generated"
    assert cfg.zone_auth.mode == "zoneToken"  # zones authenticate to the global
    assert "mesh-federation:chartVersion" in text  # pinned in the file, not a default
    assert len(cfg.zones) >= 2
    assert "mesh-federation:license:" not in text or "secure:" in text


def test_prod_has_three_zones_on_their_own_clusters():
    cfg = stack_config("prod")
    contexts = {z.kube_context for z in cfg.zones}
    assert len(cfg.zones) == 3 and len(contexts) == 3
    assert cfg.global_.kube_context not in contexts


def test_a_global_stack_installs_the_global_and_exports_what_zones_need():
    cfg = factories.config(role="global", zones=[])
    holder = {}
    def program():
        federation = build(cfg, lambda *a: pytest.fail("a global stack exports no zone"))
        holder["outputs"] = outputs(cfg, federation)
        return holder["outputs"]["kdsUrl"]
    monitor = run_program(program, preview=False)
    assert [r.name for r in monitor.of_type(RELEASE)] == ["global-release"]
    assert not monitor.of_type("command:")
    assert {"kdsUrl", "kdsCaCert", "chartVersion", "zoneAuth"} <= set(holder["outputs"])


@pytest.mark.parametrize("preview", [True, False])
def test_a_zones_stack_reads_the_global_stack_and_installs_no_global(preview):
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global-prod",
                           **{"global": {"kubeContext": "mesh-global", "apiToken": "global-admin"}})
    documents = {"zone-1": factories.standard_documents()}
    def program():
        return build(cfg, lambda c, z, i: factories.export_result(documents[z.name])).global_.kds_url
    stack_outputs = {"kdsUrl": "grpcs://kds.mesh.example.com:5685",
                     "kdsCaCert": "-----BEGIN CERTIFICATE----- g"}
    monitor = run_program(program, preview=preview, stack_outputs=stack_outputs)
    assert not monitor.of_type(RELEASE)
    exported = [r for r in monitor.registrations if r.parent.endswith("exported")]
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    assert exported and {r.urn for r in exported} <= set(upgrade.dependencies)
    if not preview:
        values = json.loads(upgrade.inputs["stdin"])["kuma"]["controlPlane"]
        assert values["kdsGlobalAddress"] == "grpcs://kds.mesh.example.com:5685"
        assert values["tls"]["kdsZoneClient"]["cert"] == "-----BEGIN CERTIFICATE----- g"


def test_a_zones_stack_issuing_zone_tokens_needs_the_global_api_token():
    from components.config import ConfigError
    with pytest.raises(ConfigError) as error:
        factories.config(role="zones", globalStack="acme/mesh-federation/global-prod")
    assert "global.api.token is required in a zones stack with zoneAuth.mode zoneToken" in str(error.value)
    assert "zones[i].zoneToken" in str(error.value)
    given = [{"name": "zone-1", "kubeContext": "mesh-zone", "zoneToken": "eyJ.a.b"}]
    assert factories.config(role="zones", globalStack="g", zones=given).zone_auth.enabled


def test_a_zones_stack_needs_the_global_stack_name():
    from components.config import ConfigError
    with pytest.raises(ConfigError, match="globalStack is required with role zones"):
        factories.config(role="zones")


@pytest.mark.parametrize("preview", [True, False])
def test_a_zones_stack_that_disagrees_with_its_global_on_zone_auth_changes_nothing(preview):
    """The disagreement is only known once the global stack's outputs are read; by then nothing
    may have been copied to the global, issued by it or stored on a zone: a stack that stops
    there has changed nothing."""
    given = [{"name": "zone-1", "kubeContext": "mesh-zone", "zoneToken": "eyJ.given.token"},
             {"name": "zone-2", "kubeContext": "mesh-zone-2", "install": "greenfield"}]
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global-prod",
                           zones=given, **{"global": {"kubeContext": "mesh-global",
                                                       "apiToken": "global-admin"}})
    assert cfg.zone_auth.mode == "zoneToken"
    documents = {"zone-1": factories.standard_documents()}

    def program():
        return build(cfg, lambda c, z, i: factories.export_result(documents[z.name])).global_.kds_url
    stack_outputs = {"kdsUrl": "grpcs://kds.mesh.example.com:5685",
                     "kdsCaCert": "-----BEGIN CERTIFICATE----- g", "zoneAuth": "none"}
    with pytest.raises(Exception, match=r"global stack acme/mesh-federation/global-prod runs with "
                                        r"zoneAuth.mode none.*zoneAuth.mode' none") as caught:
        run_program(program, preview=preview, stack_outputs=stack_outputs)
    registered = monitor_of(caught.value).registrations
    assert [r.name for r in registered if r.parent.endswith("exported")] == []
    assert not [r for r in registered if r.type == COMMAND], "a token was issued or a zone upgraded"
    assert not [r for r in registered if r.type in (RELEASE, "kubernetes:core/v1:Secret",
                                                      "kubernetes:core/v1:Namespace")]
    # What it did register: the stack reference, providers and components, which change nothing.
    assert [r for r in registered if r.type == "pulumi:pulumi:StackReference"]


PROD_LICENSE = '{"license": {"payload": "prod-license-never-in-plaintext"}}'
PROD_ZONE_ADMIN = "prod-zone-admin-token-never-in-plaintext"


@pytest.mark.parametrize("preview", [True, False])
def test_the_production_stack_verifies_kds_tls_and_shows_no_secret_in_plaintext(preview, caplog):
    """Pulumi.prod.yaml as a user runs it (license and zone tokens set as secrets): KDS TLS is
    verified, zones authenticate, and no secret is in any registered input or in the log."""
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("mesh-federation:")}
    raw["license"] = PROD_LICENSE
    # Each zone its own control plane: one apiUrl for two zones is refused (issue 12).
    raw["zones"] = [{**zone, "apiUrl": f"http://127.0.0.1:{index + 1}", "apiToken": PROD_ZONE_ADMIN}
                    for index, zone in enumerate(raw["zones"])]
    cfg = parse_config(raw)
    documents = {zone.name: factories.standard_documents() for zone in cfg.zones}

    def program():
        federation = build(cfg, lambda c, z, i: factories.export_result(documents[z.name], z.name))
        return outputs(cfg, federation)["kdsUrl"]

    with caplog.at_level("DEBUG"):
        monitor = run_program(program, preview=preview)
    # The advice a skipVerify stack gets (rules/advice.py): not the key itself, which the values
    # view of every switch holds (`skipVerify: false`) and an earlier test's failure may quote.
    assert "kdsTls.mode is skipVerify" not in caplog.text
    for zone in cfg.zones:
        upgrade = monitor.one(COMMAND, f"zone-{zone.name}-upgrade")
        assert monitor.one(COMMAND, f"zone-token-{zone.name}-issue").urn in _token_secret_deps(
            monitor, zone.name)
        if not preview:
            client = json.loads(upgrade.inputs["stdin"])["kuma"]["controlPlane"]["tls"]["kdsZoneClient"]
            assert client["skipVerify"] is False and client["cert"].startswith("-----BEGIN CERTIFICATE")
    plaintext_needles = [PROD_LICENSE, "prod-license-never-in-plaintext", PROD_ZONE_ADMIN,
                         factories.SECRET_PLAINTEXT, "BEGIN PRIVATE KEY"]
    for registration in monitor.registrations:
        for needle in plaintext_needles:
            assert needle not in registration.plaintext(), (needle, registration.name)
    for needle in plaintext_needles:
        assert needle not in caplog.text


def _token_secret_deps(monitor: RecordingMonitor, zone: str) -> list[str]:
    return monitor.one("kubernetes:core/v1:Secret", f"zone-token-{zone}").dependencies


def _zones_stack_run(preview: bool, zones_chart: str, global_chart: str | None):
    """A zones stack (chartVersion `zones_chart`) whose global stack exports `global_chart`."""
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global-prod",
                           chartVersion=zones_chart,
                           **{"global": {"kubeContext": "mesh-global", "apiToken": "global-admin"}})
    documents = {"zone-1": factories.standard_documents()}

    def program():
        return build(cfg, lambda c, z, i: factories.export_result(documents[z.name])).global_.kds_url
    stack_outputs = {"kdsUrl": "grpcs://kds.mesh.example.com:5685",
                     "kdsCaCert": "-----BEGIN CERTIFICATE----- g", "zoneAuth": cfg.zone_auth.mode}
    if global_chart is not None:
        stack_outputs["chartVersion"] = global_chart
    return run_program(program, preview=preview, stack_outputs=stack_outputs)


@pytest.mark.parametrize("preview", [True, False])
def test_a_zones_stack_newer_than_its_global_changes_nothing(preview):
    """Kuma runs a global of its zones' version or newer: a team whose zones stack pins a newer
    chart than the global stack runs is stopped before anything is copied, issued or switched."""
    with pytest.raises(Exception, match=r"chartVersion is 2.14.3 here, newer than the 2.10.1 the "
                                        r"global stack acme/mesh-federation/global-prod runs.*"
                                        r"mesh-federation:chartVersion 2.10.1` in this stack") as caught:
        _zones_stack_run(preview, zones_chart="2.14.3", global_chart="2.10.1")
    registered = monitor_of(caught.value).registrations
    assert [r.name for r in registered if r.parent.endswith("exported")] == []
    assert not [r for r in registered if r.type == COMMAND], "a token was issued or a zone upgraded"
    assert not [r for r in registered if r.type in (RELEASE, "kubernetes:core/v1:Secret")]


@pytest.mark.parametrize(("zones_chart", "global_chart"),
                         [("2.14.3", "2.14.3"), ("2.14.3", "2.15.0"), ("2.14.3", None)])
def test_a_zones_stack_at_or_below_its_globals_version_federates(zones_chart, global_chart):
    """Same version, a newer global, or a global stack that does not say (made by an older
    version of this program): the zones switch to the global stack's KDS address."""
    monitor = _zones_stack_run(False, zones_chart=zones_chart, global_chart=global_chart)
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    values = json.loads(upgrade.inputs["stdin"])["kuma"]["controlPlane"]
    assert values["kdsGlobalAddress"] == "grpcs://kds.mesh.example.com:5685"


def test_a_global_stack_with_zones_listed_exports_none_and_reports_no_copies():
    # The zones listed are the zones stacks' to export and switch: a global stack builds the
    # global and returns before any copy is registered, so it must neither read those zones
    # (nor fail on them) nor report counts for copies it never made.
    cfg = factories.config(role="global")
    assert cfg.zones
    holder = {}
    def program():
        federation = build(cfg, lambda *a: pytest.fail("a global stack exports no zone"))
        holder["outputs"] = outputs(cfg, federation)
        return holder["outputs"]["kdsUrl"]
    monitor = run_program(program, preview=True)
    assert not [r for r in monitor.registrations if r.type.startswith("kubernetes:kuma.io")]
    assert all(zone["exported"] == {} for zone in holder["outputs"]["zones"].values())
