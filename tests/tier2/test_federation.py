"""The guide against the real Kuma control plane (tier 2), one federation for the module, in
order: the export equals kumactl's; `pulumi up` federates the zone over real KDS through real
webhooks; a policy made on the global reaches the zone; nothing is left running afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import urllib3
import yaml

from components.resources.global_control_plane import KDS_SERVER_SECRET
from local_federation import kuma
from local_federation.assets import REPO_ROOT, Assets
from local_federation.pulumi_cli import Pulumi, clone_project
from local_federation.stack import SERVER_KEY, kds_tls, stack_config
from tests.integration.tools import Tools, real_tls_missing_reason
from tests.tier2.conftest import GLOBAL, POLICIES, ZONE, Running

PROFILE = "federation-with-policies"


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def kumactl_export(assets: Assets, running: Running) -> list[dict[str, Any]]:
    """`kumactl export --profile=federation-with-policies --format=kubernetes` on the zone; its
    first line, the `# Product: ...` banner, is a comment YAML drops."""
    config = running.workdir / "kumactl.config"
    kumactl = [assets.path("kumactl"), "--config-file", str(config)]
    subprocess.run([*kumactl, "config", "control-planes", "add", "--name", ZONE, "--address",
                    running.zone_api, "--auth-type", "tokens", "--auth-conf",
                    f"token={running.zone_token}", "--overwrite"],
                   check=True, capture_output=True, text=True, timeout=60)
    result = subprocess.run([*kumactl, "export", f"--profile={PROFILE}", "--format=kubernetes"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Product:"), result.stdout[:200]
    return documents(result.stdout)


def project_export(running: Running, *source: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "components.export", *source, "--quiet", "--profile", PROFILE,
         "--system-namespace", kuma.SYSTEM_NAMESPACE],
        cwd=REPO_ROOT, env={"KUMA_API_TOKEN": running.zone_token, "PATH": os.environ["PATH"]},
        text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def test_a_the_export_equals_kumactls_through_the_zone_api_and_the_kubernetes_api(
        assets: Assets, running: Running) -> None:
    expected = kumactl_export(assets, running)
    kinds = {d["kind"] for d in expected}
    assert {"Mesh", "Secret", *kuma.POLICY_KINDS} <= kinds, kinds
    # Ours, beside the default policies kuma-cp makes for the default mesh.
    names = {d["metadata"]["name"] for d in expected}
    assert {p["metadata"]["name"] for p in kuma.policies(POLICIES)} <= names

    assert project_export(running, "--api-url", running.zone_api) == expected
    # The zone API through the API server's service proxy, objects listed in the Kubernetes API.
    via_kube = project_export(running, "--kube-context", ZONE, "--kubeconfig", str(running.kube.kubeconfig))
    assert via_kube == expected


class KumaApi:
    """GETs on a control plane's HTTP API with its admin token."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.http = urllib3.PoolManager(timeout=10.0, retries=False)

    def get(self, path: str) -> Any:
        answer = self.http.request("GET", self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status == 200, (path, answer.status, answer.data[:500])
        return json.loads(answer.data)


def global_api(running: Running) -> KumaApi:
    return KumaApi(running.federation.control_plane_api(GLOBAL), kuma.admin_token(running.kube, GLOBAL))


def test_b_pulumi_up_federates_the_zone_over_real_kds_through_real_webhooks(
        assets: Assets, running: Running, tmp_path: Path) -> None:
    exported = kumactl_export(assets, running)
    before = control_plane_pods(running)
    address = running.federation.control_plane_address(GLOBAL)
    config, secrets = kds_tls_config(assets, running, address)
    stack = Pulumi(assets, clone_project(tmp_path / "project"), tmp_path / "backend", tmp_path / "home",
                   "tier2")
    stack.init(config, secrets=secrets)
    stack.up()
    if "mesh-federation:kdsTls" not in config:
        # The default mode: the global serves KDS with the certificate the program made with
        # pulumi-tls, which the zone (online below, never told to skip verification) verified.
        generated = running.kube.get_json(GLOBAL, "secret", KDS_SERVER_SECRET, "-n", kuma.SYSTEM_NAMESPACE)
        assert {"tls.crt", "tls.key", "ca.crt"} <= set(generated["data"]), generated["metadata"]

    # The program's own check step passed against the real global and zone APIs.
    check = stack.outputs()["zones"][ZONE]["check"]
    assert isinstance(check, dict) and check.get("online") is True, check
    # The zone online on the global, over real KDS.
    overview = global_api(running).get(f"/zones/{ZONE}/_overview")
    last = overview["zoneInsight"]["subscriptions"][-1]
    assert last.get("connectTime") and not last.get("disconnectTime"), last
    # Every copy accepted on the global by its real webhooks, after the global release (its CRDs and
    # webhooks) was deployed.
    created: list[tuple[Mapping[str, Any], int]] = []
    for document in exported:
        meta = document["metadata"]
        kind = "secret" if document["kind"] == "Secret" else f"{document['kind'].lower()}.kuma.io"
        args = [kind, meta["name"], *(["-n", meta["namespace"]] if meta.get("namespace") else [])]
        live = running.kube.get_json(GLOBAL, *args)
        created.append((document, int(live["metadata"]["resourceVersion"])))
    assert_copied_after_the_global_release(running, created)
    # The zone's data plane proxies (made by its kuma-cp from the demo pods) synced to the global.
    proxies = global_api(running).get("/meshes/default/dataplanes")["items"]
    assert len([p for p in proxies if (p.get("labels") or {}).get("kuma.io/zone") == ZONE]) == 2, proxies
    # The zone restarted from the new template (a new pod), in zone mode, with the program's values.
    after = control_plane_pods(running)
    assert len(after) == 1 and after != before, (before, after)
    values = json.loads(running.kube.helm(ZONE, "get", "values", kuma.RELEASE, "-n", kuma.SYSTEM_NAMESPACE,
                                          "-o", "json").stdout)
    assert values["controlPlane"]["kdsGlobalAddress"].startswith("grpcs://")
    assert '"skipVerify": true' not in json.dumps(values), values
    assert values["controlPlane"]["resources"]["requests"]["cpu"] == kuma.USER_VALUE[1]


def kds_tls_config(assets: Assets, running: Running, address: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The default `kdsTls.mode: generated` (what a user gets without setting anything) where the
    real pulumi-tls plugin is installed, with global.kdsAddress the address zones dial; else
    `provided`, with a certificate for that address (the TLS provider has no stand-in)."""
    if real_tls_missing_reason(Tools(assets.cache)) is None:
        config = stack_config(str(running.kube.kubeconfig), GLOBAL, {ZONE: ZONE}, kds_tls(address))
        del config["mesh-federation:kdsTls"]
        config["mesh-federation:global"] = {"kubeContext": GLOBAL, "kdsAddress": address}
        return config, {}
    tls = kds_tls(address)
    return (stack_config(str(running.kube.kubeconfig), GLOBAL, {ZONE: ZONE}, tls),
            {SERVER_KEY: tls.key_pem})


def assert_copied_after_the_global_release(running: Running,
                                           created: list[tuple[Mapping[str, Any], int]]) -> None:
    """A never-updated object's resourceVersion is etcd's revision at its creation. The real kuma-cp
    updates some copies after they are made (mesh Secrets), so resourceVersions order creations
    only one way: a copy below the release's last Helm record was created before it (tier 1's
    kumactl-order check, on resourceVersions, does not hold here)."""
    records = running.kube.get_json(GLOBAL, "secrets", "-n", kuma.SYSTEM_NAMESPACE,
                                    "-l", f"owner=helm,name={kuma.RELEASE}")
    deployed = max(int(r["metadata"]["resourceVersion"]) for r in records["items"])
    early = [d["metadata"]["name"] for d, version in created if version < deployed]
    assert not early, f"copied before the global release was deployed: {early}"


def control_plane_pods(running: Running) -> list[str]:
    pods = running.kube.get_json(ZONE, "pods", "-n", kuma.SYSTEM_NAMESPACE, "-l", "app=kuma-control-plane")
    return sorted(p["metadata"]["name"] for p in pods["items"])


def test_c_a_policy_applied_on_the_global_reaches_the_zone_under_a_hashed_name(running: Running) -> None:
    name = "from-the-global"
    policy = kuma.policies(1, prefix=f"{name}-")[0]
    policy["kind"] = "MeshCircuitBreaker"
    policy["metadata"]["name"] = name
    policy["spec"]["to"] = [{"targetRef": {"kind": "Mesh"}, "default": {
        "outlierDetection": {"disabled": False, "detectors": {"totalFailures": {"consecutive": 7}}}}}]
    kuma.apply(running.kube, GLOBAL, [policy])
    deadline = time.monotonic() + 120
    synced: list[dict[str, Any]] = []
    while not synced and time.monotonic() < deadline:
        items = running.kube.get_json(ZONE, "meshcircuitbreakers.kuma.io", "-A")["items"]
        synced = [i for i in items
                  if (i["metadata"].get("annotations") or {}).get("kuma.io/display-name") == name]
        time.sleep(1)
    assert synced, f"{name} did not reach the zone in 120 s"
    copy = synced[0]["metadata"]
    assert copy["name"] != name and copy["name"].startswith(name), copy["name"]
    assert copy["labels"]["kuma.io/origin"] == "global"


def test_d_teardown_leaves_no_process_behind(running: Running) -> None:
    pids = running.pids()
    assert len(pids) >= 6, pids  # etcd, two API servers, the node, kuma-cp and its pod for each cluster
    running.federation.stop()
    alive = [pid for pid in pids if _alive(pid)]
    assert not alive, f"still running after stop: {alive}"
    forwarders = [f for kubelet in running.federation.kubelets.values()
                  for pair in kubelet.forwards.values() for f in pair]
    assert not [f.listen_port for f in forwarders if _listening(f.listen_port)]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
