"""A kubelet for Kuma's control plane: the chart's control plane Deployment run as a real kuma-cp
process, started as its pod would be, restarted when its pod template changes (a rollout).

What the pod would have, the process gets:
- its own network namespace with an address of its own (`netns.Pod`), the same for every restart
  of one Deployment (the webhooks' and KDS' peers find it again at once);
- the container's args and env, `valueFrom` resolved (a Secret's or ConfigMap's key, the pod's
  fields, `resourceFieldRef` from the container's limits: an env var without a limit is left out,
  Go's default applies);
- its ConfigMap and Secret volumes written as files, each mount placed at its `mountPath` under a
  root directory of the pod's (`<pod>/root/etc/kuma.io/...`), and every path in args and env at,
  under or above a `mountPath` (a directory of `subPath` files: the admission server's cert dir)
  prefixed with that root (no mount namespace needed);
- `KUBECONFIG`: its API server at the node's address, with a token of the pod's service account
  from the TokenRequest API (as the kubelet projects one): Kuma's webhooks let only the control
  plane's service account write what a zone receives from its global ("Operation not allowed.
  Kuma resources like Mesh can be updated or deleted only from the GLOBAL control plane");
  `KUBERNETES_SERVICE_HOST` / `_PORT` (without them kuma-cp exits: "could not parse
  KUBERNETES_SERVICE_PORT").

A Pod object stands for it in the API server, with the template's labels, a Running phase, the
pod's address and a Ready condition once the readiness probe (the template's `httpGet`) answers:
the endpoints controller then publishes it, so the chart's webhooks and the Service proxy reach
kuma-cp through the `kuma-control-plane` Service; the deployment controller reports the rollout
done only then (`readiness`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from local_federation.kube import ApiServer, http_ok, start_process, terminate, write_kubeconfig
from local_federation.loop import Controller, Loop
from local_federation.netns import Forwarder, Node, Pod
from local_federation.podless import now, template_hash

CONTROL_PLANE_CONTAINER = "control-plane"
API_PORT = 5681


def is_control_plane(deployment: Mapping[str, Any]) -> bool:
    """The kuma / kong-mesh chart's control plane: container `control-plane` running `run`."""
    containers = deployment["spec"]["template"]["spec"].get("containers") or []
    return any(c.get("name") == CONTROL_PLANE_CONTAINER and (c.get("args") or [""])[0] == "run"
               for c in containers)


_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9,
             "m": 10**-3}


def quantity(text: str) -> float:
    """A Kubernetes quantity (`256Mi`, `500m`, `2`) as a number."""
    for suffix, factor in sorted(_SUFFIXES.items(), key=lambda item: -len(item[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


@dataclass
class Running:
    """One kuma-cp process and what was made for it."""

    deployment: str  # namespace/name
    hashed: str
    pod: Pod
    process: subprocess.Popen[bytes]
    pod_name: str
    home: Path
    api: Forwarder
    diagnostics: Forwarder
    ready: bool = False


@dataclass
class KumaKubelet(Controller):
    """kuma-cp for every control plane Deployment of one cluster (module doc)."""

    server: ApiServer
    node: Node
    kuma_cp: str
    workdir: Path
    subnet: int  # pods of this cluster get 10.244.<subnet>.N
    interval: float = 0.5
    errors: list[str] = field(default_factory=list)
    running: dict[str, Running] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    # Per Deployment, kept across restarts: its API and diagnostics on the machine's 127.0.0.1.
    forwards: dict[str, tuple[Forwarder, Forwarder]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: Loop | None = None

    loop_name: ClassVar[str] = "kubelet"

    def steps(self) -> Sequence[Callable[[], None]]:
        return (self._sync,)

    def stop(self, timeout: float = 30) -> None:
        super().stop(timeout)
        with self._lock:
            for running in list(self.running.values()):
                self._kill(running)
            self.running.clear()
            for api, diagnostics in self.forwards.values():
                api.stop()
                diagnostics.stop()

    def readiness(self, deployment: Mapping[str, Any], hashed: str) -> bool:
        """The deployment controller's gate: a control plane is ready when its process is."""
        if not is_control_plane(deployment):
            return True
        with self._lock:
            running = self.running.get(self._key(deployment))
            return running is not None and running.hashed == hashed and running.ready

    def state(self, namespace: str, name: str) -> tuple[str, bool] | None:
        """The pod template hash the Deployment's kuma-cp runs from and whether it is ready, or
        None while none runs."""
        with self._lock:
            running = self.running.get(f"{namespace}/{name}")
            return None if running is None else (running.hashed, running.ready)

    def kill(self, namespace: str, name: str) -> int:
        """SIGKILL the Deployment's kuma-cp, as a crashed container: the next sync starts it
        again. Returns the pid killed."""
        with self._lock:
            running = self.running[f"{namespace}/{name}"]
        running.process.kill()
        return running.process.pid

    def api_url(self, namespace: str, name: str) -> str:
        """The control plane's HTTP API (5681) on the machine's 127.0.0.1 (answers while the
        Deployment's kuma-cp runs)."""
        return f"http://127.0.0.1:{self._forwards(namespace, name)[0].listen_port}"

    def pod_address(self, namespace: str, name: str) -> str:
        """The address the Deployment's pod has (and keeps across restarts)."""
        key = f"{namespace}/{name}"
        with self._lock:
            if key not in self.addresses:
                self.addresses[key] = f"10.244.{self.subnet}.{10 + len(self.addresses)}"
            return self.addresses[key]

    def _forwards(self, namespace: str, name: str, probe_port: int = 5680) -> tuple[Forwarder, Forwarder]:
        address = self.pod_address(namespace, name)
        with self._lock:
            key = f"{namespace}/{name}"
            if key not in self.forwards:
                api, diagnostics = Forwarder(self.node, address, API_PORT), Forwarder(self.node, address,
                                                                                      probe_port)
                api.start()
                diagnostics.start()
                self.forwards[key] = (api, diagnostics)
            return self.forwards[key]

    @staticmethod
    def _key(deployment: Mapping[str, Any]) -> str:
        return f"{deployment['metadata']['namespace']}/{deployment['metadata']['name']}"

    def _sync(self) -> None:
        wanted = {self._key(d): d for d in self._api.items("/apis/apps/v1/deployments")
                  if is_control_plane(d) and int(d["spec"].get("replicas", 1)) > 0}
        for key, running in list(self.running.items()):
            deployment = wanted.get(key)
            if deployment is None or template_hash(deployment["spec"]["template"]) != running.hashed:
                with self._lock:
                    del self.running[key]
                self._kill(running)
                self._api.call("DELETE", f"/api/v1/namespaces/{key.split('/')[0]}/pods/{running.pod_name}"
                                         "?gracePeriodSeconds=0")
        for key, deployment in wanted.items():
            running_now = self.running.get(key)
            if running_now is None:
                started = self._start(deployment)
                with self._lock:
                    self.running[key] = started
            elif running_now.process.poll() is not None:
                # A container that exits is started again (restartPolicy Always), ready or not.
                log = (running_now.home / "kuma-cp.log").read_text(errors="replace")[-3000:]
                self.errors.append(f"kuma-cp {key} exited with {running_now.process.returncode}:\n{log}")
                with self._lock:
                    del self.running[key]
                self._kill(running_now)
            elif not running_now.ready:
                self._probe(running_now, deployment)

    # -- one pod ---------------------------------------------------------------------------------

    def _start(self, deployment: Mapping[str, Any]) -> Running:
        meta = deployment["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        template = deployment["spec"]["template"]
        hashed = template_hash(template)
        pod_name = f"{name}-{hashed}-podless"
        home = self.workdir / self.server.name / "pods" / pod_name
        if home.exists():
            # The same template again: its container restarted after an exit (a crash, a kill).
            # Its volumes are written anew; the last run's output stays, as `kubectl logs
            # --previous` shows it.
            for made in ("root", "volumes"):
                shutil.rmtree(home / made, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                (home / "kuma-cp.log").replace(home / "kuma-cp.previous.log")
        home.mkdir(parents=True, exist_ok=True)
        address = self.pod_address(namespace, name)
        spec = template["spec"]
        container = next(c for c in spec["containers"] if c["name"] == CONTROL_PLANE_CONTAINER)
        mounts = self._write_volumes(namespace, spec, container, home)
        kubeconfig = self._service_account_kubeconfig(namespace, spec.get("serviceAccountName") or "default",
                                                      home)
        env = self._env(namespace, pod_name, address, container, mounts, home)
        env["KUBECONFIG"] = str(kubeconfig)
        args = [_rewrite(arg, home / "root", mounts) for arg in container.get("args") or []]
        pod = self.node.pod(f"{self.server.name}-{pod_name}", address)
        process = start_process(pod, [self.kuma_cp, *args], home / "kuma-cp.log", env=env)
        self._create_pod_object(namespace, pod_name, template, hashed, address)
        api, diagnostics = self._forwards(namespace, name, _probe_port(container))
        return Running(f"{namespace}/{name}", hashed, pod, process, pod_name, home, api, diagnostics)

    def _probe(self, running: Running, deployment: Mapping[str, Any]) -> None:
        container = next(c for c in deployment["spec"]["template"]["spec"]["containers"]
                         if c["name"] == CONTROL_PLANE_CONTAINER)
        path = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path", "/ready")
        with contextlib.suppress(Exception):
            if http_ok(f"http://127.0.0.1:{running.diagnostics.listen_port}{path}"):
                namespace = running.deployment.split("/")[0]
                self._mark_ready(namespace, running.pod_name, running.pod.address)
                running.ready = True

    def _kill(self, running: Running) -> None:
        terminate(running.process)
        running.pod.stop()

    # -- what the pod sees -----------------------------------------------------------------------

    def _write_volumes(self, namespace: str, spec: Mapping[str, Any], container: Mapping[str, Any],
                       home: Path) -> list[str]:
        """Each volume's files in home/volumes/<name>, each mount at home/root/<mountPath>;
        returns the mount paths."""
        directories: dict[str, Path] = {}
        for volume in spec.get("volumes") or []:
            directory = home / "volumes" / volume["name"]
            directory.mkdir(parents=True, exist_ok=True)
            directories[volume["name"]] = directory
            if "secret" in volume:
                found = self._api.call("GET", f"/api/v1/namespaces/{namespace}/secrets/"
                                              f"{volume['secret']['secretName']}")
                data = {k: base64.b64decode(v) for k, v in ((found or {}).get("data") or {}).items()}
                _write_items(directory, data, volume["secret"].get("items"))
            elif "configMap" in volume:
                found = self._api.call("GET", f"/api/v1/namespaces/{namespace}/configmaps/"
                                              f"{volume['configMap']['name']}")
                data = {k: v.encode() for k, v in ((found or {}).get("data") or {}).items()}
                _write_items(directory, data, volume["configMap"].get("items"))
            # emptyDir, projected service account tokens: an empty directory (KUBECONFIG instead).
        mounts: list[str] = []
        for mount in container.get("volumeMounts") or []:
            local = directories.get(mount["name"])
            if local is None:
                continue
            source = local / mount["subPath"] if mount.get("subPath") else local
            target = home / "root" / mount["mountPath"].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                target.symlink_to(source, target_is_directory=True)
            elif source.is_file():
                shutil.copyfile(source, target)
            mounts.append(mount["mountPath"])
        return mounts

    def _env(self, namespace: str, pod_name: str, address: str, container: Mapping[str, Any],
             mounts: list[str], home: Path) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
        fields = {"metadata.namespace": namespace, "metadata.name": pod_name, "status.podIP": address,
                  "status.hostIP": self.node.address, "spec.nodeName": "podless"}
        limits = (container.get("resources") or {}).get("limits") or {}
        for item in container.get("env") or []:
            value: str | None = item.get("value", "")
            source = item.get("valueFrom")
            if source:
                value = self._value_from(namespace, source, fields, limits)
            if value is not None:
                env[item["name"]] = _rewrite(value, home / "root", mounts)
        env.update({
            "KUBERNETES_SERVICE_HOST": self.node.address,
            "KUBERNETES_SERVICE_PORT": str(self.server.port),
        })
        return env

    def _value_from(self, namespace: str, source: Mapping[str, Any], fields: Mapping[str, str],
                    limits: Mapping[str, str]) -> str | None:
        if "fieldRef" in source:
            return fields.get(source["fieldRef"]["fieldPath"], "")
        if "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            limit = limits.get(str(ref["resource"]).removeprefix("limits."))
            if limit is None:
                return None
            return str(math.ceil(quantity(str(limit)) / quantity(str(ref.get("divisor") or "1"))))
        secret = "secretKeyRef" in source
        kind, key = ("secrets", "secretKeyRef") if secret else ("configmaps", "configMapKeyRef")
        ref = source[key]
        found = self._api.call("GET", f"/api/v1/namespaces/{namespace}/{kind}/{ref['name']}") or {}
        raw = (found.get("data") or {}).get(ref["key"])
        if raw is None:
            return None
        return base64.b64decode(raw).decode() if kind == "secrets" else str(raw)

    def _service_account_kubeconfig(self, namespace: str, account: str, home: Path) -> Path:
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"expirationSeconds": 7 * 24 * 3600}}
        answer = self._api.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
                                request, content_type="application/json")
        if not answer:
            raise RuntimeError(f"no ServiceAccount {namespace}/{account} to issue the pod a token for")
        path = home / "kubeconfig"
        write_kubeconfig(path, [self.server], in_network=True, token=answer["status"]["token"])
        return path

    # -- the Pod object ----------------------------------------------------------------------------

    def _create_pod_object(self, namespace: str, pod_name: str, template: Mapping[str, Any],
                           hashed: str, address: str) -> None:
        metadata = json.loads(json.dumps(template.get("metadata") or {}))
        metadata.update({"name": pod_name, "namespace": namespace})
        metadata.setdefault("labels", {})["pod-template-hash"] = hashed
        spec = json.loads(json.dumps(template["spec"]))
        spec["nodeName"] = "podless"
        self._api.call("DELETE", f"/api/v1/namespaces/{namespace}/pods/{pod_name}?gracePeriodSeconds=0")
        self._api.call("POST", f"/api/v1/namespaces/{namespace}/pods",
                       {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec},
                       content_type="application/json")
        self._set_status(namespace, pod_name, address, ready=False)

    def _mark_ready(self, namespace: str, pod_name: str, address: str) -> None:
        self._set_status(namespace, pod_name, address, ready=True)

    def _set_status(self, namespace: str, pod_name: str, address: str, *, ready: bool) -> None:
        stamp = now()
        flag = "True" if ready else "False"
        self._api.call("PATCH", f"/api/v1/namespaces/{namespace}/pods/{pod_name}/status", {"status": {
            "phase": "Running", "podIP": address, "podIPs": [{"ip": address}],
            "hostIP": self.node.address, "startTime": stamp,
            "conditions": [{"type": t, "status": s, "lastTransitionTime": stamp} for t, s in (
                ("PodScheduled", "True"), ("Initialized", "True"), ("ContainersReady", flag),
                ("Ready", flag))],
            "containerStatuses": [{"name": CONTROL_PLANE_CONTAINER, "ready": ready, "restartCount": 0,
                                   "image": "kuma-cp", "imageID": "", "started": True,
                                   "state": {"running": {"startedAt": stamp}}}],
        }})


def _probe_port(container: Mapping[str, Any]) -> int:
    port = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("port", 5680)
    return int(port) if str(port).isdigit() else 5680


def _write_items(directory: Path, data: Mapping[str, bytes], items: Any) -> None:
    chosen = [(i["key"], i.get("path", i["key"])) for i in items] if items else [(k, k) for k in data]
    for key, path in chosen:
        if key in data:
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[key])


def _rewrite(value: str, root: Path, mount_paths: list[str]) -> str:
    """An absolute path (alone or as `--flag=PATH`) at, under or above a mount path, as the
    process finds it here: under the pod's root."""
    head, sep, path = value.partition("=") if value.startswith("-") else ("", "", value)
    if not path.startswith("/"):
        return value
    bare = path.rstrip("/")
    for mount in (m.rstrip("/") for m in mount_paths):
        if bare == mount or bare.startswith(mount + "/") or mount.startswith(bare + "/"):
            return f"{head}{sep}{root}{bare}"
    return value
