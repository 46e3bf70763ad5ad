"""Kong Mesh zone authentication, as the program registers it: the global requires zone tokens,
each zone gets one (issued by the global, or given), in a Secret on the zone's cluster, before the
zone release; the token is a secret everywhere. Kong Mesh's own setting names on every 2.x."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from components.config import ConfigError, parse_config
from tests import factories
from tests.pulumi_harness import ISSUED_ZONE_TOKEN, RecordingMonitor, run_program
from tests.test_program import COMMAND, RELEASE, program
from tests.test_security import assert_nowhere_in_plaintext, federate

SECRET = "kubernetes:core/v1:Secret"
GIVEN_TOKEN = "eyJhbGciOiJSUzI1NiJ9.given-by-the-user.c2ln"
GLOBAL_ADMIN = "global-admin-do-not-leak"


def zone_values(monitor: RecordingMonitor, zone: str = "zone-1") -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(monitor.one(COMMAND, f"{zone}-upgrade").inputs["stdin"]))


@pytest.mark.parametrize("version", ["2.14.3", "2.14.6", "2.14.7"])
def test_every_2x_chart_gets_kong_meshs_own_setting_names(version):
    """Kong's docs give these names for 2.x and list them as removed only in 3.0 (Kong Mesh
    "Upgrade to 3.0.x"); the Kuma names that replace them are confirmed for no 2.x release by
    Kong's docs (only Kong's kuma-migrator says 2.14.6 reads both), so every 2.x gets these."""
    env, value = "KMESH_MULTIZONE_GLOBAL_KDS_AUTH_TYPE", "cpToken"
    zone_env = "KMESH_MULTIZONE_ZONE_KDS_AUTH_CP_TOKEN_PATH"
    monitor = federate(False, chartVersion=version)
    global_cp = monitor.one(RELEASE, "global").inputs["values"]["kuma"]["controlPlane"]
    assert global_cp["envVars"] == {env: value}
    zone_cp = zone_values(monitor)["kuma"]["controlPlane"]
    mount = "/var/run/secrets/mesh-federation/zone-token"
    assert zone_cp["envVars"] == {zone_env: f"{mount}/token"}
    assert zone_cp["extraSecrets"] == {"meshFederationZoneToken": {
        "name": "mesh-federation-zone-token", "mountPath": mount, "readOnly": True}}
    # Maps only: `helm upgrade --reuse-values` merges them with the zone's own values, where a
    # list (Kong's license docs set controlPlane.secrets as one) would be replaced.
    assert "secrets" not in zone_cp


def generation(monitor: RecordingMonitor, zone: str = "zone-1") -> str:
    annotations = zone_values(monitor, zone)["kuma"]["controlPlane"]["podAnnotations"]
    return cast(str, annotations["mesh-federation.kuma.io/zone-token-generation"])


def test_a_new_token_restarts_the_zone_and_nothing_else_does():
    """The zone reads its token when it starts: a new token must change the zone's values (pod
    annotation), known in preview; a re-run with the same settings must not."""
    base = generation(federate(False))
    assert generation(federate(False)) == base
    dev = {"kdsTls": {"mode": "skipVerify"}}  # with the generated CA, preview values are unknown
    assert generation(federate(True, **dev)) == generation(federate(False, **dev)), "known in preview"
    assert generation(federate(False, zoneAuth={"rotation": "2026-11-25"})) != base
    assert generation(federate(False, zoneAuth={"validFor": "720h"})) != base
    given = [{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1",
              "zoneToken": GIVEN_TOKEN}]
    other = [{**given[0], "zoneToken": GIVEN_TOKEN + "x"}]
    assert generation(federate(False, zones=given)) != generation(federate(False, zones=other))
    assert GIVEN_TOKEN not in json.dumps(zone_values(federate(False, zones=given)))


def test_the_issuer_reissues_on_rotation_not_on_a_changed_spec():
    issue = federate(False, zoneAuth={"rotation": "r1"}).one(COMMAND, "zone-token-zone-1-issue")
    assert issue.inputs["triggers"] == ["8760h", "r1"]
    assert issue.ignore_changes == ["stdin"]


@pytest.mark.parametrize("preview", [True, False])
def test_the_global_issues_the_token_after_its_release_and_the_zone_reads_it_from_a_secret(preview):
    monitor = federate(preview, **{"global": {"kubeContext": "mesh-global",
                                              "kdsAddress": "host.minikube.internal",
                                              "apiToken": GLOBAL_ADMIN}})
    issue = monitor.one(COMMAND, "zone-token-zone-1-issue")
    assert monitor.one(RELEASE, "global").urn in issue.dependencies
    assert issue.inputs["create"] == "sh components/run_module.sh components.zone_token"
    assert issue.inputs["logging"] == "stderr", "stdout is the token: never streamed to the console"
    assert "stdin" in issue.secret_paths()
    assert "stdout" in issue.secret_outputs, "the issued token is a secret in state"
    secret = monitor.one(SECRET, "zone-token-zone-1")
    assert secret.retain_on_delete, "destroy leaves the token of a zone that keeps running"
    assert secret.provider.startswith(monitor.one("pulumi:providers:kubernetes", "zone-zone-1").urn)
    assert secret.inputs["metadata"] == {"name": "mesh-federation-zone-token",
                                         "namespace": "kong-mesh-system"}
    assert secret.secret_paths(), "the token Secret's data is a Pulumi secret"
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    assert secret.urn in upgrade.dependencies, "the zone restarts only once its token is there"
    exported = [r for r in monitor.registrations if r.parent.endswith("exported")]
    signing_keys = [r for r in exported if "signing-key" in r.name]
    assert signing_keys and {r.urn for r in signing_keys} <= set(issue.dependencies), (
        "issued after the zone's signing keys replace the global's, so signed with the final key")
    assert not [r for r in exported if issue.urn in r.dependencies]
    assert_nowhere_in_plaintext(monitor, GLOBAL_ADMIN, ISSUED_ZONE_TOKEN)
    if not preview:
        spec = json.loads(issue.inputs["stdin"]["value"])
        assert spec == {"zone": "zone-1", "zone_index": 0, "valid_for": "8760h",
                        "context": "mesh-global", "namespace": "kong-mesh-system",
                        "service": "kong-mesh-control-plane", "port": 5681, "kubeconfig": None,
                        "url": None, "token": GLOBAL_ADMIN,
                        "token_source": "mesh-federation:global.api.token"}


def issuer_spec(monitor: RecordingMonitor, zone: str = "zone-1") -> dict[str, Any]:
    value = monitor.one(COMMAND, f"zone-token-{zone}-issue").inputs["stdin"]["value"]
    return cast(dict[str, Any], json.loads(value))


def test_without_global_api_token_the_zone_whose_signing_key_the_global_took_vouches():
    """Once zone-1's user-token signing key is on the global, zone-1's admin token is valid there
    (and the global's own is not): the issuer uses it, from config or from zone-1's cluster."""
    with_token = issuer_spec(federate(False))  # factories' zone-1 has apiToken zone-admin-token
    assert (with_token["token"], with_token["token_source"]) == (
        "zone-admin-token", "mesh-federation:zones[0].api.token")
    zones = [{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1"},
             {"name": "zone-2", "kubeContext": "mesh-zone-2", "apiUrl": "http://127.0.0.1:2"}]
    monitor = federate(False, zones=zones)
    for zone in ("zone-1", "zone-2"):
        spec = issuer_spec(monitor, zone)
        assert spec["token"] is None and spec["token_context"] == "mesh-zone", zone


def test_with_nothing_exported_the_global_vouches_for_itself():
    zones = [{"name": "zone-new", "kubeContext": "mesh-zone-new", "install": "greenfield"}]
    spec = issuer_spec(federate(False, zones=zones), "zone-new")
    assert spec["token"] is None and spec["token_context"] == "mesh-global"


def test_a_given_zone_token_skips_the_issuer_and_stays_secret():
    zones = [{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1",
              "apiToken": "zone-admin-token", "zoneToken": GIVEN_TOKEN}]
    monitor = federate(False, zones=zones)
    assert not [r for r in monitor.of_type(COMMAND) if r.name.endswith("-issue")]
    secret = monitor.one(SECRET, "zone-token-zone-1")
    assert secret.secret_paths()
    assert_nowhere_in_plaintext(monitor, GIVEN_TOKEN, "given-by-the-user")


def test_a_greenfield_zone_gets_its_namespace_before_the_token_secret():
    zones = [{"name": "zone-new", "kubeContext": "mesh-zone-new", "install": "greenfield"}]
    monitor = federate(False, zones=zones)
    namespace = monitor.one("kubernetes:core/v1:Namespace", "zone-token-zone-new")
    secret = monitor.one(SECRET, "zone-token-zone-new")
    assert namespace.urn in secret.dependencies
    assert secret.urn in monitor.one(RELEASE, "zone-zone-new").dependencies


def test_zone_auth_none_registers_no_token_and_no_auth_values():
    monitor = federate(False, zoneAuth={"mode": "none"})
    assert not monitor.of_type("mesh-federation:index:ZoneToken")
    assert "envVars" not in monitor.one(RELEASE, "global").inputs["values"]["kuma"]["controlPlane"]
    assert "secrets" not in zone_values(monitor)["kuma"]["controlPlane"]


def test_a_zone_going_back_to_standalone_needs_no_token():
    zones = [{"name": "zone-1", "kubeContext": "mesh-zone", "federated": False}]
    monitor = federate(False, zones=zones)
    assert not monitor.of_type("mesh-federation:index:ZoneToken")


def test_a_zones_stack_issues_tokens_from_the_global_it_references():
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global",
                           **{"global": {"kubeContext": "mesh-global", "apiToken": GLOBAL_ADMIN}})
    documents = {z.name: factories.standard_documents() for z in cfg.zones}
    monitor = run_program(program(cfg, documents), preview=False,
                          stack_outputs={"kdsUrl": "grpcs://kds.example.com:5685",
                                         "kdsCaCert": "-----BEGIN CERTIFICATE----- ref"})
    issue = monitor.one(COMMAND, "zone-token-zone-1-issue")
    assert not monitor.of_type(RELEASE), "no global release in a zones stack"
    spec = json.loads(issue.inputs["stdin"]["value"])
    assert (spec["context"], spec["token"]) == ("mesh-global", GLOBAL_ADMIN)


@pytest.mark.parametrize(("overrides", "needles"), [
    ({"product": "kuma", "zoneAuth": {"mode": "zoneToken"}},
     ["zoneAuth.mode", "Kuma 2.x has none", "zoneAuth.mode' none"]),
    ({"zoneAuth": {"mode": "mutualTls"}}, ["zoneAuth.mode", "'mutualTls' is unknown", "zoneToken or none"]),
    ({"zoneAuth": {"validFor": "1 year"}}, ["zoneAuth.validFor", "8760h"]),
    ({"zoneAuth": {"validFor": "0h"}}, ["zoneAuth.validFor", "positive duration"]),
    ({"zoneAuth": {"mode": "none"},
      "zones": [{"name": "zone-1", "kubeContext": "mesh-zone", "zoneToken": GIVEN_TOKEN}]},
     ["zones[0].zoneToken is set but zoneAuth.mode is none"]),
])
def test_bad_zone_auth_config_names_the_key_and_the_fix(overrides, needles):
    with pytest.raises(ConfigError) as caught:
        factories.config(**overrides)
    for needle in needles:
        assert needle in str(caught.value)
    assert GIVEN_TOKEN not in str(caught.value)


def test_kuma_defaults_to_no_zone_auth_and_kong_mesh_to_zone_tokens():
    kuma = parse_config({"product": "kuma", "global": {"kubeContext": "g", "kdsAddress": "kds"},
                         "zones": [{"name": "z", "kubeContext": "z"}]})
    assert kuma.zone_auth.mode == "none"
    assert factories.config().zone_auth.mode == "zoneToken"
