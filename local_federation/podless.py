"""The controllers Helm, kubectl and the program wait on, played without pods, and says so:

- a Deployment gets the ReplicaSet the deployment controller would make (its template, the
  `pod-template-hash` label, the controller owner reference) and both get a rolled-out status
  once its pods are ready: at once, unless a `readiness` gate says otherwise (the kuma-cp
  kubelet's: the real process answers its readiness probe). Helm's wait finds the new ReplicaSet
  ready (helm pkg/kube/ready.go), `kubectl rollout status` sees generation observed and replicas
  updated and available;
- a Job (the chart's hook Jobs) is marked succeeded, as the job controller would once its pod
  exited 0: Helm waits for hook Jobs to complete;
- a LoadBalancer Service gets an ingress address through the status subresource, as a cloud
  controller would: the address of a ready pod it selects when pods have addresses (a
  ServiceLB on the pods' network), else `load_balancer_ip`;
- Endpoints and an EndpointSlice for every Service with a selector, from the ready pods it
  selects (the endpoints and EndpointSlice controllers): the API server calls webhooks and proxies
  `services/<name>:<port>/proxy` through them;
- the kuma chart's admission webhooks are deleted as soon as they appear when
  `delete_webhooks` is set (tier 1 only, where no kuma-cp runs to serve them: with
  `failurePolicy: Fail` every kuma.io write would fail);
- a foreground delete (pulumi-kubernetes' default) completes, as the garbage collector would
  complete it for an object without dependents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from local_federation.kube import ApiServer, KubeRest
from local_federation.loop import Controller, Loop

# The namespaced kinds whose foreground deletes PodlessControllers completes.
GARBAGE_COLLECTED = (("/api/v1", "secrets"), ("/api/v1", "configmaps"), ("/api/v1", "services"),
                     ("/api/v1", "serviceaccounts"), ("/apis/apps/v1", "deployments"),
                     ("/apis/apps/v1", "replicasets"), ("/apis/batch/v1", "jobs"))
Readiness = Callable[[Mapping[str, Any], str], bool]  # (deployment, template hash) -> ready


def template_hash(template: Mapping[str, Any]) -> str:
    """The pod template's hash, as the ReplicaSet's name and `pod-template-hash` carry it."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_is_ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    return bool(status.get("podIP")) and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


NODE_NAME = "podless"


def register_node(server: ApiServer, address: str) -> None:
    """The Node the pods are bound to (`spec.nodeName`), Ready, as a kubelet registers it: kuma-cp's
    pod controller reads the pod's Node when it makes a Dataplane ("unable to get Node")."""
    api = KubeRest(server)
    api.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"}}},
        content_type="application/json")
    stamp = now()
    api.call("PATCH", f"/api/v1/nodes/{NODE_NAME}/status", {"status": {
        "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": NODE_NAME}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}})


@dataclass
class PodlessControllers(Controller):
    """The controllers Helm, kubectl and the program wait on, played without pods (module doc)."""

    server: ApiServer
    load_balancer_ip: str = "127.0.0.1"
    delete_webhooks: bool = True
    readiness: Readiness | None = None
    interval: float = 0.3
    errors: list[str] = field(default_factory=list)
    _loop: Loop | None = None

    loop_name: ClassVar[str] = "podless"

    def steps(self) -> Sequence[Callable[[], None]]:
        return (self._deployments, self._jobs, self._endpoints, self._load_balancers, self._webhooks,
                self._garbage_collector)

    # -- the deployment controller ------------------------------------------------------------

    def _deployments(self) -> None:
        for deployment in self._api.items("/apis/apps/v1/deployments"):
            self._roll_out(deployment)

    def _roll_out(self, deployment: dict[str, Any]) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        namespace, name = meta["namespace"], meta["name"]
        apps = f"/apis/apps/v1/namespaces/{namespace}"
        replicas = int(spec.get("replicas", 1))
        template = json.loads(json.dumps(spec["template"]))
        hashed = template_hash(template)
        rs_name = f"{name}-{hashed}"
        owned = [rs for rs in self._api.items(f"{apps}/replicasets")
                 if any(ref.get("uid") == meta["uid"] for ref in rs["metadata"].get("ownerReferences", []))]
        current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
        if current is None:
            revision = 1 + max((int(rs["metadata"].get("annotations", {}).get(
                "deployment.kubernetes.io/revision", "0")) for rs in owned), default=0)
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = hashed
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})["pod-template-hash"] = hashed
            current = self._api.call("POST", f"{apps}/replicasets", {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name, "namespace": namespace, "labels": template["metadata"]["labels"],
                    "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                         "uid": meta["uid"], "controller": True,
                                         "blockOwnerDeletion": True}],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": template},
            }, content_type="application/json")
            if current is None:
                return
            # Older ReplicaSets scale down, as the rollout replaces their pods.
            for old in owned:
                old_name = old["metadata"]["name"]
                self._api.call("PATCH", f"{apps}/replicasets/{old_name}", {"spec": {"replicas": 0}})
                self._api.call("PATCH", f"{apps}/replicasets/{old_name}/status", {"status": {
                    "replicas": 0, "fullyLabeledReplicas": 0, "readyReplicas": 0,
                    "availableReplicas": 0}})
        if int(current["spec"].get("replicas", 1)) != replicas:
            # A template rolled back to: its old ReplicaSet scales up again.
            self._api.call("PATCH", f"{apps}/replicasets/{rs_name}", {"spec": {"replicas": replicas}})
        ready = replicas if self.readiness is None or self.readiness(deployment, hashed) else 0
        if int(current.get("status", {}).get("readyReplicas", 0)) != ready:
            self._api.call("PATCH", f"{apps}/replicasets/{rs_name}/status", {"status": {
                "replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": current["metadata"].get("generation", 1)}})
        observed = deployment.get("status", {})
        if (observed.get("observedGeneration") != meta.get("generation")
                or observed.get("updatedReplicas") != replicas
                or observed.get("availableReplicas", 0) != ready):
            available = "True" if ready == replicas else "False"
            self._api.call("PATCH", f"{apps}/deployments/{name}/status", {"status": {
                "observedGeneration": meta.get("generation"), "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
                "unavailableReplicas": replicas - ready,
                "conditions": [
                    {"type": "Available", "status": available, "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True",
                     "reason": "NewReplicaSetAvailable" if ready == replicas else "ReplicaSetUpdated"},
                ]}})

    # -- the job controller: every Job's pod exits 0 ---------------------------------------------

    def _jobs(self) -> None:
        for job in self._api.items("/apis/batch/v1/jobs"):
            status = job.get("status", {})
            if any(c["type"] == "Complete" and c["status"] == "True" for c in status.get("conditions", [])):
                continue
            meta = job["metadata"]
            path = f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}/status"
            stamp = now()
            start = status.get("startTime") or stamp
            if "startTime" not in status:
                self._api.call("PATCH", path, {"status": {"startTime": start}})
            self._api.call("PATCH", path, {"status": {
                "startTime": start, "completionTime": stamp, "succeeded": 1, "active": 0,
                "ready": 0, "terminating": 0,
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                     "lastTransitionTime": stamp, "lastProbeTime": stamp},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                     "lastTransitionTime": stamp, "lastProbeTime": stamp},
                ]}})

    # -- the endpoints and EndpointSlice controllers ---------------------------------------------

    def _endpoints(self) -> None:
        pods = [p for p in self._api.items("/api/v1/pods") if pod_is_ready(p)]
        if not pods:
            return
        for service in self._api.items("/api/v1/services"):
            meta, spec = service["metadata"], service["spec"]
            selected = [p for p in pods if p["metadata"]["namespace"] == meta["namespace"]
                        and selects(spec.get("selector") or {}, p["metadata"].get("labels") or {})]
            if selected:
                self._publish(service, selected)

    def _publish(self, service: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta = service["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        ports = [self._target(port, pods[0]) for port in service["spec"].get("ports") or []]
        addresses = [{"ip": p["status"]["podIP"], "targetRef": {
            "kind": "Pod", "namespace": namespace, "name": p["metadata"]["name"],
            "uid": p["metadata"]["uid"]}} for p in pods]
        subsets = [{"addresses": addresses, "ports": ports}]
        endpoints: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                     "metadata": {"name": name, "namespace": namespace}, "subsets": subsets}
        existing = self._api.call("GET", f"/api/v1/namespaces/{namespace}/endpoints/{name}")
        if existing is None:
            self._api.call("POST", f"/api/v1/namespaces/{namespace}/endpoints", endpoints,
                           content_type="application/json")
        elif existing.get("subsets") != subsets:
            endpoints["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            self._api.call("PUT", f"/api/v1/namespaces/{namespace}/endpoints/{name}", endpoints,
                           content_type="application/json")
        slice_name = f"{name}-podless"
        endpoint_slice: dict[str, Any] = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": slice_name, "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": name,
                                    "endpointslice.kubernetes.io/managed-by": "podless.local"}},
            "endpoints": [{"addresses": [a["ip"]], "conditions": {"ready": True, "serving": True},
                           "targetRef": a["targetRef"]} for a in addresses],
            "ports": ports,
        }
        path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
        current = self._api.call("GET", f"{path}/{slice_name}")
        if current is None:
            self._api.call("POST", path, endpoint_slice, content_type="application/json")
        elif (current.get("endpoints"), current.get("ports")) != (endpoint_slice["endpoints"], ports):
            endpoint_slice["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            self._api.call("PUT", f"{path}/{slice_name}", endpoint_slice, content_type="application/json")

    @staticmethod
    def _target(port: Mapping[str, Any], pod: Mapping[str, Any]) -> dict[str, Any]:
        """A Service port as an endpoint port: its name, and its targetPort resolved on the pod
        (a name is looked up among the containers' ports, as the endpoints controller does)."""
        target = port.get("targetPort", port["port"])
        if isinstance(target, str):
            named = [p for c in pod["spec"].get("containers", []) for p in c.get("ports") or []
                     if p.get("name") == target]
            target = named[0]["containerPort"] if named else port["port"]
        resolved: dict[str, Any] = {"port": int(target), "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            resolved["name"] = port["name"]
        return resolved

    # -- a cloud controller ------------------------------------------------------------------------

    def _load_balancers(self) -> None:
        pods = [p for p in self._api.items("/api/v1/pods") if pod_is_ready(p)]
        for service in self._api.items("/api/v1/services"):
            if service["spec"].get("type") != "LoadBalancer":
                continue
            meta = service["metadata"]
            backing = [p["status"]["podIP"] for p in pods if p["metadata"]["namespace"] == meta["namespace"]
                       and selects(service["spec"].get("selector") or {}, p["metadata"].get("labels") or {})]
            if pods and not backing:
                continue  # pods have addresses here: wait for one behind this Service
            address = backing[0] if backing else self.load_balancer_ip
            ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress") or []
            if [i.get("ip") for i in ingress] != [address]:
                path = f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status"
                self._api.call("PATCH", path, {"status": {"loadBalancer": {"ingress": [{"ip": address}]}}})

    # -- the garbage collector's part in a foreground delete --------------------------------------

    def _garbage_collector(self) -> None:
        """pulumi-kubernetes deletes with `propagationPolicy: Foreground`: the API server marks the
        object with the `foregroundDeletion` finalizer and the garbage collector removes it once
        the dependents are gone. The kinds the program deletes (Secrets, and what a Helm release
        holds) have no dependents here: the finalizer is removed at once."""
        for base, kind in GARBAGE_COLLECTED:
            for obj in self._api.items(f"{base}/{kind}"):
                meta = obj["metadata"]
                finalizers = meta.get("finalizers") or []
                if meta.get("deletionTimestamp") and "foregroundDeletion" in finalizers:
                    path = f"{base}/namespaces/{meta['namespace']}/{kind}/{meta['name']}"
                    left = [f for f in finalizers if f != "foregroundDeletion"]
                    self._api.call("PATCH", path, {"metadata": {"finalizers": left or None}})

    # -- no kuma-cp to serve the admission webhooks (tier 1) ---------------------------------------

    def _webhooks(self) -> None:
        if not self.delete_webhooks:
            return
        for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            base = f"/apis/admissionregistration.k8s.io/v1/{kind}"
            for hook in self._api.items(base):
                self._api.call("DELETE", f"{base}/{hook['metadata']['name']}")
