"""KDS TLS, the Kong Mesh license, the way back: registered as the security issue asks."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from tests import canaries, factories
from tests.pulumi_harness import RecordingMonitor, monitor_of, run_program
from tests.test_program import COMMAND, RELEASE, program

LICENSE = '{"license": {"payload": "do-not-leak-this-license"}}'
SERVER_KEY = "-----BEGIN PRIVATE KEY----- provided-do-not-leak"


def federate(preview: bool, **overrides: Any) -> RecordingMonitor:
    cfg = factories.config(**overrides)
    documents = {z.name: factories.standard_documents() for z in cfg.zones}
    return run_program(program(cfg, documents), preview=preview)


def assert_nowhere_in_plaintext(monitor: RecordingMonitor, *needles: str) -> None:
    for registration in monitor.registrations:
        text = registration.plaintext()
        for needle in needles:
            assert needle not in text, f"{needle!r} in plaintext inputs of {registration.name}"


@pytest.mark.parametrize("preview", [True, False])
def test_generated_kds_tls_is_installed_on_the_global_and_verified_by_zones(preview):
    monitor = federate(preview)
    secret = monitor.one("kubernetes:core/v1:Secret", "global-kds-server-tls")
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert "stringData" in secret.secret_paths() or "stringData.tls.key" in secret.secret_paths()
    release = monitor.one(RELEASE, "global")
    assert secret.urn in release.dependencies
    assert release.inputs["values"]["kuma"]["controlPlane"]["tls"]["kdsGlobalServer"] == {
        "secretName": "kds-server-tls"}
    request = monitor.one("tls:index/certRequest:CertRequest")
    assert request.inputs["dnsNames"] == ["host.minikube.internal"]
    assert_nowhere_in_plaintext(monitor, "BEGIN PRIVATE KEY")
    if not preview:
        values = json.loads(monitor.one(COMMAND, "zone-1-upgrade").inputs["stdin"])
        client = values["kuma"]["controlPlane"]["tls"]["kdsZoneClient"]
        assert client == {"skipVerify": False, "create": True,
                          "cert": "-----BEGIN CERTIFICATE----- kds-tls-ca"}


def test_an_ip_kds_address_gets_an_ip_san():
    monitor = federate(False, **{"global": {"kubeContext": "mesh-global", "kdsAddress": "10.1.2.3"}})
    request = monitor.one("tls:index/certRequest:CertRequest")
    assert request.inputs["ipAddresses"] == ["10.1.2.3"]
    assert "dnsNames" not in request.inputs


@pytest.mark.parametrize("preview", [True, False])
def test_provided_certificates_keep_the_key_secret(preview):
    tls = {"mode": "provided", "caCert": "-----BEGIN CERTIFICATE----- ca",
           "serverCert": "-----BEGIN CERTIFICATE----- server", "serverKey": SERVER_KEY}
    monitor = federate(preview, kdsTls=tls)
    assert not monitor.of_type("tls:")
    secret = monitor.one("kubernetes:core/v1:Secret", "global-kds-server-tls")
    assert secret.secret_paths()
    assert_nowhere_in_plaintext(monitor, SERVER_KEY, "provided-do-not-leak")


@pytest.mark.parametrize("preview", [True, False])
def test_license_is_a_secret_registered_before_the_global_release(preview):
    monitor = federate(preview, license=LICENSE)
    secret = monitor.one("kubernetes:core/v1:Secret", "global-license")
    assert secret.inputs["metadata"] == {"name": "kong-mesh-license", "namespace": "kong-mesh-system"}
    assert secret.secret_paths()
    release = monitor.one(RELEASE, "global")
    assert secret.urn in release.dependencies
    assert release.inputs["values"]["kuma"]["controlPlane"]["secrets"] == {
        "kongMeshLicense": {"Env": "KMESH_LICENSE_INLINE", "Secret": "kong-mesh-license",
                            "Key": "license.json"}}
    assert_nowhere_in_plaintext(monitor, "do-not-leak-this-license")


def test_without_a_license_the_program_says_what_kong_mesh_does(caplog):
    with caplog.at_level(logging.WARNING):
        federate(True)
    assert "bundled license (5 data plane proxies for 30 days)" in caplog.text


def test_skip_verify_is_said_as_a_warning_and_set_on_the_zone(caplog):
    with caplog.at_level(logging.WARNING):
        monitor = federate(False, kdsTls={"mode": "skipVerify"})
    assert "skipVerify" in caplog.text and "not for production" in caplog.text
    values = json.loads(monitor.one(COMMAND, "zone-1-upgrade").inputs["stdin"])
    assert values["kuma"]["controlPlane"]["tls"]["kdsZoneClient"] == {"skipVerify": True, "create": False,
                                                                     "cert": ""}
    assert not [r for r in monitor.registrations if r.name == "global-kds-server-tls"]


def test_the_way_back_returns_the_zone_to_standalone_without_uninstalling_it():
    zones = [{"name": "zone-1", "kubeContext": "mesh-zone", "federated": False}]
    cfg = factories.config(zones=zones)
    monitor = run_program(program(cfg, {}), preview=False)
    upgrade = monitor.one(COMMAND, "zone-zone-1-upgrade")
    values = json.loads(upgrade.inputs["stdin"])
    assert values["kuma"]["controlPlane"]["kdsGlobalAddress"] == ""
    assert values["kuma"]["controlPlane"]["mode"] == "zone"
    # Said, not left out: the upgrade reuses the release's values, so an ingress the federation
    # turned on would stay on, exposed to a global that is no longer there.
    assert values["kuma"]["ingress"] == {"enabled": False}
    assert "delete" not in upgrade.inputs  # destroy never uninstalls the zone
    assert not [r for r in monitor.registrations if r.name.startswith("check-")]
    assert not [r for r in monitor.registrations if r.parent.endswith("exported")]


@pytest.mark.parametrize(("tls", "words"), [
    ({"mode": "tofu"}, "kdsTls.mode: 'tofu' is unknown"),
    ({"mode": "provided"}, "kdsTls.caCert is required"),
    ({"mode": "provided", "caCert": "x", "serverCert": "y"}, "kdsTls.serverKey is required"),
    ({"mode": "certManager", "caCert": "x"}, "kdsTls.issuer is required with kdsTls.mode certManager"),
    ({"mode": "certManager", "issuer": "mesh-ca"}, "kdsTls.caCert is required with kdsTls.mode certManager"),
    ({"mode": "certManager", "issuer": "i", "caCert": "x", "issuerKind": "Vault"},
     "kdsTls.issuerKind: 'Vault' is unknown; use ClusterIssuer or Issuer"),
])
def test_bad_kds_tls_config(tls, words):
    with pytest.raises(ConfigError) as error:
        parse_config({"kdsTls": tls, "global": {"kubeContext": "g", "kdsAddress": "kds"},
                      "zones": [{"name": "z", "kubeContext": "c"}]})
    assert words in str(error.value)


CERT_MANAGER_TLS = {"mode": "certManager", "issuer": "mesh-ca",
                    "caCert": "-----BEGIN CERTIFICATE----- issuer-ca"}


@pytest.mark.parametrize("preview", [True, False])
def test_cert_manager_issues_the_kds_certificate_on_the_global_and_zones_trust_its_ca(preview):
    monitor = federate(preview, kdsTls=CERT_MANAGER_TLS)
    assert not monitor.of_type("tls:"), "no key is made outside the global's cluster"
    assert not [r for r in monitor.of_type("kubernetes:core/v1:Secret") if r.name == "global-kds-server-tls"]
    certificate = monitor.one("kubernetes:cert-manager.io/v1:Certificate")
    assert certificate.inputs["metadata"] == {
        "name": "kds-server-tls", "namespace": "kong-mesh-system",
        "annotations": {"pulumi.com/waitFor": "condition=Ready=True"}}
    assert certificate.inputs["spec"] == {
        "secretName": "kds-server-tls", "commonName": "host.minikube.internal",
        "dnsNames": ["host.minikube.internal"],
        "issuerRef": {"name": "mesh-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "usages": ["server auth", "digital signature", "key encipherment"]}
    assert certificate.provider.startswith(monitor.one("pulumi:providers:kubernetes", "global").urn)
    release = monitor.one(RELEASE, "global")
    assert certificate.urn in release.dependencies
    assert release.inputs["values"]["kuma"]["controlPlane"]["tls"]["kdsGlobalServer"] == {
        "secretName": "kds-server-tls"}
    if not preview:
        values = json.loads(monitor.one(COMMAND, "zone-1-upgrade").inputs["stdin"])
        assert values["kuma"]["controlPlane"]["tls"]["kdsZoneClient"] == {
            "skipVerify": False, "create": True, "cert": "-----BEGIN CERTIFICATE----- issuer-ca"}


def test_cert_manager_leaves_out_a_common_name_longer_than_64_characters():
    long_host = "kds." + "a" * 57 + ".example.com"
    monitor = federate(False, kdsTls=CERT_MANAGER_TLS,
                       **{"global": {"kubeContext": "mesh-global", "kdsAddress": long_host}})
    spec = monitor.one("kubernetes:cert-manager.io/v1:Certificate").inputs["spec"]
    assert spec["dnsNames"] == [long_host] and "commonName" not in spec


def test_cert_manager_with_an_ip_kds_address_asks_for_an_ip_san():
    monitor = federate(False, kdsTls={**CERT_MANAGER_TLS, "issuerKind": "Issuer"},
                       **{"global": {"kubeContext": "mesh-global", "kdsAddress": "10.1.2.3"}})
    spec = monitor.one("kubernetes:cert-manager.io/v1:Certificate").inputs["spec"]
    assert spec["ipAddresses"] == ["10.1.2.3"] and "dnsNames" not in spec
    assert spec["issuerRef"]["kind"] == "Issuer"


def test_generated_tls_needs_a_known_kds_address():
    with pytest.raises(ConfigError) as error:
        parse_config({"global": {"kubeContext": "g"}, "zones": [{"name": "z", "kubeContext": "c"}]})
    assert "kdsTls.mode generated needs global.kdsAddress" in str(error.value)


def test_license_is_for_kong_mesh_only():
    with pytest.raises(ConfigError) as error:
        parse_config({"product": "kuma", "license": "x", "kdsTls": {"mode": "skipVerify"},
                      "global": {"kubeContext": "g"}, "zones": [{"name": "z", "kubeContext": "c"}]})
    assert "license: only Kong Mesh" in str(error.value)


def test_a_failed_check_leaves_a_stack_that_a_rerun_completes():
    """The check fails `pulumi up` (its command's create fails, so it is not saved in state); a
    re-run registers every other resource with the same inputs (no change for the engine to
    make) and creates the check again, which now passes."""
    cfg = factories.config()
    documents = {z.name: factories.standard_documents() for z in cfg.zones}
    reason = "zone zone-1 is not online in the global control plane after 600s"
    with pytest.raises(Exception) as caught:
        run_program(program(cfg, documents), preview=False, failing={"check-zone-1-run": reason})
    assert reason in str(caught.value)
    failed = monitor_of(caught.value)
    second = run_program(program(cfg, documents), preview=False)

    def shape(monitor: RecordingMonitor, *, skip: str) -> list[tuple[str, str, str, list[str]]]:
        return sorted((r.type, r.name, r.plaintext(), sorted(r.dependencies))
                      for r in monitor.registrations if r.name != skip)

    assert shape(failed, skip="check-zone-1-run") == shape(second, skip="check-zone-1-run")
    rerun_check = second.one(COMMAND, "check-zone-1-run")
    assert second.one(COMMAND, "zone-1-upgrade").urn in rerun_check.dependencies


@pytest.mark.parametrize("preview", [True, False])
def test_kubectls_record_of_a_secret_never_reaches_the_state(preview: bool) -> None:
    """A Secret the user made with `kubectl apply` carries the whole Secret, data included, in
    its last-applied-configuration annotation: it is left out, the rest of the metadata stays."""
    provided_ca = factories.secret("provided-ca")
    provided_ca["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
            {"apiVersion": "v1", "kind": "Secret", "data": provided_ca["data"]}),
        "team": "payments",
    }
    documents = {"zone-1": [*factories.standard_documents(), provided_ca]}
    monitor = run_program(program(factories.config(), documents), preview=preview)
    secret = monitor.one("kubernetes:core/v1:Secret", "provided-ca")
    assert provided_ca["data"]["value"] not in secret.plaintext()
    assert factories.SECRET_PLAINTEXT not in secret.plaintext()
    assert secret.inputs["metadata"]["annotations"] == {"team": "payments"}


@pytest.mark.parametrize("preview", [True, False])
def test_the_globals_namespace_survives_a_run_without_certificates_or_license(preview: bool) -> None:
    """Issue 11, item 3: the namespace holds the running global, Helm's records and the copies
    that stay. One stack, two runs: the first with generated KDS TLS and a license, the second
    with neither. The namespace must be the same registration both times (so the engine never
    plans its delete) and retained, so not even a destroy takes the global with it."""
    first = federate(preview, license=LICENSE)
    second = federate(preview, kdsTls={"mode": "skipVerify"})
    namespaces = [run.one("kubernetes:core/v1:Namespace", "global-namespace")
                  for run in (first, second)]
    assert namespaces[0].urn == namespaces[1].urn
    for namespace, run in zip(namespaces, (first, second), strict=True):
        assert namespace.retain_on_delete
        assert namespace.inputs["metadata"]["name"] == "kong-mesh-system"
        assert namespace.urn in run.one(RELEASE, "global").dependencies


HELM_SECRET = "helm-value-do-not-leak"



@pytest.mark.parametrize("preview", [True, False])
@pytest.mark.parametrize("install", ["brownfield", "greenfield"])
def test_helm_values_set_as_secrets_stay_secrets_in_every_input(stack_config, preview, install):
    """Issue 11, item 10: `pulumi config set --secret --path 'zones[0].values...'` (and the
    same under global.values) never reaches the release's values or the upgrade's stdin in
    plaintext."""
    from components.config import load_config

    secret_values = {"kuma": {"controlPlane": {"envVars": {"KMESH_VAULT_TOKEN": HELM_SECRET}}}}
    stack_config({
        "global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                   "values": secret_values},
        "zones": [{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1",
                   "apiToken": "zone-admin-token", "install": install, "values": secret_values}],
    }, ["global", "zones"])
    cfg = load_config()
    monitor = run_program(program(cfg, {"zone-1": factories.standard_documents()}), preview=preview)
    assert_nowhere_in_plaintext(monitor, HELM_SECRET)
    zone = (monitor.one(RELEASE, "zone-1") if install == "greenfield"
            else monitor.one(COMMAND, "zone-1-upgrade"))
    global_release = monitor.one(RELEASE, "global")
    assert "values" in global_release.secret_paths()
    if install == "greenfield":
        assert "values" in zone.secret_paths()
    elif not preview:  # in a preview the stdin is unknown (the KDS address is)
        assert "stdin" in zone.secret_paths()


def test_helm_values_of_a_config_key_without_secrets_stay_visible(stack_config):
    """The other way: values in a key with no secret are not hidden from previews."""
    from components.config import load_config

    stack_config({
        "global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                   "values": {"kuma": {"controlPlane": {"logLevel": "debug"}}}},
        "zones": [{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1"}],
    }, [])
    cfg = load_config()
    monitor = run_program(program(cfg, {"zone-1": factories.standard_documents()}), preview=False)
    release = monitor.one(RELEASE, "global")
    assert release.secret_paths() == []
    assert release.inputs["values"]["kuma"]["controlPlane"]["logLevel"] == "debug"


@pytest.mark.parametrize("preview", [True, False])
@pytest.mark.parametrize("install", ["brownfield", "greenfield"])
def test_no_credential_reaches_the_values_view_its_stack_outputs_or_the_switch_line(
        stack_config: Any, preview: bool, install: str, caplog: pytest.LogCaptureFixture,
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22's new path: every credential the config holds (a zone token, an API token, the
    license, a Helm value set as a secret, and the API token copied under a harmless name, which
    the stack file holds in plaintext), in no registered input outside a secret, no stack output
    and no log line (conftest fails a test whose captured output holds a canary, too)."""
    from components.config import load_config
    from tests.test_values_view import SECURE, federate, secure_at, switch_view, write_stack_file

    values = {"kuma": {"controlPlane": {"envVars": {"KMESH_VAULT_TOKEN": canaries.TOKEN},
                                        "podAnnotations": {"copied": canaries.PASSWORD}}}}
    global_ = {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com", "values": values}
    zone: dict[str, Any] = {
        "name": "zone-1", "kubeContext": "mesh-zone", "install": install, "values": values,
        "api": {"url": "http://127.0.0.1:1", "token": canaries.PASSWORD},
        "zoneToken": f"zone-token-{canaries.TOKEN}"}
    in_file = secure_at(values, "kuma", "controlPlane", "envVars", "KMESH_VAULT_TOKEN")
    write_stack_file(tmp_path, monkeypatch, {
        "license": SECURE, "global": {**global_, "values": in_file},
        "zones": [{**zone, "values": in_file, "api": {**zone["api"], "token": SECURE},
                   "zoneToken": SECURE}]})
    stack_config({"license": f"license-{canaries.TOKEN}", "global": global_, "zones": [zone]},
                 ["license", "global", "zones"])
    with caplog.at_level(logging.INFO):
        monitor = federate(load_config(), preview=preview)
    shown = [json.dumps(monitor.stack_outputs()),
             *(json.dumps(r.inputs.get("triggers")) for r in monitor.of_type("command:")),
             *(r.plaintext() for r in monitor.registrations)]
    for text in shown:
        assert canaries.TOKEN not in text and canaries.PASSWORD not in text
    assert monitor.stack_outputs()["zones"]["zone-1"]["values"]["kuma"]["controlPlane"][
        "podAnnotations"]["copied"] == "[secret]"
    if install == "brownfield":
        assert "zone-1: standalone -> zone" in caplog.text
        assert switch_view(monitor)["kuma"]["controlPlane"]["zone"] == "zone-1"
