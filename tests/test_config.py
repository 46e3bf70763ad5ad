"""Stack configuration: every wrong input is refused, naming the key and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_config, parse_kds_address

ROOT = Path(__file__).resolve().parents[1]


def raw(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com"},
        "zones": [{"name": "zone-1", "kubeContext": "mesh-zone"}],
    }
    base.update(overrides)
    return base


def problems(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(config)
    return str(error.value)


def test_defaults():
    cfg = parse_config(raw())
    assert cfg.product.key == "kong-mesh"
    assert cfg.namespace == "kong-mesh-system"
    assert cfg.global_.release_name == "kong-mesh"
    assert cfg.export_profile == "federation-with-policies"
    assert cfg.chart_version.startswith("2.")
    assert cfg.zones[0].install == "brownfield"


def test_kuma_product_defaults():
    cfg = parse_config(raw(product="kuma"))
    assert (cfg.namespace, cfg.global_.release_name, cfg.product.chart) == ("kuma-system", "kuma", "kuma")


@pytest.mark.parametrize("name", ["Zone_1", "zone-", "-zone", "a" * 64, "zone.1"])
def test_zone_name_must_be_a_dns_label(name):
    message = problems(raw(zones=[{"name": name, "kubeContext": "c"}]))
    assert "zones[0].name" in message and "DNS-1123" in message


def test_duplicate_zone_names():
    message = problems(raw(zones=[{"name": "z", "kubeContext": "a"}, {"name": "z", "kubeContext": "b"}]))
    assert "zones[1].name" in message and "zones[0]" in message and "unique" in message


def test_zone_on_the_globals_cluster():
    message = problems(raw(zones=[{"name": "z", "kubeContext": "mesh-global"}]))
    assert "zones[0].kubeContext" in message and "cluster of its own" in message


def test_unknown_product_and_profile():
    message = problems(raw(product="istio", exportProfile="all"))
    assert "product: 'istio' is unknown" in message and "kong-mesh, kuma" in message
    assert "exportProfile: 'all' is unknown" in message


def test_missing_required_keys():
    message = problems({"zones": [{}]})
    assert "global.kubeContext is required" in message
    assert "zones[0].name is required" in message
    assert "zones[0].kubeContext is required" in message
    assert "pulumi config set --path" in message


def test_no_zones():
    assert "zones: at least one zone is required" in problems(raw(zones=[]))


def test_three_x_chart_is_refused_with_what_changed():
    message = problems(raw(chartVersion="3.0.0"))
    assert "chartVersion" in message
    for change in ("universal mode on PostgreSQL", "meshes[].ingress", "standalone mode is gone"):
        assert change in message


@pytest.mark.parametrize("version", ["3.0.0", "3.0.1", "v3.1.0"])
def test_a_three_x_chart_is_refused_saying_what_a_user_on_3_0_can_do_today(version):
    message = problems(raw(chartVersion=version))
    assert "this program federates 2.x" in message
    assert "chartVersion 2.14.7" in message and "2.13.12" in message
    assert "universal mode on PostgreSQL" in message and "by hand" in message


def test_the_default_chart_is_the_newest_2x_patch():
    """Kuma / Kong Mesh 2.14.7 is the newest 2.x (issue 11, item 13)."""
    assert parse_config(raw()).chart_version == "2.14.7"
    assert parse_config(raw(product="kuma", zoneAuth={"mode": "none"})).chart_version == "2.14.7"


def test_unknown_keys_are_named():
    message = problems(raw(zones=[{"name": "z", "kubeContext": "c", "apiURL": "x"}]))
    assert "zones[0].apiURL: unknown key" in message


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as error:
        parse_config({"product": "x", "zones": [{"name": "Bad"}]})
    assert len(error.value.problems) >= 4


@pytest.mark.parametrize(("text", "host", "port"), [
    ("host.minikube.internal", "host.minikube.internal", 5685),
    ("10.0.0.5:6000", "10.0.0.5", 6000),
    ("[2001:db8::1]:5685", "[2001:db8::1]", 5685),
])
def test_kds_address_forms(text, host, port):
    found: list[str] = []
    address = parse_kds_address(text, "global.kdsAddress", found)
    assert not found and address is not None
    assert (address.host, address.port) == (host, port)
    assert address.url == f"grpcs://{host}:{port}"


@pytest.mark.parametrize(("text", "words"), [
    ("grpcs://kds:5685", "has a scheme"),
    ("kds:99999", "port '99999'"),
    ("kds:abc", "port 'abc'"),
    ("kds host", "spaces"),
    ("kds_host!", "not a valid host"),
])
def test_bad_kds_addresses(text, words):
    message = problems(raw(**{"global": {"kubeContext": "g", "kdsAddress": text}}))
    assert "global.kdsAddress" in message and words in message


def test_dev_stack_file_is_valid():
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    cfg = parse_config({k.split(":", 1)[1]: v for k, v in stack.items() if k.startswith("mesh-federation:")})
    assert cfg.global_.kube_context == "mesh-global"
    assert cfg.zones[0].name == "zone-1" and cfg.zones[0].kube_context == "mesh-zone"
    assert cfg.global_.kds_address is not None and cfg.global_.kds_address.host == "host.minikube.internal"


def test_unknown_install_mode_and_role_name_the_accepted_values():
    message = problems(raw(role="regional", zones=[{"name": "zone-1", "kubeContext": "z",
                                                     "install": "bluegreen"}]))
    assert "zones[0].install: 'bluegreen' is unknown; use brownfield" in message
    assert "greenfield" in message
    assert "role: 'regional' is unknown; use all (one stack), global or zones" in message


def test_a_secret_of_the_wrong_type_is_not_echoed_in_the_error():
    license_object = {"license": {"payload": "do-not-echo-this-license"}}
    message = problems(raw(license=license_object, zones=[
        {"name": "zone-1", "kubeContext": "z", "apiToken": 424242424242, "zoneToken": ["tok-do-not-echo"]}]))
    assert "license: expected a string" in message and "zones[0].apiToken: expected a string" in message
    assert "zones[0].zoneToken: expected a string" in message
    for secret in ("do-not-echo-this-license", "424242424242", "tok-do-not-echo"):
        assert secret not in message


def test_a_ca_bundle_for_an_https_api_url(tmp_path: Path) -> None:
    """The control plane's own API certificate (port 5682) is self-signed: an https:// apiUrl
    needs the bundle that signed it. It must exist and goes only with an https:// apiUrl."""
    bundle = tmp_path / "cp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = parse_config(raw(
        zones=[{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "https://localhost:5682",
                "apiCaBundle": str(bundle)}],
        **{"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                      "apiUrl": "https://localhost:15682", "apiCaBundle": str(bundle)}}))
    assert cfg.zones[0].api_ca_bundle == str(bundle)
    assert cfg.global_.api_ca_bundle == str(bundle)
    said = problems(raw(zones=[
        {"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://localhost:5681",
         "apiCaBundle": str(bundle)},
        {"name": "zone-2", "kubeContext": "mesh-zone-2", "apiUrl": "https://localhost:5682",
         "apiCaBundle": str(tmp_path / "missing.pem")},
    ]))
    assert "zones[0].apiCaBundle is for an https:// zones[0].apiUrl" in said
    assert f"zones[1].apiCaBundle: no file at '{tmp_path / 'missing.pem'}'" in said


def test_a_name_override_is_refused_for_either_role() -> None:
    """It renames the Services and the Deployment the program reaches by the chart's names."""
    said = problems(raw(
        zones=[{"name": "zone-1", "kubeContext": "mesh-zone",
                "values": {"kuma": {"nameOverride": "mesh"}}}],
        **{"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                      "values": {"kuma": {"nameOverride": "mesh"}}}}))
    assert "global.values.kuma.nameOverride: renaming the chart's objects is not supported" in said
    assert "zones[0].values.kuma.nameOverride: renaming" in said
    assert "pulumi config rm --path 'mesh-federation:zones[0].values.kuma.nameOverride'" in said
    kuma = parse_config(raw(product="kuma", zones=[
        {"name": "zone-1", "kubeContext": "mesh-zone", "values": {"kuma": {"nameOverride": "x"}}}]))
    assert kuma.zones[0].values == {"kuma": {"nameOverride": "x"}}  # not the kuma chart's key
