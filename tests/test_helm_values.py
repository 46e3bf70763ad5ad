"""Helm values per role and product, held against the kuma chart's own values.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from components.rules.helm_values import (
    KDS_AUTH_KONG_MESH_2X,
    ZoneTokenMount,
    deep_merge,
    global_values,
    zone_values,
)
from components.rules.products import KONG_MESH, KUMA, Product
from tests.upstream import upstream_path

CHART_VALUES = ["chart/values.yaml", "chart/values-v2.10.11.yaml"]


# Keys whose value is a free-form map in the chart (its values.yaml shows only a commented
# example): the chart ranges over whatever entries it is given.
FREE_FORM = {("controlPlane", "secrets"), ("controlPlane", "envVars"), ("controlPlane", "extraSecrets"),
             ("controlPlane", "podAnnotations")}


def key_paths(values: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf key path of a values tree, to hold against the chart's values.yaml."""
    paths: list[tuple[str, ...]] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            paths.extend(key_paths(value, (*prefix, key)))
        else:
            paths.append((*prefix, key))
    return paths


def chart_has(values: Any, path: tuple[str, ...]) -> bool:
    for depth, key in enumerate(path):
        if path[:depth] in FREE_FORM:
            return True
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    return True


def kuma_paths(product: Product, values: dict[str, Any]) -> list[tuple[str, ...]]:
    paths = key_paths(values)
    prefix = product.values_prefix
    assert all(p[: len(prefix)] == prefix for p in paths), "every value sits under the prefix"
    return [p[len(prefix):] for p in paths]


def role_values(product: Product) -> dict[str, dict[str, Any]]:
    return {
        "global": global_values(product, {}),
        "global-with-tls-and-license": global_values(
            product, {}, kds_server_secret="kds-server-tls", license_secret=("lic", "license.json")),
        "zone": zone_values(product, zone_name="zone-1", kds_global_url="grpcs://kds:5685",
                            kds_ca_cert=None, extra={}),
        "global-with-zone-auth": global_values(product, {}, kds_auth=KDS_AUTH_KONG_MESH_2X),
        "zone-with-token": zone_values(
            product, zone_name="zone-1", kds_global_url="grpcs://kds:5685", kds_ca_cert=None, extra={},
            zone_token=ZoneTokenMount(path_env=KDS_AUTH_KONG_MESH_2X.zone_token_path_env,
                                      secret="token-secret", key="token", generation="0123abcd")),
        "zone-verifying": zone_values(product, zone_name="zone-1", kds_global_url="grpcs://kds:5685",
                                      kds_ca_cert="-----BEGIN CERTIFICATE-----", extra={}),
        "standalone": zone_values(product, zone_name="zone-1", kds_global_url=None,
                                  kds_ca_cert=None, extra={}),
    }


@pytest.mark.parametrize("chart_file", CHART_VALUES)
@pytest.mark.parametrize("product", [KONG_MESH, KUMA], ids=lambda p: p.key)
def test_every_value_the_program_sets_exists_in_the_chart(product, chart_file):
    chart = yaml.safe_load(upstream_path(chart_file).read_text())
    for role, values in role_values(product).items():
        for path in kuma_paths(product, values):
            assert chart_has(chart, path), f"{role}: {'.'.join(path)} is not a key of {chart_file}"


def test_kong_mesh_values_sit_under_kuma_and_kuma_values_do_not():
    assert global_values(KONG_MESH, {}) == {
        "kuma": {"controlPlane": {"mode": "global", "defaults": {"skipMeshCreation": True}}}}
    assert global_values(KUMA, {}) == {
        "controlPlane": {"mode": "global", "defaults": {"skipMeshCreation": True}}}


def test_zone_values_follow_the_guide():
    values = zone_values(KUMA, zone_name="zone-1", kds_global_url="grpcs://1.2.3.4:5685",
                         kds_ca_cert=None, extra={})
    assert values == {
        "controlPlane": {"mode": "zone", "zone": "zone-1", "kdsGlobalAddress": "grpcs://1.2.3.4:5685",
                         "tls": {"kdsZoneClient": {"skipVerify": True, "create": False, "cert": ""}}},
        "ingress": {"enabled": True},
    }


def test_the_way_back_turns_the_zone_ingress_off_over_the_federated_values():
    """What --reset-then-reuse-values computes from the federated release and the standalone
    values: no global address, and the ingress the federation turned on, off again."""
    federated = zone_values(KUMA, zone_name="zone-1", kds_global_url="grpcs://1.2.3.4:5685",
                            kds_ca_cert=None, extra={})
    standalone = zone_values(KUMA, zone_name="zone-1", kds_global_url=None, kds_ca_cert=None,
                             extra={})
    reused = deep_merge(federated, standalone)
    assert reused["ingress"] == {"enabled": False}
    assert reused["controlPlane"]["kdsGlobalAddress"] == ""


def test_a_zone_going_from_a_ca_to_skip_verify_drops_the_ca():
    """The upgrade reuses the release's values: without saying so, a CA set by an earlier run
    would stay mounted (and read) after the switch to skipVerify."""
    verified = zone_values(KUMA, zone_name="zone-1", kds_global_url="grpcs://1.2.3.4:5685",
                           kds_ca_cert="-----BEGIN CERTIFICATE----- ca", extra={})
    skipped = zone_values(KUMA, zone_name="zone-1", kds_global_url="grpcs://1.2.3.4:5685",
                          kds_ca_cert=None, extra={})
    assert verified["controlPlane"]["tls"]["kdsZoneClient"] == {
        "skipVerify": False, "create": True, "cert": "-----BEGIN CERTIFICATE----- ca"}
    reused = deep_merge(verified, skipped)  # what --reset-then-reuse-values computes
    assert reused["controlPlane"]["tls"]["kdsZoneClient"] == {
        "skipVerify": True, "create": False, "cert": ""}


def test_the_way_back_clears_the_global_address():
    values = zone_values(KUMA, zone_name="zone-1", kds_global_url=None, kds_ca_cert=None, extra={})
    assert values["controlPlane"]["kdsGlobalAddress"] == ""
    assert values["controlPlane"]["mode"] == "zone"


def test_extra_values_merge_last_and_override():
    extra = {"kuma": {"controlPlane": {"replicas": 3, "defaults": {"skipMeshCreation": False}}}}
    values = global_values(KONG_MESH, extra)
    assert values["kuma"]["controlPlane"] == {
        "mode": "global", "replicas": 3, "defaults": {"skipMeshCreation": False}}


def test_deep_merge_changes_neither_input():
    base = {"a": {"b": 1}}
    override = {"a": {"c": 2}}
    assert deep_merge(base, override) == {"a": {"b": 1, "c": 2}}
    assert base == {"a": {"b": 1}} and override == {"a": {"c": 2}}
