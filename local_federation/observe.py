"""What a running federation shows, read the way a user reads it (tier 2, the bench and
`tools/local status` share these): a control plane's HTTP API with its admin token, whether a zone
is online on the global, `kumactl export` and this project's export of a zone, and whether an
exported object is on a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
import yaml

from local_federation import kuma
from local_federation.assets import REPO_ROOT
from local_federation.kube import Kube

PROFILE = "federation-with-policies"


class KumaApiError(Exception):
    """A control plane's API answered something other than 200 to a GET."""

    def __init__(self, path: str, status: int, body: bytes) -> None:
        super().__init__(f"GET {path}: HTTP {status}: {body[:500]!r}")
        self.status = status


class KumaApi:
    """GETs on a control plane's HTTP API with a token (its admin token: the chart turns
    localhost-is-admin off)."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url, self.token = url, token
        self.http = urllib3.PoolManager(timeout=timeout, retries=False)

    def get(self, path: str) -> Any:
        answer = self.http.request("GET", self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        if answer.status != 200:
            raise KumaApiError(path, answer.status, answer.data)
        return json.loads(answer.data)

    def zone_subscription(self, zone: str) -> dict[str, Any]:
        """The zone's last KDS subscription on this global ({} before its first)."""
        subscriptions = self.get(f"/zones/{zone}/_overview").get("zoneInsight", {}).get("subscriptions")
        return dict((subscriptions or [{}])[-1])


def connected(subscription: Mapping[str, Any]) -> bool:
    """What the global's GUI shows as Online: the last subscription connected and not closed."""
    return bool(subscription.get("connectTime") and not subscription.get("disconnectTime"))


def connected_for(subscription: Mapping[str, Any]) -> float:
    """Seconds a connected subscription has been connected."""
    since = datetime.fromisoformat(str(subscription["connectTime"]).replace("Z", "+00:00"))
    return (datetime.now(UTC) - since).total_seconds()


def zone_online(api: KumaApi, zone: str) -> bool:
    """Whether the global says the zone is online; False while the global does not answer."""
    try:
        return connected(api.zone_subscription(zone))
    except (KumaApiError, urllib3.exceptions.HTTPError):
        return False


def documents(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML stream (comments and empty documents dropped)."""
    return [d for d in yaml.safe_load_all(text) if d]


def document_key(document: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = document["metadata"]
    return (document["kind"], meta.get("namespace") or "", meta["name"])


def kumactl_export(kumactl: str, workdir: Path, zone: str, api_url: str, token: str,
                   timeout: float = 300) -> str:
    """`kumactl export --profile=federation-with-policies --format=kubernetes` of a zone, as the
    guide runs it (its first line is a `# Product: ...` comment); kumactl's config in `workdir`."""
    config = ["--config-file", str(workdir / "kumactl.config")]
    subprocess.run([kumactl, *config, "config", "control-planes", "add", "--name", zone, "--address", api_url,
                    "--auth-type", "tokens", "--auth-conf", f"token={token}", "--overwrite"],
                   check=True, capture_output=True, text=True, timeout=60)
    result = subprocess.run([kumactl, *config, "export", f"--profile={PROFILE}", "--format=kubernetes"],
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"kumactl export failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def program_export(token: str, *source: str, timeout: float = 300) -> str:
    """This project's export of a zone (`python -m components.export`), from `source`: either
    `--api-url URL` or `--kube-context CONTEXT --kubeconfig PATH`."""
    result = subprocess.run(
        [sys.executable, "-m", "components.export", *source, "--quiet", "--profile", PROFILE,
         "--system-namespace", kuma.SYSTEM_NAMESPACE],
        cwd=REPO_ROOT, env={"KUMA_API_TOKEN": token, "PATH": os.environ["PATH"]},
        text=True, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"the export failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def on_cluster(kube: Kube, cluster: str, document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The live object an exported document names, on `cluster`, or None."""
    meta = document["metadata"]
    kind = "secret" if document["kind"] == "Secret" else f"{document['kind'].lower()}.kuma.io"
    args = [kind, meta["name"], *(["-n", meta["namespace"]] if meta.get("namespace") else [])]
    found = kube.kubectl(cluster, "get", "-o", "json", *args, check=False)
    return dict(json.loads(found.stdout)) if found.returncode == 0 else None
