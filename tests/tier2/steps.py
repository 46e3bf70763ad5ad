"""Tier 2's bindings of local_federation.observe to its running federation (`Running`), and the
stack config the program gets."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Mapping
from typing import Any

from local_federation import kuma, observe
from local_federation.assets import Assets
from local_federation.observe import KumaApi, connected, document_key, documents
from local_federation.stack import SERVER_KEY, kds_tls, stack_config
from tests.integration.tools import Tools, real_tls_missing_reason
from tests.tier2.conftest import GLOBAL, ZONE, Running

# Re-exported for the scenarios: one import line for what they read.
__all__ = ["KumaApi", "document_key", "documents"]


def kumactl_export(assets: Assets, running: Running) -> list[dict[str, Any]]:
    """kumactl's export of the zone; its first line is the `# Product: ...` banner YAML drops."""
    text = observe.kumactl_export(assets.path("kumactl"), running.workdir, ZONE, running.zone_api,
                                  running.zone_token)
    assert text.startswith("# Product:"), text[:200]
    return documents(text)


def project_export(running: Running, *source: str) -> list[dict[str, Any]]:
    return documents(observe.program_export(running.zone_token, *source))


def global_api(running: Running) -> KumaApi:
    return KumaApi(running.federation.control_plane_api(GLOBAL), kuma.admin_token(running.kube, GLOBAL))


def zone_connected(running: Running) -> dict[str, Any]:
    """The zone's KDS subscription on the global, asserted connected (Online in the GUI)."""
    last = global_api(running).zone_subscription(ZONE)
    assert connected(last), last
    return last


def on_cluster(running: Running, cluster: str, document: Mapping[str, Any]) -> dict[str, Any] | None:
    return observe.on_cluster(running.kube, cluster, document)


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
