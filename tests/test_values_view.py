"""Issue 22: what each zone's switch sets (and the global's values), secrets masked, registered as
a non-secret input of the switch and exported as stack outputs, so that `pulumi preview` shows
it; and what a zone runs with now, said beside it. Read from what the SDK sent the mock engine."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from google.protobuf import json_format
from pulumi.runtime.proto import resource_pb2

from components import log
from components.config import FederationConfig, ZoneConfig
from components.export.model import ControlPlaneInfo, ExportResult
from components.program import UNKNOWN_KDS_URL, build
from components.redaction import SECRET_VALUE, Redactor
from components.rules.switch_summary import switch_summary
from components.rules.values_view import known_or, values_view
from components.stack_outputs import outputs
from tests import canaries, factories
from tests.pulumi_harness import SECRET_SIG, UNKNOWN, RecordingMonitor, run_program
from tests.pulumi_harness import SECRET_VALUE as WIRE_SECRET
from tests.test_program import COMMAND

USER_CPU = ("resources", "requests", "cpu")
SECURE = {"secure": "v1:ciphertext-as-the-cli-writes-it"}


class OutputsMonitor(RecordingMonitor):
    """Also keeps what components register as their outputs (the stack's outputs go the same
    way, through a component standing in for the stack: the mock engine has no root stack)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.outputs: dict[str, dict[str, Any]] = {}

    def RegisterResourceOutputs(self, request: resource_pb2.RegisterResourceOutputsRequest) -> Any:
        self.outputs[request.urn.rsplit("::", 1)[-1]] = json_format.MessageToDict(request.outputs)
        register: Callable[[resource_pb2.RegisterResourceOutputsRequest], Any] = (
            super().RegisterResourceOutputs)  # unannotated in the SDK
        return register(request)

    def stack_outputs(self) -> dict[str, Any]:
        return self.outputs["stack-outputs"]


def federate(cfg: FederationConfig, *, preview: bool,
             info: ControlPlaneInfo | None = None) -> OutputsMonitor:
    def exporter(cfg_: FederationConfig, zone: ZoneConfig, index: int) -> ExportResult:
        result = factories.export_result(factories.standard_documents(), zone.name)
        return result if info is None else ExportResult(
            documents=result.documents, control_plane=info, warnings=(), dataplanes={}, requests=0)

    def program() -> None:
        federation = build(cfg, exporter)
        stack = pulumi.ComponentResource("test:index:Stack", "stack-outputs")
        stack.register_outputs(dict(outputs(cfg, federation)))
    return run_program(program, preview=preview, monitor_class=OutputsMonitor)


def switch_view(monitor: RecordingMonitor, zone: str = "zone-1") -> dict[str, Any]:
    triggers = monitor.one(COMMAND, f"{zone}-upgrade").inputs["triggers"]
    assert len(triggers) == 1
    view: dict[str, Any] = triggers[0]
    return view


def at(values: Mapping[str, Any], *path: str) -> Any:
    node: Any = values
    for part in path:
        node = node[part]
    return node


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping) and node.get(SECRET_SIG) != WIRE_SECRET:
        for key, child in node.items():
            yield from leaves(child, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from leaves(child, f"{path}[{index}]")
    else:
        yield path, node


def user_values(**control_plane: Any) -> dict[str, Any]:
    return {"kuma": {"controlPlane": {"resources": {"requests": {"cpu": "300m"}}, **control_plane}}}


@pytest.mark.parametrize("preview", [True, False])
def test_the_switch_shows_every_value_it_sets_in_a_non_secret_input_and_a_stack_output(preview: bool) -> None:
    cfg = factories.config(zones=[{"name": "zone-1", "kubeContext": "mesh-zone",
                                   "api": {"url": "http://127.0.0.1:1", "token": "zone-admin-token"},
                                   "values": user_values()}])
    monitor = federate(cfg, preview=preview)
    view = switch_view(monitor)
    control_plane = view["kuma"]["controlPlane"]
    assert (control_plane["mode"], control_plane["zone"], control_plane["kdsGlobalAddress"]) == (
        "zone", "zone-1", "grpcs://host.minikube.internal:5685")
    client = control_plane["tls"]["kdsZoneClient"]
    assert (client["skipVerify"], client["create"]) == (False, True)
    # The generated CA is known once pulumi-tls made it: unknown in a preview of a new stack.
    assert client["cert"] == UNKNOWN if preview else client["cert"].startswith("PEM certificate, sha256 ")
    assert view["kuma"]["ingress"] == {"enabled": True}
    assert control_plane["extraSecrets"]["meshFederationZoneToken"]["name"] == "mesh-federation-zone-token"
    assert control_plane["envVars"] == {
        "KMESH_MULTIZONE_ZONE_KDS_AUTH_CP_TOKEN_PATH": "/var/run/secrets/mesh-federation/zone-token/token"}
    assert at(control_plane, *USER_CPU) == "300m"
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    assert not [path for path in upgrade.secret_paths() if path.startswith("triggers")]
    assert monitor.stack_outputs()["zones"]["zone-1"]["values"] == view


def test_a_new_kds_address_changes_the_registered_view_there_and_nowhere_else() -> None:
    def view(kds_address: str) -> dict[str, str]:
        cfg = factories.config(**{"global": {"kubeContext": "mesh-global", "kdsAddress": kds_address}})
        return dict(leaves(switch_view(federate(cfg, preview=True))))
    first, moved = view("kds.example.com"), view("kds2.example.com")
    changed = sorted(path for path in first.keys() | moved.keys() if first.get(path) != moved.get(path))
    assert changed == ["kuma.controlPlane.kdsGlobalAddress"]
    assert moved["kuma.controlPlane.kdsGlobalAddress"] == "grpcs://kds2.example.com:5685"


def test_a_greenfield_zone_shows_its_values_on_its_rollout_wait() -> None:
    cfg = factories.config(zones=[{"name": "zone-1", "kubeContext": "mesh-zone", "install": "greenfield"}])
    rollout = federate(cfg, preview=False).one(COMMAND, "zone-1-rollout")
    assert rollout.inputs["triggers"][2]["kuma"]["controlPlane"]["mode"] == "zone"


def write_stack_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Mapping[str, Any]) -> None:
    """A project at tmp_path whose stack `s` holds `config` as Pulumi.s.yaml writes it."""
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "mesh-federation", "runtime": "python"}))
    (tmp_path / "Pulumi.s.yaml").write_text(yaml.safe_dump(
        {"config": {f"mesh-federation:{key}": value for key, value in config.items()}}))
    monkeypatch.setattr(pulumi, "get_root_directory", lambda: str(tmp_path))
    monkeypatch.setattr(pulumi, "get_stack", lambda: "s")


def secure_at(values: Mapping[str, Any], *path: str) -> dict[str, Any]:
    """`values` as the stack file holds them after `config set --secret --path` at `path`."""
    copied = json.loads(json.dumps(values))
    node = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = SECURE
    result: dict[str, Any] = copied
    return result


PASSWORD, TOKEN = canaries.PASSWORD, canaries.TOKEN
# (control plane values holding a secret, where in them the secret is, the view expected there)
SHAPES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "text under a credential's name": (
        {"envVars": {"KUMA_STORE_POSTGRES_PASSWORD": PASSWORD}}, ("envVars", "KUMA_STORE_POSTGRES_PASSWORD")),
    "an object under a credential's name": (
        {"store": {"postgres": {"password": {"value": PASSWORD, "also": [TOKEN]}}}},
        ("store", "postgres", "password")),
    "a list under a credential's name": ({"auth": {"token": [TOKEN, "second"]}}, ("auth", "token")),
    "a TLS key": ({"tls": {"general": {"key": PASSWORD}}}, ("tls", "general", "key")),
    "a secret under a harmless name": ({"podAnnotations": {"note": TOKEN}}, ("podAnnotations", "note")),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("stack_file", [True, False])
def test_a_secret_helm_value_is_masked_in_the_view_whatever_its_shape(
        shape: str, stack_file: bool, stack_config: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Set with `--secret --path`: the stack file says which leaf is secure, and the other
    values of the key stay in clear; without the stack file (config from elsewhere) every
    value of a secret key is masked."""
    from components.config import load_config

    extra, where = SHAPES[shape]
    values = user_values(**extra)
    zone: dict[str, Any] = {"name": "zone-1", "kubeContext": "mesh-zone",
                            "api": {"url": "http://127.0.0.1:1", "token": "zone-admin-token"},
                            "values": values}
    if stack_file:
        written = {**zone, "api": {**zone["api"], "token": SECURE},
                   "values": secure_at(values, "kuma", "controlPlane", *where)}
        write_stack_file(tmp_path, monkeypatch, {"zones": [written]})
    stack_config({"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com"},
                  "zones": [zone]}, ["zones"])
    monitor = federate(load_config(), preview=False)
    view = switch_view(monitor)
    assert at(view, "kuma", "controlPlane", *where) == SECRET_VALUE
    assert at(view, "kuma", "controlPlane", *USER_CPU) == ("300m" if stack_file else SECRET_VALUE)
    assert view["kuma"]["controlPlane"]["kdsGlobalAddress"] == "grpcs://kds.example.com:5685"
    exported = json.dumps(monitor.stack_outputs()["zones"])
    for text in (json.dumps(view), exported, *(r.plaintext() for r in monitor.registrations)):
        assert PASSWORD not in text and TOKEN not in text


def test_a_known_secret_a_private_key_or_url_userinfo_is_masked_under_any_name() -> None:
    """What the stack file cannot tell: a config credential copied into another value, a
    private key, a password in a URL."""
    private_key = f"-----BEGIN PRIVATE KEY-----\n{TOKEN}\n-----END PRIVATE KEY-----"
    values = {"controlPlane": {"a": f"prefix-{TOKEN}", "b": [private_key],
                               "c": f"https://ops:{PASSWORD}@vault.example.com", "d": 5, "e": True}}
    view = values_view(values, Redactor([TOKEN]))
    assert view == {"controlPlane": {"a": SECRET_VALUE, "b": [SECRET_VALUE],
                                     "c": "https://***@vault.example.com", "d": 5, "e": True}}


def test_a_secret_output_is_masked_and_an_unknown_one_stays_unknown() -> None:
    """A value known only from another resource (the KDS CA, a stack reference's address):
    masked when it is a Pulumi secret, in clear otherwise, and the view is never a secret."""
    def program() -> None:
        known = pulumi.Output.from_input("grpcs://kds.example.com:5685")
        async def resolved(value: Any) -> Any:
            return value
        unknown = pulumi.Output(set(), resolved(None), resolved(False))
        view = values_view({"secret": pulumi.Output.secret(TOKEN), "plain": known,
                            "unknown": unknown, "nested": {"token": known}}, Redactor())
        pulumi.CustomResource("test:index:Holder", "holder", {"view": view})
    holder = run_program(program, preview=True).one("test:index:Holder", "holder")
    assert holder.inputs["view"] == {"secret": SECRET_VALUE, "plain": "grpcs://kds.example.com:5685",
                                     "unknown": UNKNOWN, "nested": {"token": SECRET_VALUE}}
    assert holder.secret_paths() == []


def test_the_globals_values_are_a_stack_output_with_its_secrets_masked(
        stack_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """global.values under a secret key: the release's values are one secret, the output is not."""
    from components.config import load_config

    values = {"kuma": {"controlPlane": {"logLevel": "debug", "podAnnotations": {"note": TOKEN}}}}
    global_ = {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com", "values": values}
    write_stack_file(tmp_path, monkeypatch, {"global": {
        **global_, "values": secure_at(values, "kuma", "controlPlane", "podAnnotations", "note")}})
    stack_config({"global": global_, "zones": [{"name": "zone-1", "kubeContext": "mesh-zone"}]},
                 ["global"])
    shown = federate(load_config(), preview=True).stack_outputs()["globalValues"]["kuma"]["controlPlane"]
    assert (shown["mode"], shown["logLevel"], shown["podAnnotations"]["note"]) == (
        "global", "debug", SECRET_VALUE)


def test_each_zone_is_said_with_what_it_runs_now_beside_what_it_will(
        caplog: pytest.LogCaptureFixture) -> None:
    standalone = ControlPlaneInfo(product="Kuma", version="2.14.3", mode="zone",
                                  environment="kubernetes", zone_name="default", global_address=None,
                                  system_namespace="kong-mesh-system")
    with caplog.at_level(logging.INFO):
        federate(factories.config(), preview=True, info=standalone)
    assert ("zone-1: standalone -> zone, zone default -> zone-1, kdsGlobalAddress none -> "
            "grpcs://host.minikube.internal:5685 (now: Kuma 2.14.3, as its /config says") in caplog.text


def test_an_address_known_only_later_is_said_so_in_a_preview(caplog: pytest.LogCaptureFixture) -> None:
    cfg = factories.config(**{"global": {"kubeContext": "mesh-global"}}, kdsTls={"mode": "skipVerify"})
    with caplog.at_level(logging.INFO):
        federate(cfg, preview=True)
    assert f"kdsGlobalAddress none -> {UNKNOWN_KDS_URL}" in caplog.text


def test_the_summary_says_what_is_unchanged_and_what_was_not_read() -> None:
    federated = ControlPlaneInfo(product="Kuma", version="2.14.3", mode="zone", environment="kubernetes",
                                 zone_name="zone-1", global_address="grpcs://kds:5685",
                                 system_namespace="kuma-system")
    same = switch_summary("zone-1", federated, kds_url="grpcs://kds:5685", not_read="")
    assert same.startswith("zone-1: zone (unchanged), zone zone-1 (unchanged), "
                           "kdsGlobalAddress grpcs://kds:5685 (unchanged)")
    back = switch_summary("zone-1", None, kds_url=None, not_read="the way back does not export the zone")
    assert back == ("zone-1: switches to standalone, zone zone-1, kdsGlobalAddress none (what it runs "
                    "with now is not read: the way back does not export the zone)")


def test_a_line_quotes_a_secret_address_as_secret_and_an_unknown_one_as_the_placeholder(
        caplog: pytest.LogCaptureFixture) -> None:
    def program() -> None:
        async def resolved(value: Any) -> Any:
            return value
        unknown = pulumi.Output(set(), resolved(None), resolved(False))
        for output in (pulumi.Output.secret(f"grpcs://{TOKEN}:5685"), unknown,
                       pulumi.Output.from_input("grpcs://kds:5685")):
            known_or(output, "later").apply(lambda text: log.info(f"address {text}"))
    with caplog.at_level(logging.INFO):
        run_program(program, preview=True)
    assert sorted(re.findall(r"address (\S+)", caplog.text)) == ["[secret]", "grpcs://kds:5685", "later"]
