"""What tier 2's scenarios do and read on a running federation: kumactl's export of the zone, the
stack config the program gets, the control planes' APIs, objects on either cluster."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import urllib3
import yaml

from local_federation import kuma
from local_federation.assets import REPO_ROOT, Assets
from local_federation.stack import SERVER_KEY, kds_tls, stack_config
from tests.integration.tools import Tools, real_tls_missing_reason
from tests.tier2.conftest import GLOBAL, ZONE, Running

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



def secret_values(documents: list[dict[str, Any]]) -> list[str]:
    """Every Secret's data value, base64 as stored and decoded where it is text."""
    found: list[str] = []
    for document in documents:
        for value in (document.get("data") or {}).values() if document["kind"] == "Secret" else ():
            found.append(value)
            with contextlib.suppress(ValueError):
                found.append(base64.b64decode(value).decode())
    return [v for v in found if len(v) >= 8]



def kds_tls_config(assets: Assets, running: Running, address: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The default `kdsTls.mode: generated` (what a user gets without setting anything) where the
    real pulumi-tls plugin is installed; else `provided`, with a certificate for that address (the
    TLS provider has no stand-in). global.kdsAddress the address zones dial, as the guide's user
    sets it: the first preview knows the address the zone is switched to."""
    tls = kds_tls(address)
    config = stack_config(str(running.kube.kubeconfig), GLOBAL, {ZONE: ZONE}, tls)
    config["mesh-federation:global"] = {"kubeContext": GLOBAL, "kdsAddress": address}
    if real_tls_missing_reason(Tools(assets.cache)) is None:
        del config["mesh-federation:kdsTls"]
        return config, {}
    return config, {SERVER_KEY: tls.key_pem}



def control_plane_pods(running: Running) -> list[str]:
    pods = running.kube.get_json(ZONE, "pods", "-n", kuma.SYSTEM_NAMESPACE, "-l", "app=kuma-control-plane")
    return sorted(p["metadata"]["name"] for p in pods["items"])



def kds_connected_for(running: Running) -> float:
    """Seconds the zone's current KDS subscription to the global has been connected."""
    last = global_api(running).get(f"/zones/{ZONE}/_overview")["zoneInsight"]["subscriptions"][-1]
    assert last.get("connectTime") and not last.get("disconnectTime"), last
    connected = datetime.fromisoformat(last["connectTime"].replace("Z", "+00:00"))
    return (datetime.now(UTC) - connected).total_seconds()



def on_cluster(running: Running, cluster: str, document: Mapping[str, Any]) -> dict[str, Any] | None:
    meta = document["metadata"]
    kind = "secret" if document["kind"] == "Secret" else f"{document['kind'].lower()}.kuma.io"
    args = [kind, meta["name"], *(["-n", meta["namespace"]] if meta.get("namespace") else [])]
    found = running.kube.kubectl(cluster, "get", "-o", "json", *args, check=False)
    return dict(json.loads(found.stdout)) if found.returncode == 0 else None


def document_key(document: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = document["metadata"]
    return (document["kind"], meta.get("namespace") or "", meta["name"])


def project_export(running: Running, *source: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "components.export", *source, "--quiet", "--profile", PROFILE,
         "--system-namespace", kuma.SYSTEM_NAMESPACE],
        cwd=REPO_ROOT, env={"KUMA_API_TOKEN": running.zone_token, "PATH": os.environ["PATH"]},
        text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)
