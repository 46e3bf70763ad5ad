"""The control plane's Services under the names and ports the user's values give them
(issue 11, item 9): followed by the service proxy, the port-forward hint, the check, the zone
token issuer and the KDS address, or refused in config, as the chart's templates name them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, FederationConfig
from components.program import build
from components.rules.chart_names import control_plane_service, zone_sync_port, zone_sync_service
from components.rules.products import API_PORT, KUMA
from components.stack_outputs import outputs
from tests import factories
from tests.pulumi_harness import RecordingMonitor, run_program
from tests.test_program import COMMAND
from tests.upstream import upstream_path


def _helm() -> str:
    found = shutil.which("helm")
    if found:
        return found
    tools = Path(os.environ.get("MESH_FEDERATION_TOOLS", Path.home() / ".cache/mesh-federation/tools"))
    if (tools / "bin" / "helm").is_file():
        return str(tools / "bin" / "helm")
    pytest.skip("helm not found on PATH nor in the tools cache (build it with `tools/build helm`)")


def rendered_services(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The Services the upstream kuma chart renders for these values (`helm template`)."""
    chart = upstream_path("charts/kuma")
    rendered = subprocess.run(
        [_helm(), "template", "t", str(chart), "--namespace", "kuma-system", "--values", "-"],
        input=json.dumps(values), capture_output=True, text=True, check=True, timeout=120).stdout
    return [d for d in yaml.safe_load_all(rendered) if d and d.get("kind") == "Service"]


@pytest.mark.parametrize("control_plane", [
    {"mode": "global"},
    {"mode": "global", "service": {"name": "mesh-api"},
     "globalZoneSyncService": {"name": "kds", "port": 6000}},
], ids=["defaults", "renamed"])
def test_the_names_and_ports_read_from_values_are_those_the_chart_renders(control_plane):
    values = {"controlPlane": control_plane}
    services = {s["metadata"]["name"]: s for s in rendered_services(values)}
    api = services[control_plane_service(KUMA, values)]
    assert API_PORT in [p["port"] for p in api["spec"]["ports"]]
    sync = services[zone_sync_service(KUMA, values)]
    [sync_port] = sync["spec"]["ports"]
    assert sync_port["port"] == zone_sync_port(KUMA, values)
    # No targetPort: the Service forwards to the same port of the pod, which is why config asks
    # for KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT with a port other than 5685.
    assert "targetPort" not in sync_port


RENAMED = {"kuma": {"controlPlane": {"service": {"name": "mesh-api"}}}}


def _run(cfg: FederationConfig) -> tuple[RecordingMonitor, dict[str, Any]]:
    captured: dict[str, Any] = {}

    class Capturing(RecordingMonitor):
        def RegisterResource(self, request: Any) -> Any:
            if request.type == COMMAND and request.name in ("check-zone-1-run", "zone-token-zone-1-issue"):
                from google.protobuf import json_format
                data = json_format.MessageToDict(request.object["stdin"])
                captured[request.name] = json.loads(data["value"] if isinstance(data, dict) else data)
            return super().RegisterResource(request)

    def body() -> Any:
        federation = build(cfg, lambda c, z, i: factories.export_result(
            factories.standard_documents(), z.name))
        captured["outputs"] = outputs(cfg, federation)
        return federation.global_.kds_url

    return run_program(body, preview=False, monitor_class=Capturing), captured


def test_a_renamed_control_plane_service_is_followed_everywhere_the_api_is_reached():
    cfg = factories.config(
        zones=[{"name": "zone-1", "kubeContext": "mesh-zone",
                "values": {"kuma": {"controlPlane": {"service": {"name": "zone-api"}}}}}],
        **{"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                      "values": RENAMED}})
    _, captured = _run(cfg)
    check = captured["check-zone-1-run"]
    assert check["global_api"]["kube_proxy"]["service"] == "mesh-api"
    assert check["zone_api"]["kube_proxy"]["service"] == "zone-api"
    assert captured["zone-token-zone-1-issue"]["service"] == "mesh-api"
    assert "svc/mesh-api 5681:5681" in captured["outputs"]["globalApiPortForward"]


def test_the_zone_sync_port_is_the_port_zones_dial():
    values = {"kuma": {"controlPlane": {
        "globalZoneSyncService": {"port": 6000},
        "envVars": {"KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT": "6000"}}}}
    read = factories.config(**{"global": {"kubeContext": "mesh-global", "values": values}},
                            kdsTls={"mode": "skipVerify"})
    monitor, _ = _run(read)
    zone_values = json.loads(monitor.one(COMMAND, "zone-1-upgrade").inputs["stdin"])
    assert zone_values["kuma"]["controlPlane"]["kdsGlobalAddress"] == "grpcs://203.0.113.10:6000"
    bare = factories.config(**{"global": {"kubeContext": "mesh-global", "values": values,
                                          "kdsAddress": "kds.example.com"}})
    assert bare.global_.kds_address is not None and bare.global_.kds_address.port == 6000


@pytest.mark.parametrize(("global_", "needles"), [
    ({"values": {"kuma": {"controlPlane": {"globalZoneSyncService": {"port": 6000}}}}},
     ["global.values.kuma.controlPlane.globalZoneSyncService.port", "no targetPort",
      "global.values.kuma.controlPlane.envVars.KUMA_MULTIZONE_GLOBAL_KDS_GRPC_PORT"]),
    ({"values": {"kuma": {"controlPlane": {"globalZoneSyncService": {"port": "http"}}}}},
     ["globalZoneSyncService.port", "'http' is not a port number"]),
    ({"values": {"kuma": {"controlPlane": {"service": {"enabled": False}}}}},
     ["global.values.kuma.controlPlane.service.enabled", "global.api.url"]),
    ({"values": {"kuma": {"controlPlane": {"service": {"name": "1-api"}}}}},
     ["global.values.kuma.controlPlane.service.name", "DNS-1035"]),
], ids=["port-without-listener", "port-not-a-number", "no-service-no-api-url", "bad-name"])
def test_what_the_program_cannot_follow_is_refused_naming_the_key(global_, needles):
    with pytest.raises(ConfigError) as error:
        factories.config(**{"global": {"kubeContext": "mesh-global", "kdsAddress": "kds.example.com",
                                       **global_}})
    for needle in needles:
        assert needle in str(error.value)


def test_a_disabled_service_is_fine_with_an_api_url():
    cfg = factories.config(zones=[{
        "name": "zone-1", "kubeContext": "mesh-zone", "api": {"url": "http://127.0.0.1:5681"},
        "values": {"kuma": {"controlPlane": {"service": {"enabled": False}}}}}])
    assert cfg.zones[0].api_url
    with pytest.raises(ConfigError, match=r"zones\[0\]\.api\.url"):
        factories.config(zones=[{
            "name": "zone-1", "kubeContext": "mesh-zone",
            "values": {"kuma": {"controlPlane": {"service": {"enabled": False}}}}}])
