"""The guide against the real Kuma control plane (tier 2), one federation for the module, in
order: the export equals kumactl's; the preview shows every copy and the switch, and `pulumi up`
federates the zone over real KDS through real webhooks; a policy made on the global reaches the
zone; a second clone sees no changes; the GUI lists the zone online; the way back; nothing is
left running afterwards.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.resources.global_control_plane import KDS_SERVER_SECRET
from local_federation import kuma
from local_federation.assets import REPO_ROOT, Assets
from local_federation.observe import connected_for
from local_federation.pulumi_cli import Pulumi, clone_project
from tests.integration.preview import assert_the_switch_is_shown
from tests.tier2.conftest import GLOBAL, POLICIES, ZONE, Running, gui_missing_reason
from tests.tier2.steps import (
    KumaApi,
    control_plane_pods,
    document_key,
    documents,
    global_api,
    kds_tls_config,
    kumactl_export,
    on_cluster,
    project_export,
    secret_values,
    zone_connected,
)

# Kuma's API server's default page size (pkg/api-server: `size` when none is given).
KUMA_API_PAGE = 100
# Kept after the run (gitignored): the GUI's zone list as Chromium rendered it.
GUI_ARTIFACTS = REPO_ROOT / "test-artifacts" / "tier2"


def test_a_the_export_equals_kumactls_through_the_zone_api_and_the_kubernetes_api(
        assets: Assets, running: Running) -> None:
    """Apart from one difference: kumactl 2.14.3 lists each type once without paging
    (pkg/plugins/resources/remote/store.go `List`: no `size`, no `offset`), so it gets the API's
    default page of 100 and never follows `next`: past 100 objects of a type in a mesh, it drops
    the rest, silently. The export pages (components/clients/paging.py) and keeps them."""
    by_kumactl = kumactl_export(assets, running)
    ours = project_export(running, "--api-url", running.zone_api)
    (running.workdir / "export-before.yaml").write_text(yaml.safe_dump_all(ours))
    kinds = {d["kind"] for d in ours}
    assert {"Mesh", "Secret", *kuma.POLICY_KINDS} <= kinds, kinds
    # Every policy applied, beside the default policies kuma-cp makes for the default mesh.
    assert {p["metadata"]["name"] for p in kuma.policies(POLICIES)} <= {d["metadata"]["name"] for d in ours}

    seen_by_kumactl = {document_key(d) for d in by_kumactl}
    beyond_a_page = [d for d in ours if document_key(d) not in seen_by_kumactl]
    assert [d for d in ours if document_key(d) in seen_by_kumactl] == by_kumactl
    per_type = Counter(d["kind"] for d in ours)
    assert Counter(d["kind"] for d in beyond_a_page) == {
        kind: count - KUMA_API_PAGE for kind, count in per_type.items() if count > KUMA_API_PAGE}
    # The zone API through the API server's service proxy, objects listed in the Kubernetes API.
    via_kube = project_export(running, "--kube-context", ZONE, "--kubeconfig", str(running.kube.kubeconfig))
    assert via_kube == ours


def exported_before(running: Running) -> list[dict[str, Any]]:
    """The zone's objects as scenario (a) exported them (kept in the workdir)."""
    return documents((running.workdir / "export-before.yaml").read_text())


def test_b_pulumi_up_federates_the_zone_over_real_kds_through_real_webhooks(
        assets: Assets, running: Running, tmp_path: Path) -> None:
    exported = exported_before(running)
    before = control_plane_pods(running)
    address = running.federation.control_plane_address(GLOBAL)
    config, secrets = kds_tls_config(assets, running, address)
    stack = Pulumi(assets, clone_project(tmp_path / "project"), tmp_path / "backend", tmp_path / "home",
                   "tier2")
    stack.init(config, secrets=secrets)

    # The preview: every copy, and the zone's switch beside what the real zone's /config says it
    # runs with now; no secret of the zone's (its admin token, its Secrets' data) in any shape.
    preview = stack.preview()
    for document in exported:
        assert document["metadata"]["name"] in preview.stdout, document["metadata"]["name"]
    zone_now = KumaApi(running.zone_api, running.zone_token).get("/config")["multizone"]["zone"]["name"]
    assert_the_switch_is_shown(preview, ZONE, f"grpcs://{address}:5685", zone_now=zone_now or "none",
                               secrets=[running.zone_token, *secret_values(exported), *secrets.values()])

    stack.up()
    running.stack = stack
    if "mesh-federation:kdsTls" not in config:
        # The default mode: the global serves KDS with the certificate the program made with
        # pulumi-tls, which the zone (online below, never told to skip verification) verified.
        generated = running.kube.get_json(GLOBAL, "secret", KDS_SERVER_SECRET, "-n", kuma.SYSTEM_NAMESPACE)
        assert {"tls.crt", "tls.key", "ca.crt"} <= set(generated["data"]), generated["metadata"]

    # The program's own check step passed against the real global and zone APIs.
    check = stack.outputs()["zones"][ZONE]["check"]
    assert isinstance(check, dict) and check.get("online") is True, check
    # The zone online on the global, over real KDS.
    zone_connected(running)
    # Every copy accepted on the global by its real webhooks, after the global release (its CRDs and
    # webhooks) was deployed.
    created: list[tuple[Mapping[str, Any], int]] = []
    for document in exported:
        live = on_cluster(running, GLOBAL, document)
        assert live is not None, f"{document['kind']} {document['metadata']['name']} not on the global"
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


def federated_stack(running: Running) -> Pulumi:
    assert running.stack is not None, "scenario (b) federates the zone first"
    return running.stack


def test_d_a_second_clone_sees_no_changes_with_synced_copies_on_both_sides(
        assets: Assets, running: Running, tmp_path: Path) -> None:
    stack = federated_stack(running)
    # Synced copies on both sides, as kuma-cp names them: the zone's proxies on the global, the
    # global's policy (scenario c) on the zone, each under a hashed name with its display name.
    proxies = [d for d in running.kube.get_json(GLOBAL, "dataplanes.kuma.io", "-A")["items"]
               if (d["metadata"].get("labels") or {}).get("kuma.io/zone") == ZONE]
    assert proxies and all(synced_copy(d) for d in proxies), proxies
    from_global = [p for p in running.kube.get_json(ZONE, "meshcircuitbreakers.kuma.io", "-A")["items"]
                   if (p["metadata"].get("labels") or {}).get("kuma.io/origin") == "global"]
    assert from_global and all(synced_copy(p) for p in from_global), from_global

    other = Pulumi(assets, clone_project(tmp_path / "elsewhere" / "clone-2"), stack.backend, stack.home,
                   stack.stack)
    stack_file = f"Pulumi.{stack.stack}.yaml"
    (other.project / stack_file).write_text((stack.project / stack_file).read_text())
    other.preview("--expect-no-changes")
    # Again after the zone has synced for a while (its KDS connection half a minute old, the
    # global's own insights and the zone's resyncs written meanwhile).
    time.sleep(max(0.0, 30 - connected_for(zone_connected(running))))
    other.up("--expect-no-changes")


def synced_copy(item: Mapping[str, Any]) -> bool:
    """kuma-cp's name for a synced object: hashed, its own name in `kuma.io/display-name`."""
    meta = item["metadata"]
    shown = (meta.get("annotations") or {}).get("kuma.io/display-name")
    return bool(shown) and meta["name"] != shown and meta["name"].startswith(shown)


def test_e_the_guide_s_gui_step_lists_the_zone_online(running: Running) -> None:
    """The guide's last check by eye, automated: the global's GUI (served by kuma-cp at /gui, the
    zone control plane list) in headless Chromium shows zone-1 online. The screenshot is kept
    (GUI_ARTIFACTS)."""
    missing = gui_missing_reason()
    if missing:
        pytest.skip(missing)
    browser = str(shutil.which("chromium"))
    GUI_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = f"{running.federation.control_plane_api(GLOBAL)}/gui/zones"
    # Root runs Chromium only without its sandbox; the page needs a few seconds of its own clock
    # to fetch the zones from the API and render them.
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
              "--virtual-time-budget=20000", f"--user-data-dir={GUI_ARTIFACTS / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    (GUI_ARTIFACTS / "zones.html").write_text(page)
    screenshot = GUI_ARTIFACTS / "zones.png"
    shot = subprocess.run([*common, f"--screenshot={screenshot}", url], capture_output=True, text=True,
                          timeout=180)
    assert shot.returncode == 0 and screenshot.stat().st_size > 0, shot.stderr[-2000:]
    row = zone_row(page, ZONE)
    assert re.search(r"\bonline\b", row, re.IGNORECASE), row


def zone_row(page: str, zone: str) -> str:
    """The text of the zone list's table row that names `zone` (tags stripped)."""
    for row in re.findall(r"<tr\b.*?</tr>", page, re.DOTALL):
        text = _text(row)
        if re.search(rf"\b{re.escape(zone)}\b", text):
            return text
    raise AssertionError(f"no row for {zone} in the GUI's zone list: {_text(page)[:1500]}")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_f_the_way_back_returns_the_zone_to_standalone_with_its_objects(
        assets: Assets, running: Running) -> None:
    stack = federated_stack(running)
    own = exported_before(running)
    before = control_plane_pods(running)
    current = yaml.safe_load((stack.project / f"Pulumi.{stack.stack}.yaml").read_text())
    zones = current["config"]["mesh-federation:zones"]
    zones[0]["federated"] = False
    stack.write_config({"mesh-federation:zones": zones})
    stack.up()

    values = json.loads(running.kube.helm(ZONE, "get", "values", kuma.RELEASE, "-n", kuma.SYSTEM_NAMESPACE,
                                          "-o", "json").stdout)
    assert (values["controlPlane"]["mode"], values["controlPlane"]["kdsGlobalAddress"]) == ("zone", "")
    assert values["controlPlane"]["resources"]["requests"]["cpu"] == kuma.USER_VALUE[1]
    after = control_plane_pods(running)
    assert len(after) == 1 and after != before, (before, after)
    # The restarted zone serves its API as a standalone control plane, its own objects intact.
    zone = KumaApi(running.zone_api, kuma.admin_token(running.kube, ZONE))
    assert not zone.get("/config")["multizone"]["zone"].get("globalAddress"), "still federated"
    for document in own:
        assert on_cluster(running, ZONE, document) is not None, document["metadata"]["name"]
    # One page of all (the API pages by 100); names in Kubernetes mode are `<name>.<namespace>`.
    names = {p["name"] for p in zone.get("/meshes/default/meshtimeouts?size=1000")["items"]}
    assert {f"{p['metadata']['name']}.{kuma.SYSTEM_NAMESPACE}" for p in kuma.policies(POLICIES)
            if p["kind"] == "MeshTimeout"} <= names
    # The copies stay on the global (README, "The way back").
    for document in own:
        assert on_cluster(running, GLOBAL, document) is not None, document["metadata"]["name"]


def test_z_teardown_leaves_no_process_behind(running: Running) -> None:
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
