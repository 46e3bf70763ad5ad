"""Bad input (issue 12): no secret in any message, config that would federate wrongly refused
before anything is registered, naming the key and the fix."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.clients.kuma_api import ApiTarget, KumaApiClient, KumaApiError
from components.config import TOP_LEVEL_KEYS, ConfigError, parse_config
from components.redaction import Redactor, redact_url
from tests import canaries
from tests.test_config import problems, raw

TOKEN = canaries.TOKEN
PASTED = [f"{TOKEN}\n# rotated 2024-05-01", f"{TOKEN}\r\nsecond", f"{TOKEN}\x00", f"{TOKEN} {TOKEN}"]


# -- credentials, checked where they enter --------------------------------------------------

@pytest.mark.parametrize("value", PASTED)
@pytest.mark.parametrize("key", ["apiToken", "zoneToken"])
def test_a_config_token_with_a_second_line_is_refused_naming_the_key(key: str, value: str) -> None:
    zone = {"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1", key: value}
    message = problems(raw(zones=[zone]))
    assert f"zones[0].{key}" in message and TOKEN not in message


def test_a_config_token_with_surrounding_whitespace_is_stripped() -> None:
    cfg = parse_config(raw(**{"global": {"kubeContext": "g", "kdsAddress": "kds.example.com",
                                         "apiToken": f"  {TOKEN}\n"}}))
    assert cfg.global_.api_token == TOKEN


@pytest.mark.parametrize("value", PASTED)
def test_the_client_refuses_a_token_with_a_line_break_without_showing_it(value: str) -> None:
    """http.client would raise ValueError("Invalid header value b'Bearer <token>...'")."""
    with pytest.raises(KumaApiError) as caught:
        KumaApiClient(ApiTarget("http://127.0.0.1:9", token=value, token_source="zones[0].api.token"))
    assert "zones[0].api.token" in str(caught.value) and TOKEN not in str(caught.value)


def test_the_admin_user_token_secret_is_checked(kubeconfig: str, monkeypatch: Any) -> None:
    from components.clients import cluster_access
    from tests import fake_kube

    monkeypatch.setattr(fake_kube, "SECRETS", [fake_kube.secret(
        "admin-user-token", "system.kuma.io/global-secret", f"{TOKEN}\n# rotated")])
    with pytest.raises(cluster_access.KubeAccessError) as caught:
        cluster_access.read_admin_token(context="mesh-zone", namespace=fake_kube.NS, kubeconfig=kubeconfig)
    assert "admin-user-token" in str(caught.value) and TOKEN not in str(caught.value)


def test_the_zone_token_issuer_never_prints_the_admin_token() -> None:
    from components.zone_token.cli import main

    spec = {"zone": "zone-1", "valid_for": "1h", "context": "g", "namespace": "ns", "service": "s",
            "port": 5681, "url": "http://127.0.0.1:9", "token": f"{TOKEN}\n# rotated",
            "token_source": "mesh-federation:global.api.token"}
    out, err = io.StringIO(), io.StringIO()
    assert main(stdin=io.StringIO(json.dumps(spec)), stdout=out, stderr=err) == 1
    assert out.getvalue() == "" and "global.api.token" in err.getvalue()
    assert TOKEN not in err.getvalue()


# -- URL userinfo ------------------------------------------------------------------------------

def test_url_userinfo_is_masked_in_client_errors() -> None:
    url = f"http://ops:{canaries.PASSWORD}@127.0.0.1:9"
    with KumaApiClient(ApiTarget(url, retries=0)) as client, pytest.raises(KumaApiError) as caught:
        client.get_json("/")
    assert canaries.PASSWORD not in str(caught.value) and canaries.PASSWORD not in caught.value.url
    assert "http://***@127.0.0.1:9" in str(caught.value)


def test_url_userinfo_is_masked_in_config_errors() -> None:
    message = problems(raw(zones=[{"name": "z", "kubeContext": "c",
                                   "api": {"url": f"ftp://ops:{canaries.PASSWORD}@host"}}]))
    assert "zones[0].api.url" in message and canaries.PASSWORD not in message


def test_one_redactor_masks_tokens_headers_and_userinfo() -> None:
    redact = Redactor([f"Bearer {TOKEN}"])
    text = redact(f"GET http://u:{canaries.PASSWORD}@h/x with Bearer {TOKEN} and {TOKEN}")
    assert TOKEN not in text and canaries.PASSWORD not in text
    assert redact_url("https://a@b/c https://x:y@z") == "https://***@b/c https://***@z"


# -- config that would federate wrongly ------------------------------------------------------

OWNED_ZONE = [
    (("controlPlane", "mode"), "standalone", "role"),
    (("controlPlane", "zone"), "other", "zones[0].name"),
    (("controlPlane", "kdsGlobalAddress"), "grpcs://x:5685", "global.kdsAddress"),
    (("controlPlane", "tls", "kdsZoneClient", "skipVerify"), True, "kdsTls.mode"),
    (("ingress", "enabled"), False, "zones[0].federated"),
]


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("path, value, instead", OWNED_ZONE)
def test_zone_values_that_set_what_federation_sets_are_refused(path: tuple[str, ...], value: Any,
                                                              instead: str) -> None:
    zone = {"name": "zone-1", "kubeContext": "mesh-zone", "values": _nested(("kuma", *path), value)}
    message = problems(raw(zones=[zone]))
    owned = path[:3] if path[1] == "tls" else path  # the whole kdsZoneClient map is the program's
    assert f"zones[0].values.kuma.{'.'.join(owned)}:" in message and instead in message


def test_global_values_setting_the_mode_are_refused() -> None:
    values = _nested(("kuma", "controlPlane", "mode"), "zone")
    message = problems(raw(**{"global": {"kubeContext": "g", "kdsAddress": "kds.example.com",
                                         "values": values}}))
    assert "global.values.kuma.controlPlane.mode" in message


@pytest.mark.parametrize("values", [{"kuma": "oops"}, {"kuma": ["a"]}, {"kuma": {"controlPlane": 3}}])
def test_values_replacing_the_chart_map_are_refused(values: dict[str, Any]) -> None:
    message = problems(raw(zones=[{"name": "zone-1", "kubeContext": "z", "values": values}]))
    assert "zones[0].values.kuma" in message and "object of Helm values" in message


def test_a_zone_going_back_may_set_its_ingress() -> None:
    zone = {"name": "zone-1", "kubeContext": "z", "federated": False,
            "values": {"kuma": {"ingress": {"enabled": False}}}}
    assert parse_config(raw(zones=[zone])).zones[0].federated is False


@pytest.mark.parametrize("typo, meant", [("kdsTLS", "kdsTls"), ("licence", "license"),
                                         ("zoneauth", "zoneAuth"), ("checks", "check"),
                                         ("zone", "zones")])
def test_top_level_typos_are_refused_with_the_nearest_key(typo: str, meant: str,
                                                          monkeypatch: Any) -> None:
    """Through load_config, as a stack holds them: every key of the namespace is read."""
    import pulumi.runtime

    from components.config import load_config

    config = {f"mesh-federation:{k}": json.dumps(v) for k, v in raw().items()}
    config[f"mesh-federation:{typo}"] = "x"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    pulumi.runtime.set_all_config({}, [])
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert f"{typo}: unknown key; did you mean {meant}?" in str(caught.value)


def test_two_zones_on_one_kube_context_or_api_url_are_refused() -> None:
    zones = [{"name": "a", "kubeContext": "c1", "apiUrl": "http://h:1"},
             {"name": "b", "kubeContext": "c1", "apiUrl": "http://h:2"},
             {"name": "c", "kubeContext": "c3", "apiUrl": "http://h:1/"}]
    message = problems(raw(zones=zones))
    assert "zones[1].kubeContext: 'c1' is also zones[0]'s" in message
    assert "zones[2].apiUrl: 'http://h:1' is also zones[0]'s" in message


@pytest.mark.parametrize("value", ["abc", "0", "-5", 0, 1.5, True])
def test_export_concurrency_is_a_positive_whole_number(value: Any) -> None:
    message = problems(raw(exportConcurrency=value))
    assert "exportConcurrency" in message


@pytest.mark.parametrize("value", ["nan", "inf", "1.5", 1.5, True, "true"])
def test_ready_timeout_is_a_whole_number(value: Any) -> None:
    message = problems(raw(**{"global": {"kubeContext": "g", "kdsAddress": "kds.example.com",
                                         "readyTimeoutSeconds": value}}))
    assert "global.readyTimeoutSeconds" in message


def test_the_export_deadline_is_a_config_key() -> None:
    assert parse_config(raw(exportDeadlineSeconds="90")).export_deadline_seconds == 90
    assert "exportDeadlineSeconds" in problems(raw(exportDeadlineSeconds="soon"))


@pytest.mark.parametrize("version", ["2.x", "2.14 .3", "2.14", "~2.14.0", " 2.14.3"])
def test_the_chart_version_must_be_exact(version: str) -> None:
    assert "chartVersion" in problems(raw(chartVersion=version))


@pytest.mark.parametrize("address, says", [
    ("::1", "bare IPv6"), ("2001:db8::1", "bare IPv6"), ("host:", "gives no port"),
    ("kds..example.com", "none empty"), ("[::1", "does not close"), ("[::1]:", "gives no port"),
])
def test_each_bad_kds_address_has_one_accurate_message(address: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw(**{"global": {"kubeContext": "g", "kdsAddress": address}}))
    assert len(caught.value.problems) == 1, caught.value.problems
    assert says in caught.value.problems[0] and "global.kdsAddress" in caught.value.problems[0]


@pytest.mark.parametrize("address", ["[::1]", "[2001:db8::1]:5685", "kds.example.com:443"])
def test_good_kds_addresses_pass(address: str) -> None:
    assert parse_config(raw(**{"global": {"kubeContext": "g", "kdsAddress": address}}))


def test_the_suggested_zone_name_is_not_another_zones() -> None:
    zones = [{"name": "zone-1", "kubeContext": "a"}, {"name": "Zone_1", "kubeContext": "b"}]
    message = problems(raw(zones=zones))
    assert "rename it, e.g. 'zone-1-2'" in message


def test_zones_given_as_an_object_says_so() -> None:
    message = problems(raw(zones={"name": "zone-1", "kubeContext": "z"}))
    assert "zones: expected a list of zones, got an object" in message
    assert "at least one zone is required" not in message


# -- property: any JSON under any key parses, or is refused naming the key -----------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
PATHS = [(k,) for k in sorted(TOP_LEVEL_KEYS)] + [
    ("global", k) for k in ("kubeContext", "kdsAddress", "apiUrl", "apiToken", "readyTimeoutSeconds",
                            "values", "releaseName")] + [
    ("zones", 0, k) for k in ("name", "kubeContext", "apiUrl", "apiToken", "install", "federated",
                              "values", "zoneToken")] + [
    ("check", k) for k in ("enabled", "timeoutSeconds", "intervalSeconds")] + [
    ("kdsTls", k) for k in ("mode", "caCert", "issuerKind")] + [("zoneAuth", k) for k in ("mode", "validFor")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSON)
def test_any_json_under_any_key_parses_or_names_the_key(path: tuple[Any, ...], value: Any) -> None:
    config: Any = raw()
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    try:
        parse_config(config)
    except ConfigError as error:
        key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        assert any(key in problem for problem in error.problems), (key, error.problems)


def test_no_canary_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Everything above logged nothing secret; a log line with a token masks it."""
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("x").warning(Redactor([TOKEN])(f"token {TOKEN}"))
    assert TOKEN not in caplog.text
    assert base64.b64encode(TOKEN.encode()).decode() not in caplog.text


def test_the_program_gives_each_zone_export_its_deadline(monkeypatch: Any) -> None:
    from components import zone_exports
    from tests import factories

    seen = factories.recorded_export_targets(monkeypatch)
    cfg = factories.config(exportDeadlineSeconds=42)
    zone_exports.export_from_zone(cfg, cfg.zones[0], 0)
    assert seen[0].deadline_seconds == 42
    assert seen[0].deadline_setting == "mesh-federation:exportDeadlineSeconds"


def test_url_userinfo_is_masked_in_program_errors_and_outputs() -> None:
    """Errors the program raises and its stack outputs show a URL without its userinfo (issue
    12: "redact userinfo everywhere a URL is shown")."""
    import dataclasses

    from components.rules.preflight import PreflightError, preflight
    from components.stack_outputs import outputs
    from tests import factories

    url = f"http://ops:{canaries.PASSWORD}@zone.example:5681"
    cfg = factories.config(zones=[{"name": "zone-1", "kubeContext": "mesh-zone", "api": {"url": url}}],
                           **{"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example",
                                        "api": {"url": url}}})
    info = dataclasses.replace(factories.export_result([]).control_plane, mode="global")
    with pytest.raises(PreflightError) as refused:
        preflight(cfg, 0, cfg.zones[0], info, [])
    assert "http://***@zone.example:5681" in str(refused.value)
    assert canaries.PASSWORD not in str(refused.value)

    from types import SimpleNamespace

    nothing_run = SimpleNamespace(documents={}, checks={}, zones={},
                                  global_=SimpleNamespace(kds_url="grpcs://k:5685", kds_ca_cert=None,
                                                          shown_values=None))
    shown = outputs(cfg, nothing_run)  # type: ignore[arg-type]  # only what outputs reads
    assert canaries.PASSWORD not in json.dumps({k: v for k, v in shown.items() if isinstance(v, str)})
    assert shown["globalApiUrl"] == "http://***@zone.example:5681"


# -- property: a credential set without --secret is refused, its value never shown ---------------

CREDENTIAL_PATHS: list[tuple[Any, ...]] = [
    ("license",), ("global", "api", "token"), ("global", "apiToken"), ("zones", 0, "api", "token"),
    ("zones", 0, "apiToken"), ("zones", 0, "zoneToken"), ("kdsTls", "serverKey"),
    ("zones", 0, "values", "kuma", "controlPlane", "envVars", "KUMA_STORE_POSTGRES_PASSWORD"),
    ("global", "values", "kuma", "controlPlane", "tls", "kdsGlobalServer", "key"),
]
# Any value, every text in it carrying the canary: whatever shape a user pastes.
CANARY_JSON = st.recursive(
    st.text(max_size=12).map(lambda text: f"{TOKEN}{text}"),
    lambda inner: st.lists(inner, min_size=1, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, min_size=1, max_size=3)
    # `{secure: <text>}` is Pulumi's own secure envelope: no one can write it as a plain value.
    .filter(lambda value: not (len(value) == 1 and isinstance(value.get("secure"), str))),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(CREDENTIAL_PATHS), value=CANARY_JSON,
       others=st.sampled_from([{}, {"exportProfile": "everything"}, {"chartVersion": "2.x"}]),
       beside_a_secret=st.booleans())
def test_a_plaintext_credential_is_refused_and_never_shown(path: tuple[Any, ...], value: Any,
                                                            others: dict[str, Any],
                                                            beside_a_secret: bool) -> None:
    """Set without --secret, beside other mistakes or none: refused naming its key, and no
    message holds any part of the value. Either its top-level key is not a Pulumi secret, or it
    is (another value inside was set with --secret) and the stack file writes this one plainly."""
    import tempfile
    from pathlib import Path

    import pulumi
    import pulumi.runtime
    import yaml

    from components.config import load_config

    config: Any = raw()
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    config.update(others)
    through_file = beside_a_secret and path[0] != "license"  # a plain key: the engine knows
    pulumi.runtime.set_all_config(
        {f"mesh-federation:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
        [f"mesh-federation:{path[0]}"] if through_file else [])
    real = pulumi.get_root_directory, pulumi.get_stack
    with tempfile.TemporaryDirectory() as project:
        (Path(project) / "Pulumi.yaml").write_text("name: mesh-federation\nruntime: python\n")
        (Path(project) / "Pulumi.s.yaml").write_text(yaml.safe_dump(
            {"config": {f"mesh-federation:{k}": v for k, v in config.items()}}))
        pulumi.get_root_directory, pulumi.get_stack = (lambda: project), (lambda: "s")
        try:
            with pytest.raises(ConfigError) as caught:
                load_config()
        finally:
            pulumi.get_root_directory, pulumi.get_stack = real
            pulumi.runtime.set_all_config({}, [])
    key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    message = str(caught.value)
    assert TOKEN not in message
    assert any(problem.startswith(f"{key} holds a credential set without --secret")
               for problem in caught.value.problems), caught.value.problems
