"""The program under Pulumi's mock engine: what it registers, in which order, with which secrets."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pulumi
import pytest

from components.config import FederationConfig, ZoneConfig
from components.export.model import ExportResult
from components.program import build
from tests import factories
from tests.pulumi_harness import UNKNOWN, RecordingMonitor, run_program

RELEASE = "kubernetes:helm.sh/v3:Release"
COMMAND = "command:local:Command"


def program(cfg: FederationConfig,
            documents_by_zone: Mapping[str, list[dict[str, Any]]]) -> Callable[[], pulumi.Output[str]]:
    def exporter(cfg_: FederationConfig, zone: ZoneConfig, index: int) -> ExportResult:
        return factories.export_result(documents_by_zone[zone.name], zone.name)
    return lambda: build(cfg, exporter).global_.kds_url


def federate(preview: bool, cfg=None, documents=None) -> RecordingMonitor:
    cfg = cfg or factories.config()
    documents = documents or {z.name: factories.standard_documents() for z in cfg.zones}
    return run_program(program(cfg, documents), preview=preview)


@pytest.mark.parametrize("preview", [True, False])
def test_global_release_has_global_values(preview):
    monitor = federate(preview)
    release = monitor.one(RELEASE, "global")
    values = release.inputs["values"]
    assert values["kuma"]["controlPlane"]["mode"] == "global"
    assert values["kuma"]["controlPlane"]["defaults"]["skipMeshCreation"] is True
    assert release.inputs["namespace"] == "kong-mesh-system"
    assert release.inputs["chart"] == "kong-mesh"


@pytest.mark.parametrize("preview", [True, False])
def test_every_exported_object_is_registered_on_the_global_provider(preview):
    monitor = federate(preview)
    global_provider = next(r for r in monitor.registrations
                       if r.type == "pulumi:providers:kubernetes" and r.name == "global")
    exported = [r for r in monitor.registrations if r.parent.endswith("exported")]
    kinds = sorted(r.type for r in exported)
    assert kinds == sorted(["kubernetes:kuma.io/v1alpha1:Mesh", "kubernetes:core/v1:Secret",
                            *["kubernetes:kuma.io/v1alpha1:MeshTimeout"] * 3,
                            "kubernetes:core/v1:Secret"])
    for registration in exported:
        assert registration.provider.startswith(global_provider.urn)
        release = monitor.one(RELEASE, "global")
        assert release.urn in registration.dependencies


@pytest.mark.parametrize("preview", [True, False])
def test_zone_upgrade_waits_for_global_release_and_every_exported_object(preview):
    monitor = federate(preview)
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    exported = [r.urn for r in monitor.registrations if r.parent.endswith("exported")]
    assert exported
    assert monitor.one(RELEASE, "global").urn in upgrade.dependencies
    assert set(exported) <= set(upgrade.dependencies)


@pytest.mark.parametrize("preview", [True, False])
def test_secret_data_is_a_pulumi_secret_and_never_plaintext(preview):
    monitor = federate(preview)
    secrets = [r for r in monitor.registrations
               if r.type == "kubernetes:core/v1:Secret" and r.parent.endswith("exported")]
    assert len(secrets) == 2
    for registration in secrets:
        assert "data" in registration.secret_paths()
    check = monitor.one(COMMAND, "check-zone-1")
    assert "stdin" in check.secret_paths()
    encoded = factories.secret("x")["data"]["value"]
    for registration in monitor.registrations:
        text = registration.plaintext()
        assert encoded not in text, registration.name
        assert "zone-admin-token" not in text, registration.name


def test_in_a_preview_the_zone_values_wait_for_the_global():
    """stdin is computed from the global release's outputs: unknown in a preview (never a value
    made up before the global exists), and the upgrade, which never deletes, shows no delete."""
    upgrade = federate(True).one(COMMAND, "zone-1-upgrade")
    assert upgrade.inputs["stdin"] == UNKNOWN
    assert "delete" not in upgrade.inputs


def test_zone_values_point_at_the_global_kds_address():
    monitor = federate(False)
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    values = json.loads(upgrade.inputs["stdin"])
    control_plane = values["kuma"]["controlPlane"]
    assert control_plane["mode"] == "zone"
    assert control_plane["zone"] == "zone-1"
    assert control_plane["kdsGlobalAddress"] == "grpcs://host.minikube.internal:5685"
    assert control_plane["tls"]["kdsZoneClient"]["skipVerify"] is False
    assert control_plane["tls"]["kdsZoneClient"]["create"] is True
    assert values["kuma"]["ingress"]["enabled"] is True
    assert "delete" not in upgrade.inputs


def test_the_zone_upgrade_keeps_its_values_on_the_new_chart_and_waits_for_the_control_plane():
    """`--reset-then-reuse-values`: the zone's own values over the defaults of the chart being
    installed (`--reuse-values` would drop those). The wait is the control plane's rollout:
    `helm --wait` would also wait for the zone ingress LoadBalancer's address."""
    cfg = factories.config(kubeconfig="~/.kube/mesh-config")
    upgrade = federate(False, cfg).one(COMMAND, "zone-1-upgrade").inputs["create"]
    helm, rollout = upgrade.split(" && ")
    helm_words, rollout_words = shlex.split(helm), shlex.split(rollout)
    assert helm_words[:3] == ["helm", "upgrade", "kong-mesh"]
    assert "--reset-then-reuse-values" in helm_words and "--reuse-values" not in helm_words
    assert "--wait" not in helm_words
    assert helm_words[helm_words.index("--values") + 1] == "-"
    assert helm_words[helm_words.index("--kube-context") + 1] == "mesh-zone"
    assert helm_words[helm_words.index("--version") + 1] == "2.14.3"
    assert helm_words[helm_words.index("--timeout") + 1] == "600s"
    assert rollout_words[:4] == ["kubectl", "rollout", "status", "deployment/kong-mesh-control-plane"]
    assert rollout_words[rollout_words.index("--context") + 1] == "mesh-zone"
    assert rollout_words[rollout_words.index("--namespace") + 1] == "kong-mesh-system"
    assert rollout_words[rollout_words.index("--timeout") + 1] == "600s"
    # Neither helm nor kubectl expands a ~, and this machine's home must not enter the command
    # (another user's or CI's run would differ and upgrade again): the shell expands $HOME.
    for step in (helm, rollout):
        word = step.split("--kubeconfig ", 1)[1].split(" ", 1)[0]
        assert word == '"$HOME"/.kube/mesh-config'
        printed = subprocess.run(["sh", "-c", f"printf %s {word}"], env={"HOME": "/home/ci"},
                                 capture_output=True, text=True, check=True)
        assert printed.stdout == "/home/ci/.kube/mesh-config"
    plain = factories.config(kubeconfig="/etc/mesh/kube config")
    assert "--kubeconfig '/etc/mesh/kube config'" in federate(False, plain).one(
        COMMAND, "zone-1-upgrade").inputs["create"]


def test_the_check_runs_again_when_the_zone_gets_new_values():
    """Its trigger follows the zone's values: a new KDS address (or CA, or token) re-runs it;
    the same values do not."""
    def triggers(kds_address: str) -> Any:
        cfg = factories.config(**{"global": {"kubeContext": "mesh-global", "kdsAddress": kds_address}})
        return federate(False, cfg).one(COMMAND, "check-zone-1").inputs["triggers"]
    first, same = triggers("kds.example.com"), triggers("kds.example.com")
    moved = triggers("kds2.example.com")
    assert first == same
    assert first != moved
    assert first[0] == moved[0]  # the zone release's URN: unchanged, as URNs are


def test_preview_without_kds_address_succeeds_with_unknowns():
    cfg = factories.config(**{"global": {"kubeContext": "mesh-global"}}, kdsTls={"mode": "skipVerify"})
    monitor = federate(True, cfg)
    # The zone-sync Service is read only once the release exists: in a preview of a new stack
    # its id is unknown, so nothing can be read and the zone's values stay unknown.
    reads = [r for r in monitor.registrations if r.read_id]
    assert [r.read_id for r in reads] == [UNKNOWN]
    upgrade = monitor.one(COMMAND, "zone-1-upgrade")
    assert upgrade.inputs["stdin"] == UNKNOWN


def test_update_without_kds_address_reads_the_load_balancer():
    cfg = factories.config(**{"global": {"kubeContext": "mesh-global"}}, kdsTls={"mode": "skipVerify"})
    monitor = federate(False, cfg)
    reads = [r for r in monitor.registrations if r.read_id]
    assert [r.read_id for r in reads] == ["kong-mesh-system/kong-mesh-global-zone-sync"]
    values = json.loads(monitor.one(COMMAND, "zone-1-upgrade").inputs["stdin"])
    assert values["kuma"]["controlPlane"]["kdsGlobalAddress"] == "grpcs://203.0.113.10:5685"


@pytest.mark.parametrize("preview", [True, False])
def test_every_kubernetes_registration_has_an_explicit_provider_with_a_context(preview):
    monitor = federate(preview)
    providers = {r.urn: r for r in monitor.registrations if r.type == "pulumi:providers:kubernetes"}
    assert {p.inputs["context"] for p in providers.values()} == {"mesh-global", "mesh-zone"}
    kube = [r for r in monitor.registrations if r.type.startswith("kubernetes:")
            and not r.type.startswith("pulumi:providers")]
    assert kube
    for registration in kube:
        # A provider reference is "<provider urn>::<provider id>".
        assert any(registration.provider.startswith(urn + "::") for urn in providers), registration.name


def test_greenfield_zone_is_a_retained_release_with_nothing_exported():
    cfg = factories.config(zones=[{"name": "zone-new", "kubeContext": "mesh-zone-2",
                                   "install": "greenfield"}])
    monitor = run_program(program(cfg, {}), preview=False)
    zone = monitor.one(RELEASE, "zone-zone-new")
    assert zone.inputs["values"]["kuma"]["controlPlane"]["mode"] == "zone"
    assert not [r for r in monitor.registrations if r.parent.endswith("exported")]


def test_a_greenfield_zone_waits_for_its_control_plane_not_for_its_ingress_address():
    """Helm's own wait would also wait for the zone ingress LoadBalancer's address (never there
    on minikube or bare metal): the Release skips it and a rollout wait follows, which the
    check waits for and which runs again when the values change."""
    def run(kds_address: str) -> RecordingMonitor:
        cfg = factories.config(zones=[{"name": "zone-new", "kubeContext": "mesh-zone-2",
                                       "install": "greenfield"}],
                               **{"global": {"kubeContext": "mesh-global", "kdsAddress": kds_address}})
        return run_program(program(cfg, {}), preview=False)
    monitor = run("kds.example.com")
    release = monitor.one(RELEASE, "zone-zone-new")
    assert release.inputs["skipAwait"] is True
    rollout = monitor.one(COMMAND, "zone-zone-new-rollout")
    assert release.urn in rollout.dependencies
    assert shlex.split(rollout.inputs["create"])[:4] == [
        "kubectl", "rollout", "status", "deployment/kong-mesh-control-plane"]
    assert "--context mesh-zone-2" in rollout.inputs["create"]
    assert rollout.urn in monitor.one(COMMAND, "check-zone-new-run").dependencies
    again = monitor.one(COMMAND, "zone-zone-new-rollout").inputs["triggers"]
    moved = run("kds2.example.com").one(COMMAND, "zone-zone-new-rollout").inputs["triggers"]
    assert again != moved
    global_release = monitor.one(RELEASE, "global-release")
    assert not global_release.inputs.get("skipAwait"), "the global still waits for its address"


def test_registrations_are_identical_across_two_runs():
    first = federate(False)
    second = federate(False)
    def shape(monitor: RecordingMonitor) -> list[tuple[str, str, str, list[str]]]:
        # Registration order is async; what must not change is each resource's inputs.
        return sorted((r.type, r.name, r.plaintext(), sorted(r.dependencies))
                      for r in monitor.registrations)
    assert shape(first) == shape(second)


def test_scaling_a_workload_between_two_runs_changes_no_registered_input():
    """The zone's proxy counts at export time are live data: in an input they would show a diff
    on the next `up`, re-run the check and make it wait for proxies a scale-down removed."""
    cfg = factories.config()
    documents = factories.standard_documents()

    def run(dataplanes: dict[str, int]) -> list[tuple[str, str, str]]:
        def exporter(cfg_: FederationConfig, zone: ZoneConfig, index: int) -> ExportResult:
            return replace(factories.export_result(documents, zone.name), dataplanes=dataplanes)
        monitor = run_program(lambda: build(cfg, exporter).global_.kds_url, preview=False)
        # Whole inputs, secrets' payloads included: the check's spec travels as a secret.
        return sorted((r.type, r.name, json.dumps(r.inputs, sort_keys=True))
                      for r in monitor.registrations)

    assert run({"default": 3}) == run({"default": 0, "payments": 12})


def test_an_object_whose_labels_the_export_emptied_registers_as_one_without_labels():
    """Seen with the real kuma-cp: a zone adds `kuma.io/origin: zone` to its own objects once it
    runs in zone mode; the export drops that key and kumactl writes `labels: {}` where the same
    object had no labels before the switch. Both are one object to Kubernetes: the copy's inputs
    must not change between the run that federates and the next."""
    cfg = factories.config()

    def run(emptied: bool) -> list[tuple[str, str, str]]:
        documents = factories.standard_documents()
        for document in documents:
            meta = document["metadata"]
            if emptied:
                meta["labels"], meta["annotations"] = {}, {}
            else:
                meta.pop("labels", None)
                meta.pop("annotations", None)
        monitor = run_program(program(cfg, {z.name: documents for z in cfg.zones}), preview=False)
        return sorted((r.type, r.name, json.dumps(r.inputs, sort_keys=True))
                      for r in monitor.registrations if r.parent.endswith("exported"))

    assert run(emptied=True) == run(emptied=False)


@pytest.mark.parametrize("zone_api", [
    {"apiUrl": "http://127.0.0.1:5681", "apiToken": "zone-admin-token"},
    {},
], ids=["api-url", "kube-proxy"])
def test_the_check_command_receives_a_spec_the_check_module_reads(zone_api):
    from components.check.spec import CheckSpec

    zones = [{"name": "zone-1", "kubeContext": "mesh-zone", **zone_api}]
    monitor = federate(False, factories.config(zones=zones))
    check = monitor.one(COMMAND, "check-zone-1")
    assert check.inputs["create"] == "sh components/run_module.sh components.check"
    stdin = check.inputs["stdin"]["value"]  # the secret's payload
    spec = CheckSpec.from_json(stdin)
    assert spec.zone == "zone-1"
    assert [p.name for p in spec.expect.policies] == ["timeout-0", "timeout-1", "timeout-2"]
    assert spec.expect.dataplanes is True, "the check looks for the zone's proxies on the global"
    assert upstream_dependency(monitor, check)
    # Its result is one JSON line naming every policy: never streamed through pulumi-command's
    # 64 KiB line scanner (components/resources/federation_check.py), only its stderr progress.
    assert check.inputs["logging"] == "stderr"


def upstream_dependency(monitor, check) -> bool:
    return monitor.one(COMMAND, "zone-1-upgrade").urn in check.dependencies


def test_the_zone_sync_service_is_found_under_the_name_configured_for_it() -> None:
    values = {"kuma": {"controlPlane": {"globalZoneSyncService": {"name": "kds"}}}}
    cfg = factories.config(**{"global": {"kubeContext": "mesh-global", "values": values}},
                           kdsTls={"mode": "skipVerify"})
    reads = [r for r in federate(False, cfg).registrations if r.read_id]
    assert [r.read_id for r in reads] == ["kong-mesh-system/kds"]


def test_a_ca_bundle_reaches_every_client_of_an_https_api(tmp_path: Any) -> None:
    """The export's client, the check's spec and the zone token issuer all trust the bundle."""
    from components.zone_exports import zone_api_target

    bundle = tmp_path / "cp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = factories.config(
        zones=[{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "https://127.0.0.1:5682",
                "apiToken": "zone-admin", "apiCaBundle": str(bundle)}],
        **{"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                      "apiUrl": "https://127.0.0.1:15682", "apiToken": "global-admin",
                      "apiCaBundle": str(bundle)}})
    assert zone_api_target(cfg, cfg.zones[0], 0).verify == str(bundle)
    captured: dict[str, Any] = {}

    class Capturing(RecordingMonitor):
        def RegisterResource(self, request: Any) -> Any:
            if request.type == COMMAND and request.name in ("check-zone-1-run", "zone-token-zone-1-issue"):
                # stdin is a secret: read it here, as the engine would hand it to the command.
                captured[request.name] = request.object["stdin"]
            return super().RegisterResource(request)

    run_program(program(cfg, {"zone-1": factories.standard_documents()}), preview=False,
                monitor_class=Capturing)
    check_spec = json.loads(_plain(captured["check-zone-1-run"]))
    token_spec = json.loads(_plain(captured["zone-token-zone-1-issue"]))
    assert check_spec["global_api"]["ca_bundle"] == str(bundle)
    assert check_spec["zone_api"]["ca_bundle"] == str(bundle)
    assert token_spec["ca_bundle"] == str(bundle)


def _plain(value: Any) -> str:
    """A serialized input's value, whether or not it is wrapped as a secret."""
    from google.protobuf import json_format

    data = json_format.MessageToDict(value)
    return str(data["value"] if isinstance(data, dict) and "value" in data else data)


@pytest.mark.parametrize("preview", [True, False])
def test_in_a_zones_stack_everything_under_a_component_waits_for_the_global_stack(preview):
    """The gate reaches every child: a component's depends_on holds for the component alone
    (the SDK passes a parent's providers to its children, never its dependencies), so each
    component passes it on. A child without it could be created before the global stack is read
    and agrees, the one thing a zones stack must not do."""
    zones = [{"name": "zone-1", "kubeContext": "mesh-zone", "apiUrl": "http://127.0.0.1:1",
              "apiToken": "zone-admin-token"},
             {"name": "zone-2", "kubeContext": "mesh-zone-2", "apiUrl": "http://127.0.0.1:2",
              "apiToken": "zone-admin-token", "install": "greenfield"},
             {"name": "zone-3", "kubeContext": "mesh-zone-3", "zoneToken": "eyJ.given.token"}]
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global-prod", zones=zones,
                           **{"global": {"kubeContext": "mesh-global", "apiToken": "global-admin"}})
    documents = {"zone-1": factories.standard_documents(), "zone-2": [], "zone-3": []}
    stack_outputs = {"kdsUrl": "grpcs://kds.mesh.example.com:5685",
                     "kdsCaCert": "-----BEGIN CERTIFICATE----- g", "zoneAuth": cfg.zone_auth.mode}
    monitor = run_program(program(cfg, documents), preview=preview, stack_outputs=stack_outputs)
    reference = monitor.one("pulumi:pulumi:StackReference").urn
    components = {r.urn: r.type for r in monitor.of_type("mesh-federation:")}
    children = [r for r in monitor.registrations if r.parent in components]
    assert {components[r.parent] for r in children} == {
        "mesh-federation:index:ExportedMeshResources", "mesh-federation:index:ZoneToken",
        "mesh-federation:index:ZoneControlPlane", "mesh-federation:index:FederationCheck"}
    assert [(r.type, r.name) for r in children if reference not in r.dependencies] == []
    assert monitor.one("kubernetes:core/v1:Namespace", "zone-token-zone-2").parent in components


@pytest.mark.parametrize("form", ["resource", "list", "output"])
def test_a_components_depends_on_reaches_its_children_in_every_form_the_sdk_accepts(form):
    """`after_component` reads a component's depends_on as the SDK reads a resource's
    (pulumi/runtime/_depends_on.py): a Resource, a list of them, or an Output of a list."""
    from components.resources.dependencies import after_component

    class Holder(pulumi.ComponentResource):
        def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__("test:index:Holder", name, None, opts)
            pulumi.CustomResource("test:index:Child", f"{name}-child", {},
                                  pulumi.ResourceOptions(parent=self, depends_on=after_component(opts)))

    def body() -> None:
        first = pulumi.CustomResource("test:index:First", "first", {})
        given: Any = {"resource": first, "list": [first],
                      "output": pulumi.Output.from_input(0).apply(lambda _: [first])}[form]
        Holder("holder", pulumi.ResourceOptions(depends_on=given))

    monitor = run_program(body, preview=False)
    first_urn = monitor.one("test:index:First").urn
    assert monitor.one("test:index:Child").dependencies == [first_urn]
    assert monitor.one("test:index:Holder").dependencies == [first_urn]
