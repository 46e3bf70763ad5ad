"""The guide, for real (tier 1): the real `pulumi` CLI, the pulumi-kubernetes provider, Helm and
kube-apiservers, against a zone set up as the quickstart leaves it.

What is not real here, and why: no kuma-cp runs (the Go module registry serves no
github.com/kumahq/kuma/v2), so the zone's Kuma API is the loopback fake zone serving exactly the
objects stored in the zone's API server, the chart's admission webhooks are removed as they appear
(tests/integration/clusters.py), and the federation check is off (no zone can connect to a global
that does not run). The command provider and the Python language host are the real plugins where
the tools cache has them, else stand-ins (tools/standins/); the session's summary says which
(tests/integration/tools.py). No pod runs: Deployments, Jobs and LoadBalancers are played by
PodlessControllers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from components.rules.signing_keys import travels_with_signing_keys
from local_federation.assets import REPO_ROOT
from tests.export.fake_zone import FakeZone
from tests.integration.clusters import Clusters
from tests.integration.generated_tls import (
    KDS_SERVER_SECRET,
    assert_zones_verify_the_global,
    secret_files,
)
from tests.integration.preview import assert_the_switch_is_shown
from tests.integration.pulumi_cli import Pulumi, clone_project
from tests.integration.quickstart import (
    KUMA_CHART,
    RELEASE,
    SYSTEM_NAMESPACE,
    USER_VALUE,
    apply,
    demo_objects,
    fake_zone_api,
    install_standalone,
    stored_objects,
    without_server_fields,
)
from tests.integration.tools import Tools

POLICIES = 300
KDS_ADDRESS = "127.0.0.1:5685"
ZONE_API_TOKEN = "zone-admin-api-token-plaintext"
SECRET_ENV = ("KUMA_MESH_FEDERATION_TEST_SECRET", "helm-value-secret-plaintext")
SECRET_ENV_KEY = f"mesh-federation:zones[0].values.controlPlane.envVars.{SECRET_ENV[0]}"


@dataclass
class Zone:
    name: str
    fake: FakeZone
    stored: list[dict[str, Any]]


def quickstart_zone(clusters: Clusters, name: str, policies: int = POLICIES) -> Iterator[Zone]:
    install_standalone(clusters, name)
    apply(clusters, name, demo_objects(name, policies))
    stored = stored_objects(clusters, name)
    with fake_zone_api(stored, token=f"{ZONE_API_TOKEN}-{name}") as fake:
        yield Zone(name, fake, stored)


@pytest.fixture
def zone_1(clusters: Clusters) -> Iterator[Zone]:
    yield from quickstart_zone(clusters, "zone-1")


def tls_files(ca: trustme.CA) -> tuple[str, str, str]:
    server = ca.issue_cert("127.0.0.1", "kds.integration.local")
    return (ca.cert_pem.bytes().decode(), "".join(b.bytes().decode() for b in server.cert_chain_pems),
            server.private_key_pem.bytes().decode())


def base_config(clusters: Clusters, ca_pem: str, cert_pem: str, zones: list[dict[str, Any]],
                **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "pulumi:disable-default-providers": ["kubernetes"],
        "mesh-federation:product": "kuma",
        "mesh-federation:chartVersion": "2.14.3",
        "mesh-federation:chartRepository": str(KUMA_CHART),
        "mesh-federation:namespace": SYSTEM_NAMESPACE,
        "mesh-federation:kubeconfig": str(clusters.kubeconfig),
        "mesh-federation:kdsTls": {"mode": "provided", "caCert": ca_pem, "serverCert": cert_pem},
        "mesh-federation:global": {"kubeContext": "global"},
        "mesh-federation:readyTimeoutSeconds": 120,
        "mesh-federation:zones": zones,
        # No kuma-cp runs: no zone can come online in a global (module docstring).
        "mesh-federation:check": {"enabled": False},
    }
    config.update({f"mesh-federation:{k}": v for k, v in extra.items()})
    return config


def zone_entry(zone: Zone, **extra: Any) -> dict[str, Any]:
    return {"name": zone.name, "kubeContext": zone.name, "releaseName": RELEASE,
            "api": {"url": zone.fake.base_url}, **extra}


def new_stack(tools: Tools, tmp_path: Path, name: str, backend: Path | None = None) -> Pulumi:
    project = clone_project(tmp_path / f"project-{name}")
    return Pulumi(tools, project, backend or tmp_path / "backend", tmp_path / "pulumi-home", name)


def export_documents(zone: Zone) -> list[dict[str, Any]]:
    """What the export produces for this zone: the program's own exporter, through its CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "components.export", "--api-url", zone.fake.base_url, "--quiet",
         "--profile", "federation-with-policies", "--system-namespace", SYSTEM_NAMESPACE],
        cwd=REPO_ROOT, env={"KUMA_API_TOKEN": f"{ZONE_API_TOKEN}-{zone.name}", "PATH": "/usr/bin:/bin"},
        text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def on_global(clusters: Clusters, document: Mapping[str, Any]) -> dict[str, Any] | None:
    meta = document["metadata"]
    args = [f"{document['kind'].lower()}.{str(document['apiVersion']).split('/')[0]}"
            if "/" in str(document["apiVersion"]) and document["kind"] != "Secret" else "secret",
            meta["name"]]
    if meta.get("namespace"):
        args += ["--namespace", meta["namespace"]]
    found = clusters.kubectl("global", "get", "-o", "json", *args, check=False)
    return json.loads(found.stdout) if found.returncode == 0 else None


def helm_values(clusters: Clusters, context: str) -> dict[str, Any]:
    return dict(json.loads(clusters.helm(context, "get", "values", RELEASE, "-n", SYSTEM_NAMESPACE,
                                         "-o", "json").stdout) or {})


def helm_history(clusters: Clusters, context: str) -> list[dict[str, Any]]:
    return list(json.loads(clusters.helm(context, "history", RELEASE, "-n", SYSTEM_NAMESPACE,
                                         "-o", "json").stdout))


def test_the_guide_for_real_preview_up_no_drift_way_back_destroy(
        tools: Tools, clusters: Clusters, zone_1: Zone, kds_ca: trustme.CA, tmp_path: Path) -> None:
    ca_pem, cert_pem, key_pem = tls_files(kds_ca)
    stack = new_stack(tools, tmp_path, "dev")
    # global.kdsAddress set, as the guide's user sets it (host.minikube.internal there): the
    # first preview then knows the address the zone is switched to, and shows it.
    stack.init(base_config(clusters, ca_pem, cert_pem, [zone_entry(zone_1)],
                           **{"global": {"kubeContext": "global", "kdsAddress": KDS_ADDRESS}}),
               secrets={"mesh-federation:kdsTls.serverKey": key_pem,
                        "mesh-federation:zones[0].api.token": f"{ZONE_API_TOKEN}-zone-1",
                        # A Helm value given as a secret (`config set --secret --path`).
                        f"{SECRET_ENV_KEY}": SECRET_ENV[1]})
    expected = export_documents(zone_1)
    assert len(expected) >= POLICIES + 1

    # 1. preview on the new stack lists every object to copy and the zone's switch.
    preview = stack.preview()
    for document in expected:
        assert document["metadata"]["name"] in preview.stdout, document["metadata"]["name"]
    assert_the_switch_is_shown(preview, "zone-1", f"grpcs://{KDS_ADDRESS}",
                               secrets=[f"{ZONE_API_TOKEN}-zone-1", SECRET_ENV[1],
                                        *key_pem.strip().splitlines()[1:-1]])

    # 2. up: the global release, every exported object on the global as exported, the zone
    # upgraded in place with its own value kept.
    stack.up()
    global_status = json.loads(clusters.helm("global", "status", RELEASE, "-n", SYSTEM_NAMESPACE,
                                             "-o", "json").stdout)
    assert global_status["info"]["status"] == "deployed"
    created: list[tuple[Mapping[str, Any], int]] = []
    for document in expected:
        live = on_global(clusters, document)
        assert live is not None, f"{document['kind']} {document['metadata']['name']} not on the global"
        assert without_server_fields(live) == without_server_fields(document)
        created.append((document, int(live["metadata"]["resourceVersion"])))
    assert_created_in_kumactls_order(clusters, created)
    db_password = next(d for d in expected if d["metadata"]["name"] == "default-db-password")
    live_password = on_global(clusters, db_password)
    assert live_password is not None
    assert base64.b64decode(live_password["data"]["value"]) == b"zone-1-db-password-plaintext"

    values = helm_values(clusters, "zone-1")
    control_plane = values["controlPlane"]
    assert control_plane["mode"] == "zone"
    assert control_plane["zone"] == "zone-1"
    assert control_plane["kdsGlobalAddress"] == "grpcs://127.0.0.1:5685"
    assert control_plane["resources"]["requests"]["cpu"] == USER_VALUE[1]
    assert control_plane["envVars"][SECRET_ENV[0]] == SECRET_ENV[1]
    assert values["ingress"]["enabled"] is True
    assert control_plane["tls"]["kdsZoneClient"]
    history = helm_history(clusters, "zone-1")
    assert [h["revision"] for h in history] == [1, 2]
    assert history[-1]["description"] == "Upgrade complete"

    # 3. no changes from a second clone with its own virtualenv in another directory.
    other = Pulumi(tools, clone_project(tmp_path / "elsewhere" / "clone-2"), stack.backend, stack.home,
                   stack.stack)
    (other.project / "Pulumi.dev.yaml").write_text((stack.project / "Pulumi.dev.yaml").read_text())
    other.preview("--expect-no-changes")

    # 4. no secret in plaintext anywhere in the backend.
    state = stack.state_text()
    secrets = [f"{ZONE_API_TOKEN}-zone-1", "zone-1-db-password-plaintext",
               "zone-1-admin-user-token-plaintext", key_pem.splitlines()[1], SECRET_ENV[1]]
    secrets += [base64.b64encode(s.encode()).decode() for s in secrets[1:3]]
    for secret in secrets:
        assert secret not in state, f"plaintext secret in the state: {secret[:12]}..."

    # 5. the way back: standalone values again, the copies stay on the global.
    stack.write_config({"mesh-federation:zones": _with_federated_false(stack)})
    stack.up()
    # The 2.x chart knows modes zone and global: a zone without a global address is standalone
    # (charts/kuma/values.yaml `controlPlane.mode`, templates/_helpers.tpl).
    back_values = helm_values(clusters, "zone-1")
    back = back_values["controlPlane"]
    assert (back["mode"], back["kdsGlobalAddress"]) == ("zone", "")
    assert back_values["ingress"]["enabled"] is False
    assert back["resources"]["requests"]["cpu"] == USER_VALUE[1]
    assert all(on_global(clusters, d) is not None for d in expected)

    # 6. destroy leaves the zone release and the copies in place.
    revision = helm_history(clusters, "zone-1")[-1]["revision"]
    stack.destroy()
    assert helm_history(clusters, "zone-1")[-1]["revision"] == revision
    assert all(on_global(clusters, d) is not None for d in expected)


def assert_created_in_kumactls_order(clusters: Clusters,
                                     created: list[tuple[Mapping[str, Any], int]]) -> None:
    """The order the real engine created the copies in, as the global's API server recorded it:
    after the global release was deployed (its CRDs and, where kuma-cp runs, its webhooks), each
    Mesh before its Secrets, those before its policies, token signing keys last. A never-updated
    object's resourceVersion is etcd's revision at its creation, one counter for the whole
    cluster (opaque to clients in general; compared here, where the store is known to be etcd)."""
    records = clusters.get_json("global", "secrets", "-n", SYSTEM_NAMESPACE,
                                "-l", f"owner=helm,name={RELEASE}")
    deployed = max(int(r["metadata"]["resourceVersion"]) for r in records["items"])
    assert min(version for _, version in created) > deployed, "a copy was created before the release"
    meshes = [v for d, v in created if d["kind"] == "Mesh"]
    mesh_secrets = [v for d, v in created if d.get("type") == "system.kuma.io/secret"]
    policies = [v for d, v in created
                if str(d["apiVersion"]).startswith("kuma.io/") and d["kind"] != "Mesh"]
    # The signing keys and the admin token signed with them (components/rules/signing_keys.py).
    signing = [v for d, v in created if travels_with_signing_keys(d)]
    assert meshes and mesh_secrets and policies and signing
    assert max(meshes) < min(mesh_secrets), "a mesh Secret was created before its Mesh"
    assert max(mesh_secrets) < min(policies), "a policy was created before its mesh's Secrets"
    others = [v for d, v in created if not travels_with_signing_keys(d)]
    assert min(signing) > max(others), "signing keys not last"


def _with_federated_false(stack: Pulumi) -> Any:
    current = yaml.safe_load((stack.project / f"Pulumi.{stack.stack}.yaml").read_text())
    zones = current["config"]["mesh-federation:zones"]
    zones[0]["federated"] = False
    return zones


def test_split_stacks_a_zones_stack_reads_its_global_through_a_real_stack_reference(
        tools: Tools, clusters: Clusters, zone_1: Zone, kds_ca: trustme.CA, tmp_path: Path) -> None:
    ca_pem, cert_pem, key_pem = tls_files(kds_ca)
    global_stack = new_stack(tools, tmp_path, "global-prod")
    global_stack.init(base_config(clusters, ca_pem, cert_pem, [], role="global"),
                      secrets={"mesh-federation:kdsTls.serverKey": key_pem})
    global_stack.up()
    kds_url = global_stack.outputs()["kdsUrl"]
    assert kds_url == "grpcs://127.0.0.1:5685"

    zones_stack = new_stack(tools, tmp_path, "zones-team-a", backend=global_stack.backend)
    zones_stack.init(base_config(clusters, ca_pem, cert_pem, [zone_entry(zone_1)], role="zones",
                                 globalStack="organization/mesh-federation/global-prod"),
                     secrets={"mesh-federation:kdsTls.serverKey": key_pem,
                              "mesh-federation:zones[0].api.token": f"{ZONE_API_TOKEN}-zone-1"})
    zones_stack.up()
    assert helm_values(clusters, "zone-1")["controlPlane"]["kdsGlobalAddress"] == kds_url
    # A zones stack never replaces the keys of a global another stack owns: every object but the
    # signing keys and the admin token signed with them (components/rules/signing_keys.py).
    copied = [d for d in export_documents(zone_1) if not travels_with_signing_keys(d)]
    assert copied and all(on_global(clusters, d) is not None for d in copied)
    signing_key = next(d for d in export_documents(zone_1) if travels_with_signing_keys(d))
    assert on_global(clusters, signing_key) is None
    zones_stack.preview("--expect-no-changes")


def test_a_fleet_of_two_zones_registers_what_both_export_once(
        real_tls_plugin: None, tools: Tools, clusters: Clusters, kds_ca: trustme.CA,
        tmp_path: Path) -> None:
    """Also the default `kdsTls.mode: generated` (pulumi-tls), the only scenario on it."""
    shared = demo_objects("fleet", 60)
    zones: list[Zone] = []
    with contextlib.ExitStack() as running:
        for name in ("zone-1", "zone-2"):
            install_standalone(clusters, name)
            own = [p for p in demo_objects(name, 70) if p["kind"] not in ("Mesh", "Secret")][60:]
            for policy in own:
                policy["metadata"]["name"] = f"{name}-{policy['metadata']['name']}"
            apply(clusters, name, [*shared, *own])
            stored = stored_objects(clusters, name)
            fake = running.enter_context(fake_zone_api(stored, token=f"{ZONE_API_TOKEN}-{name}"))
            zones.append(Zone(name, fake, stored))
        stack = new_stack(tools, tmp_path, "fleet")
        config = base_config(clusters, "", "", [zone_entry(z) for z in zones],
                             **{"global": {"kubeContext": "global", "kdsAddress": "127.0.0.1"}})
        del config["mesh-federation:kdsTls"]  # the default mode: generated
        stack.init(config, secrets={f"mesh-federation:zones[{i}].api.token": f"{ZONE_API_TOKEN}-{z.name}"
                                    for i, z in enumerate(zones)})
        stack.up()
        kds_secret = clusters.get_json("global", "secret", KDS_SERVER_SECRET, "-n", SYSTEM_NAMESPACE)
        assert_zones_verify_the_global(
            kds_secret, {z.name: helm_values(clusters, z.name)["controlPlane"]["tls"]["kdsZoneClient"]["cert"]
                         for z in zones}, other_ca_pem=kds_ca.cert_pem.bytes().decode())
        assert secret_files(kds_secret)["tls.key"].splitlines()[1] not in stack.state_text()
        exports = {z.name: export_documents(z) for z in zones}
        union = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
                 for docs in exports.values() for d in docs}
        copies = [r for r in stack.resources()
                  if r.get("parent", "").endswith("ExportedMeshResources::exported")]
        registered = {(r["outputs"]["kind"], r["outputs"]["metadata"].get("namespace"),
                       r["outputs"]["metadata"]["name"]) for r in copies}
        assert len(copies) == len(registered), "an object registered twice"
        assert registered == union
        assert len(copies) < sum(len(docs) for docs in exports.values())
        for zone in zones:
            assert helm_values(clusters, zone.name)["controlPlane"]["zone"] == zone.name


def test_a_zone_api_failing_mid_export_fails_the_up_and_the_state_holds_nothing_new(
        tools: Tools, clusters: Clusters, zone_1: Zone, kds_ca: trustme.CA, tmp_path: Path) -> None:
    served: list[str] = []

    def fail_after_some(handler: Any, path: str, query: Mapping[str, str]) -> bool:
        served.append(path)
        if len(served) > 40 and "/meshtimeouts/" in path:
            handler.send_error(500, "injected failure")
            return True
        return False

    zone_1.fake.fault = fail_after_some
    ca_pem, cert_pem, key_pem = tls_files(kds_ca)
    stack = new_stack(tools, tmp_path, "dev")
    stack.init(base_config(clusters, ca_pem, cert_pem, [zone_entry(zone_1)]),
               secrets={"mesh-federation:kdsTls.serverKey": key_pem,
                        "mesh-federation:zones[0].api.token": f"{ZONE_API_TOKEN}-zone-1"})
    failed = stack.up(check=False)
    assert failed.returncode != 0
    assert "zone-1" in failed.stdout + failed.stderr and "500" in failed.stdout + failed.stderr
    assert [r["type"] for r in stack.resources() if r["type"] != "pulumi:pulumi:Stack"] == []
    assert clusters.helm("global", "list", "-A", "-o", "json").stdout.strip() in ("[]", "")
    assert helm_history(clusters, "zone-1")[-1]["revision"] == 1
