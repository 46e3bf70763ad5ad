"""Pods for the Deployments no process runs for (demo workloads, the zone ingress): each gets a
Pod object created through the API server, hence through Kuma's real injector webhook, then a
Running, Ready status with an address of its own (10.244.<subnet>.100+), so that kuma-cp's own
pod controller makes their Dataplanes (and the ZoneIngress of an ingress pod). No container runs:
no Envoy, no data plane traffic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from local_federation.kube import ApiServer
from local_federation.kubelet import is_control_plane
from local_federation.loop import Controller, Loop
from local_federation.podless import now, template_hash


def running_status(pod: Mapping[str, Any], address: str, host: str) -> dict[str, Any]:
    stamp = now()
    containers = [c["name"] for c in pod["spec"].get("containers") or []]
    # Native sidecars (the injected kuma-sidecar): init containers that keep running.
    sidecars = [c["name"] for c in pod["spec"].get("initContainers") or []
                if c.get("restartPolicy") == "Always"]
    return {"status": {
        "phase": "Running", "podIP": address, "podIPs": [{"ip": address}], "hostIP": host,
        "startTime": stamp,
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": stamp}
                       for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
        "containerStatuses": [{"name": name, "ready": True, "restartCount": 0, "image": name,
                               "imageID": "", "started": True, "state": {"running": {"startedAt": stamp}}}
                              for name in containers],
        "initContainerStatuses": [{"name": name, "ready": True, "restartCount": 0, "image": name,
                                   "imageID": "", "started": True,
                                   "state": {"running": {"startedAt": stamp}}} for name in sidecars],
    }}


@dataclass
class WorkloadPods(Controller):
    """Pod objects, Running and Ready, for every Deployment that is not a control plane."""

    server: ApiServer
    subnet: int
    host_address: str
    interval: float = 0.5
    errors: list[str] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)
    _loop: Loop | None = None

    loop_name: ClassVar[str] = "pods"

    def steps(self) -> Sequence[Callable[[], None]]:
        return (self._sync,)

    def _sync(self) -> None:
        pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
                for p in self._api.items("/api/v1/pods")}
        wanted: set[tuple[str, str]] = set()
        for deployment in self._api.items("/apis/apps/v1/deployments"):
            if is_control_plane(deployment) or int(deployment["spec"].get("replicas", 1)) == 0:
                continue
            meta = deployment["metadata"]
            hashed = template_hash(deployment["spec"]["template"])
            key = (meta["namespace"], f"{meta['name']}-{hashed}-podless")
            wanted.add(key)
            pod = pods.get(key)
            if pod is None:
                pod = self._create(meta["namespace"], key[1], deployment["spec"]["template"], hashed)
            if pod is not None and not (pod.get("status") or {}).get("podIP"):
                address = self._address(f"{meta['namespace']}/{meta['name']}")
                self._api.call("PATCH", f"/api/v1/namespaces/{key[0]}/pods/{key[1]}/status",
                               running_status(pod, address, self.host_address))
        for key in pods:
            if key[1].endswith("-podless") and key not in wanted and self._owned_by_us(pods[key]):
                # No kubelet confirms a graceful delete: the pod goes at once.
                self._api.call("DELETE", f"/api/v1/namespaces/{key[0]}/pods/{key[1]}?gracePeriodSeconds=0")

    @staticmethod
    def _owned_by_us(pod: Mapping[str, Any]) -> bool:
        return (pod["metadata"].get("annotations") or {}).get("podless.local/workload") == "true"

    def _address(self, deployment: str) -> str:
        if deployment not in self.addresses:
            self.addresses[deployment] = f"10.244.{self.subnet}.{100 + len(self.addresses)}"
        return self.addresses[deployment]

    def _create(self, namespace: str, name: str, template: Mapping[str, Any], hashed: str) -> Any:
        metadata = json.loads(json.dumps(template.get("metadata") or {}))
        metadata.update({"name": name, "namespace": namespace})
        metadata.setdefault("labels", {})["pod-template-hash"] = hashed
        metadata.setdefault("annotations", {})["podless.local/workload"] = "true"
        spec = json.loads(json.dumps(template["spec"]))
        spec["nodeName"] = "podless"
        return self._api.call("POST", f"/api/v1/namespaces/{namespace}/pods",
                              {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec},
                              content_type="application/json")
