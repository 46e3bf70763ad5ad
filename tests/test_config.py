"""Stack configuration: every wrong input is refused, naming the key and the fix."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import RENAMED, ConfigError, parse_config, parse_kds_address
from tests import factories
from tests.pulumi_harness import run_program
from tests.test_program import COMMAND, RELEASE, program

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


# -- renamed keys (issue 14): the new names, and the old ones read for one release with a warning

def _put(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set `path` (`zones[0].api.url`, `advanced.exportConcurrency`) in `config`."""
    parts: list[str | int] = [int(p) if p.isdigit() else p
                              for p in path.replace("[", ".").replace("]", "").split(".")]
    node: Any = config
    for part, following in itertools.pairwise(parts):
        if isinstance(part, int):
            node = node[part]
        else:
            node = node.setdefault(part, [] if isinstance(following, int) else {})
    node[parts[-1]] = value
    return config


def _renamed_cases(bundle: Path) -> dict[str, tuple[Any, Any, dict[str, Any]]]:
    """New key -> (a value as the stack holds it, what the program reads, other keys it needs)."""
    https = {"global.api.url": "https://127.0.0.1:15682", "zones[0].api.url": "https://127.0.0.1:5682"}
    return {
        "global.api.url": ("http://127.0.0.1:15681/", "http://127.0.0.1:15681", {}),
        "global.api.token": ("  global-admin-token\n", "global-admin-token", {}),
        "global.api.caBundle": (str(bundle), str(bundle), {"global.api.url": https["global.api.url"]}),
        "zones[0].api.url": ("http://127.0.0.1:5681", "http://127.0.0.1:5681", {}),
        "zones[0].api.token": ("zone-admin-token", "zone-admin-token", {}),
        "zones[0].api.caBundle": (str(bundle), str(bundle),
                                  {"zones[0].api.url": https["zones[0].api.url"]}),
        "readyTimeoutSeconds": ("900", 900, {}),
        "advanced.exportConcurrency": ("8", 8, {}),
        "advanced.checkIntervalSeconds": ("2.5", 2.5, {}),
    }


def _read(cfg: Any, new: str) -> Any:
    zone, glob = cfg.zones[0], cfg.global_
    return {
        "global.api.url": glob.api_url, "global.api.token": glob.api_token,
        "global.api.caBundle": glob.api_ca_bundle, "zones[0].api.url": zone.api_url,
        "zones[0].api.token": zone.api_token, "zones[0].api.caBundle": zone.api_ca_bundle,
        "readyTimeoutSeconds": glob.ready_timeout_seconds,
        "advanced.exportConcurrency": cfg.export_concurrency,
        "advanced.checkIntervalSeconds": cfg.check.interval_seconds,
    }[new]


RENAMED_PAIRS = [(old.replace("[]", "[0]"), new.replace("[]", "[0]")) for old, new in RENAMED]


def _renamed_case(new: str, tmp_path: Path) -> tuple[Any, Any, dict[str, Any]]:
    """A renamed key's case: the value to set, what the program reads from it, and a config
    holding what that key needs beside it (the key itself not set yet)."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    value, read, needs = _renamed_cases(bundle)[new]
    config = raw()
    for path, other in needs.items():
        _put(config, path, other)
    return value, read, config


def test_every_renamed_key_has_a_case() -> None:
    assert {new for _, new in RENAMED_PAIRS} == set(_renamed_cases(Path("x")))


@pytest.mark.parametrize(("old", "new"), RENAMED_PAIRS)
def test_a_renamed_key_is_read_under_its_new_name_without_a_warning(old: str, new: str,
                                                                     tmp_path: Path) -> None:
    value, read, config = _renamed_case(new, tmp_path)
    cfg = parse_config(_put(config, new, value))
    assert _read(cfg, new) == read
    assert cfg.warnings == ()


@pytest.mark.parametrize(("old", "new"), RENAMED_PAIRS)
def test_an_old_key_still_works_and_warns_naming_the_new_one(old: str, new: str,
                                                             tmp_path: Path) -> None:
    value, read, config = _renamed_case(new, tmp_path)
    cfg = parse_config(_put(config, old, value))
    assert _read(cfg, new) == read
    [warning] = cfg.warnings
    assert warning.startswith(f"{old} is now {new}; the old name is read for this release only")
    nested = "." in new or "[" in new
    target = f"--path 'mesh-federation:{new}'" if nested else f"mesh-federation:{new}"
    secret = "--secret " if new.endswith(".token") else ""
    assert f"`pulumi config set {secret}{target} <value>`" in warning
    if secret:
        assert str(value).strip() not in warning  # a token is never shown


@pytest.mark.parametrize(("old", "new"), RENAMED_PAIRS)
def test_an_old_key_and_its_new_one_both_set_are_refused_naming_both(old: str, new: str,
                                                                      tmp_path: Path) -> None:
    value, _, config = _renamed_case(new, tmp_path)
    message = problems(_put(_put(config, new, value), old, value))
    assert f"{old} and {new} are both set: {old} is the old name of {new}" in message
    nested = "." in old or "[" in old
    target = f"--path 'mesh-federation:{old}'" if nested else f"mesh-federation:{old}"
    assert f"`pulumi config rm {target}`" in message


@pytest.mark.parametrize(("config", "said"), [
    (raw(**{"global": {"kubeContext": "g", "kdsAddress": "kds.example.com",
                       "readyTimeoutSeconds": "soon"}}),
     "global.readyTimeoutSeconds: expected a whole number of at least 30, got 'soon'; set it with "
     "`pulumi config set mesh-federation:readyTimeoutSeconds 600`"),
    (raw(exportConcurrency="many"),
     "exportConcurrency: expected a whole number of at least 1, got 'many'; set it with "
     "`pulumi config set --path 'mesh-federation:advanced.exportConcurrency' 32`"),
    (raw(check={"intervalSeconds": "often"}),
     "check.intervalSeconds: expected a number, got 'often'; set it with "
     "`pulumi config set --path 'mesh-federation:advanced.checkIntervalSeconds' 5.0`"),
    (raw(zones=[{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "localhost:5681"}]),
     "zones[0].apiUrl: 'localhost:5681' is not an http(s) URL"),
    (raw(zones=[{"name": "zone-1", "kubeContext": "mesh-zone", "api": {"url": "localhost:5681"}}]),
     "zones[0].api.url: 'localhost:5681' is not an http(s) URL"),
    (raw(advanced={"exportConcurrency": 0}),
     "advanced.exportConcurrency: must be at least 1, got 0"),
])
def test_a_bad_value_is_named_as_written_and_fixed_with_the_new_name(config: dict[str, Any],
                                                                     said: str) -> None:
    assert said in problems(config)


@pytest.mark.parametrize(("config", "said"), [
    (raw(zones=[{"name": "z", "kubeContext": "c", "apiURL": "x"}]),
     "zones[0].apiURL: unknown key; did you mean zones[0].api.url?"),
    (raw(zones=[{"name": "z", "kubeContext": "c", "api": {"URL": "x"}}]),
     "zones[0].api.URL: unknown key; did you mean zones[0].api.url?"),
    (raw(**{"global": {"kubeContext": "g", "kdsAddress": "kds.example.com", "apitoken": "x"}}),
     "global.apitoken: unknown key; did you mean global.api.token?"),
    (raw(readyTimeout="900"), "readyTimeout: unknown key; did you mean readyTimeoutSeconds?"),
    (raw(exportconcurrency="8"), "exportconcurrency: unknown key; did you mean "
                                 "advanced.exportConcurrency?"),
    (raw(advanced={"checkInterval": "2"}), "advanced.checkInterval: unknown key; did you mean "
                                           "advanced.checkIntervalSeconds?"),
    (raw(api={"url": "http://x"}), "api: unknown key"),
])
def test_unknown_keys_suggest_the_new_names(config: dict[str, Any], said: str) -> None:
    assert said in problems(config)


def test_an_api_or_advanced_that_is_not_an_object_is_refused_naming_it() -> None:
    message = problems(raw(advanced="fast", zones=[{"name": "z", "kubeContext": "c", "api": "http://x"}]))
    assert "advanced: expected an object, got str" in message
    assert "zones[0].api: expected an object, got str" in message


def test_the_stack_files_use_the_new_key_names() -> None:
    """They are the examples users copy: no key in them is read under an old name."""
    for path in [*sorted(ROOT.glob("Pulumi.*.yaml")), ROOT / "Pulumi.minimal.yaml.example"]:
        stack = yaml.safe_load(path.read_text())["config"]
        raw_config = {k.split(":", 1)[1]: v for k, v in stack.items() if k.startswith("mesh-federation:")}
        raw_config.pop("license", None)  # `secure:` in a stack file: decrypted by the CLI
        assert not [w for w in parse_config(raw_config).warnings if "is now" in w], path


# -- through load_config, as the Pulumi CLI hands the stack's config to the program -------------

ZONE_TOKEN_CANARY = "zone-admin-token-canary-never-in-plaintext"
GLOBAL_TOKEN_CANARY = "global-admin-token-canary-never-in-plaintext"



@pytest.mark.parametrize("preview", [True, False])
def test_api_tokens_set_with_secret_path_stay_secrets(stack_config: Any, preview: bool) -> None:
    """`pulumi config set --secret --path 'mesh-federation:zones[0].api.token'` (and the same
    for global.api.token): read into the fields the program wraps as secrets, and the objects
    holding them are secret as a whole, as with the old apiToken keys."""
    from components.config import load_config

    stack_config({
        "global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                   "api": {"url": "http://127.0.0.1:2", "token": GLOBAL_TOKEN_CANARY}},
        "zones": [{"name": "zone-1", "kubeContext": "mesh-zone",
                   "api": {"url": "http://127.0.0.1:1", "token": ZONE_TOKEN_CANARY}}],
        "advanced": {"exportConcurrency": 4, "checkIntervalSeconds": 1},
        "readyTimeoutSeconds": "900",
    }, ["global", "zones"])
    cfg = load_config()
    assert (cfg.global_.api_token, cfg.zones[0].api_token) == (GLOBAL_TOKEN_CANARY, ZONE_TOKEN_CANARY)
    assert cfg.global_.values_secret and cfg.zones[0].values_secret
    assert (cfg.export_concurrency, cfg.check.interval_seconds) == (4, 1.0)
    assert cfg.global_.ready_timeout_seconds == 900 and cfg.warnings == ()
    monitor = run_program(program(cfg, {"zone-1": factories.standard_documents()}), preview=preview)
    for registration in monitor.registrations:
        for canary in (GLOBAL_TOKEN_CANARY, ZONE_TOKEN_CANARY):
            assert canary not in registration.plaintext(), registration.name


def test_load_config_reads_advanced_as_an_object_and_refuses_its_typos(stack_config: Any) -> None:
    from components.config import OBJECT_KEYS, load_config

    assert "advanced" in OBJECT_KEYS
    stack_config({**raw(), "advanced": {"exportConcurency": "8"}}, [])
    with pytest.raises(ConfigError) as error:
        load_config()
    assert "advanced.exportConcurency: unknown key; did you mean advanced.exportConcurrency?" in str(
        error.value)


# -- credentials set without --secret: refused, naming the key and the fix, never the value ------

PLAIN_CREDENTIAL = "plaintext-credential-canary-never-shown"
CREDENTIAL_CASES = [
    # (the top-level key it lives in, the config, the key a message names, the key the fix sets)
    ("license", {"license": PLAIN_CREDENTIAL}, "license", "license"),
    ("global", {"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                           "api": {"token": PLAIN_CREDENTIAL}}},
     "global.api.token", "global.api.token"),
    ("zones", {"zones": [{"name": "zone-1", "kubeContext": "mesh-zone"},
                         {"name": "zone-2", "kubeContext": "mesh-zone-2",
                          "api": {"url": "http://127.0.0.1:1", "token": PLAIN_CREDENTIAL}}]},
     "zones[1].api.token", "zones[1].api.token"),
    ("zones", {"zones": [{"name": "zone-1", "kubeContext": "mesh-zone",
                          "apiToken": PLAIN_CREDENTIAL}]},
     "zones[0].apiToken", "zones[0].api.token"),
    ("zones", {"zones": [{"name": "zone-1", "kubeContext": "mesh-zone",
                          "zoneToken": PLAIN_CREDENTIAL}]},
     "zones[0].zoneToken", "zones[0].zoneToken"),
    ("kdsTls", {"kdsTls": {"mode": "provided", "caCert": "ca", "serverCert": "cert",
                           "serverKey": PLAIN_CREDENTIAL}},
     "kdsTls.serverKey", "kdsTls.serverKey"),
    ("zones", {"zones": [{"name": "zone-1", "kubeContext": "mesh-zone", "values": {"kuma": {
        "controlPlane": {"envVars": {"KUMA_STORE_POSTGRES_PASSWORD": PLAIN_CREDENTIAL}}}}}]},
     "zones[0].values.kuma.controlPlane.envVars.KUMA_STORE_POSTGRES_PASSWORD",
     "zones[0].values.kuma.controlPlane.envVars.KUMA_STORE_POSTGRES_PASSWORD"),
    ("global", {"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                           "values": {"kuma": {"controlPlane": {"tls": {"kdsGlobalServer": {
                               "cert": "c", "key": PLAIN_CREDENTIAL}}}}}}},
     "global.values.kuma.controlPlane.tls.kdsGlobalServer.key",
     "global.values.kuma.controlPlane.tls.kdsGlobalServer.key"),
]


@pytest.mark.parametrize(("top", "config", "key", "fixed"), CREDENTIAL_CASES)
def test_a_credential_set_without_secret_is_refused_naming_the_key_and_the_fix(
        stack_config: Any, top: str, config: dict[str, Any], key: str, fixed: str) -> None:
    from components.config import load_config

    stack_config({**raw(), **config}, [])
    with pytest.raises(ConfigError) as error:
        load_config()
    message = str(error.value)
    assert PLAIN_CREDENTIAL not in message
    target = "--path 'mesh-federation:{}'" if "." in key or "[" in key else "mesh-federation:{}"
    assert (f"{key} holds a credential set without --secret" in message
            and f"`pulumi config rm {target.format(key)}`, then "
                f"`pulumi config set --secret {target.format(fixed)} <value>`" in message), message


@pytest.mark.parametrize(("top", "config", "key", "fixed"), CREDENTIAL_CASES)
def test_the_same_credential_set_with_secret_is_accepted(
        stack_config: Any, top: str, config: dict[str, Any], key: str, fixed: str) -> None:
    from components.config import load_config

    stack_config({**raw(), **config}, [top])
    load_config()


def test_a_plaintext_credential_is_refused_with_every_other_problem_at_once(stack_config: Any) -> None:
    from components.config import load_config

    stack_config({**raw(), "license": PLAIN_CREDENTIAL, "exportProfile": "everything"}, [])
    with pytest.raises(ConfigError) as error:
        load_config()
    assert [p.split(" ", 1)[0] for p in error.value.problems] == ["license", "exportProfile:"]


def test_helm_values_that_name_a_credential_but_hold_none_are_accepted(stack_config: Any) -> None:
    """References (a Secret's name, a key file's path) and switches are not credentials."""
    from components.config import load_config

    values = {"kuma": {"automountServiceAccountToken": "true", "controlPlane": {
        "secrets": {"postgres": {"Secret": "pg", "Key": "password", "Env": "KUMA_STORE_POSTGRES_PASSWORD"}},
        "tls": {"general": {"secretName": "my-tls"}},
        "envVars": {"KUMA_GENERAL_TLS_KEY_FILE": "/tls/tls.key", "KUMA_API_SERVER_AUTH_TYPE": "tokens"}}}}
    stack_config({**raw(), "zones": [{"name": "zone-1", "kubeContext": "mesh-zone", "values": values}]},
                 [])
    assert load_config().zones[0].values == values


def _stack_file(tmp_path: Any, monkeypatch: Any, zones: list[dict[str, Any]],
                config_dir: str | None) -> None:
    """A project at tmp_path whose stack `s` holds `zones` as Pulumi.s.yaml writes them."""
    import pulumi

    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(
        {"name": "mesh-federation", "runtime": "python",
         **({"stackConfigDir": config_dir} if config_dir else {})}))
    folder = tmp_path / (config_dir or "")
    folder.mkdir(exist_ok=True)
    (folder / "Pulumi.s.yaml").write_text(yaml.safe_dump({"config": {"mesh-federation:zones": zones}}))
    monkeypatch.setattr(pulumi, "get_root_directory", lambda: str(tmp_path))
    monkeypatch.setattr(pulumi, "get_stack", lambda: "s")


SECURE = {"secure": "v1:ciphertext-as-the-cli-writes-it"}
ZONES_AS_GIVEN: list[dict[str, Any]] = [{"name": "zone-1", "kubeContext": "mesh-zone",
                   "api": {"url": "http://127.0.0.1:1", "token": "zone-1-admin"}},
                  {"name": "zone-2", "kubeContext": "mesh-zone-2",
                   "api": {"url": "http://127.0.0.1:2", "token": PLAIN_CREDENTIAL}}]


@pytest.mark.parametrize("config_dir", [None, "stacks"])
def test_a_plaintext_credential_beside_a_secret_one_is_refused_by_the_stack_file(
        stack_config: Any, tmp_path: Any, monkeypatch: Any, config_dir: str | None) -> None:
    """`zones` is a secret key as soon as zones[0].api.token is secure: only the stack file says
    that zones[1].api.token was set without --secret."""
    from components.config import load_config

    written = [{**ZONES_AS_GIVEN[0], "api": {**ZONES_AS_GIVEN[0]["api"], "token": SECURE}},
               ZONES_AS_GIVEN[1]]
    _stack_file(tmp_path, monkeypatch, written, config_dir)
    stack_config({**raw(), "zones": ZONES_AS_GIVEN}, ["zones"])
    with pytest.raises(ConfigError) as error:
        load_config()
    assert [p.split(" ", 1)[0] for p in error.value.problems] == ["zones[1].api.token"]
    assert PLAIN_CREDENTIAL not in str(error.value)


def test_a_plain_object_with_a_secure_key_among_others_is_plaintext(
        stack_config: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """Pulumi reads `{secure: <text>}` alone as a secret, but `{secure: a, b: c}` as a plain object
    (sdk/go/common/resource/config/map_test.go at v3.259.0): a credential written so is refused."""
    from components.config import load_config

    plain_object = {"secure": "not-an-envelope", "value": PLAIN_CREDENTIAL}
    zones = [ZONES_AS_GIVEN[0], {**ZONES_AS_GIVEN[1], "api": {**ZONES_AS_GIVEN[1]["api"],
                                                               "token": plain_object}}]
    written = [{**zones[0], "api": {**zones[0]["api"], "token": SECURE}}, zones[1]]
    _stack_file(tmp_path, monkeypatch, written, None)
    stack_config({**raw(), "zones": zones}, ["zones"])
    with pytest.raises(ConfigError) as error:
        load_config()
    assert any(p.startswith("zones[1].api.token holds a credential set without --secret")
               for p in error.value.problems), error.value.problems
    assert PLAIN_CREDENTIAL not in str(error.value)


def test_a_stack_file_of_secure_credentials_or_not_the_one_in_use_refuses_nothing(
        stack_config: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """Every credential `{secure: ...}`; or a plaintext one whose value is not the one the
    program was given (`pulumi up --config-file` reads another file)."""
    from components.config import load_config

    secure = [{**zone, "api": {**zone["api"], "token": SECURE}} for zone in ZONES_AS_GIVEN]
    stale = [secure[0], {**ZONES_AS_GIVEN[1], "api": {**ZONES_AS_GIVEN[1]["api"], "token": "old"}}]
    stack_config({**raw(), "zones": ZONES_AS_GIVEN}, ["zones"])
    for written in (secure, stale):
        _stack_file(tmp_path, monkeypatch, written, None)
        assert load_config().zones[1].api_token == PLAIN_CREDENTIAL


# -- the newcomer's minimal stack file ------------------------------------------------------------

MINIMAL = ROOT / "Pulumi.minimal.yaml.example"
LICENSE = '{"license": {"payload": "minimal-license-never-in-plaintext"}}'


def _leaves(value: Any, path: str) -> list[str]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [path]


def test_the_readme_shows_the_minimal_stack_file_as_it_is() -> None:
    """One source of truth: the README's configuration section opens with this file, verbatim."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration"):]
    assert f"```yaml\n{MINIMAL.read_text()}```" in section[:section.index("\n| key |")]


def test_the_minimal_stack_file_previews(stack_config: Any, caplog: Any) -> None:
    """The five keys of a user coming from Kong's guide (four in the file, the license set as a
    secret, as the file says) preview under the mock engine, every other key at its default."""
    from components.config import load_config

    stack = yaml.safe_load(MINIMAL.read_text())["config"]
    config = {k.split(":", 1)[1]: v for k, v in stack.items() if k.startswith("mesh-federation:")}
    config["license"] = LICENSE  # what `pulumi config set --secret mesh-federation:license` adds
    assert sorted(leaf for k, v in config.items() for leaf in _leaves(v, k)) == [
        "global.kdsAddress", "global.kubeContext", "license", "zones[0].kubeContext", "zones[0].name"]
    stack_config(config, ["license"])
    cfg = load_config()
    with caplog.at_level("WARNING"):
        monitor = run_program(program(cfg, {"zone-1": factories.standard_documents()}), preview=True)
    assert monitor.one(RELEASE, "global").inputs["values"]["kuma"]["controlPlane"]["mode"] == "global"
    assert monitor.one(COMMAND, "zone-1-upgrade")
    assert "is now" not in caplog.text  # no renamed key in it
    for registration in monitor.registrations:
        assert "minimal-license-never-in-plaintext" not in registration.plaintext()
