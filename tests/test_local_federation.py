"""The pure parts of local_federation's podless kubelet and controllers (no process started)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from local_federation.kubelet import _rewrite, is_control_plane, quantity
from local_federation.observe import connected, connected_for, document_key, documents
from local_federation.podless import PodlessControllers, selects


def test_paths_at_under_or_above_a_mount_point_are_found_under_the_pods_root() -> None:
    mounts = ["/etc/kuma.io/kuma-control-plane", "/var/run/secrets/kuma.io/tls-cert/tls.crt",
              "/var/run/secrets/kuma.io/tls-cert/tls.key"]
    root = Path("/pod/root")
    assert _rewrite("--config-file=/etc/kuma.io/kuma-control-plane/config.yaml", root, mounts) == \
        "--config-file=/pod/root/etc/kuma.io/kuma-control-plane/config.yaml"
    assert _rewrite("/var/run/secrets/kuma.io/tls-cert/tls.crt", root, mounts) == \
        "/pod/root/var/run/secrets/kuma.io/tls-cert/tls.crt"
    # The admission server's cert dir: a directory of subPath mounts, not a mount itself.
    assert _rewrite("/var/run/secrets/kuma.io/tls-cert", root, mounts) == \
        "/pod/root/var/run/secrets/kuma.io/tls-cert"
    assert _rewrite("/var/run/secrets/kuma.io/tls-certificate", root, mounts) == \
        "/var/run/secrets/kuma.io/tls-certificate"
    assert _rewrite("--log-level=info", root, mounts) == "--log-level=info"
    assert _rewrite("zone", root, mounts) == "zone"


def test_quantities_as_resourceFieldRef_resolves_them() -> None:
    assert quantity("256Mi") == 256 * 2**20
    assert quantity("500m") == 0.5
    assert quantity("2") == 2
    assert quantity("1G") == 10**9


def test_the_control_plane_is_the_container_named_control_plane_running_run() -> None:
    def deployment(name: str, args: list[str]) -> dict[str, object]:
        return {"spec": {"template": {"spec": {"containers": [{"name": name, "args": args}]}}}}

    assert is_control_plane(deployment("control-plane", ["run", "--config-file=x"]))
    assert not is_control_plane(deployment("control-plane", ["migrate"]))
    assert not is_control_plane(deployment("ingress", ["run"]))


def test_a_named_target_port_resolves_on_the_pods_container_ports() -> None:
    pod = {"spec": {"containers": [{"ports": [{"name": "diagnostics", "containerPort": 5680}]}]}}
    named = PodlessControllers._target({"name": "diag", "port": 80, "targetPort": "diagnostics"}, pod)
    assert named == {"name": "diag", "port": 5680, "protocol": "TCP"}
    admission = {"name": "https-admission-server", "port": 443, "targetPort": 5443}
    numbered = PodlessControllers._target(admission, pod)
    assert numbered["port"] == 5443


def test_a_selector_selects_pods_with_every_label_and_an_empty_one_none() -> None:
    assert selects({"app": "kuma-control-plane"}, {"app": "kuma-control-plane", "pod-template-hash": "x"})
    assert not selects({"app": "kuma-control-plane", "tier": "cp"}, {"app": "kuma-control-plane"})
    assert not selects({}, {"app": "kuma-control-plane"})


def test_a_zone_is_online_while_its_last_kds_subscription_is_connected_and_not_closed() -> None:
    # The shape of GET /zones/{zone}/_overview's zoneInsight.subscriptions
    # (../shared/upstream's API spec: ZoneInsight's KDSSubscription).
    assert connected({"connectTime": "2026-12-07T00:00:00Z"})
    assert not connected({"connectTime": "2026-12-07T00:00:00Z", "disconnectTime": "2026-12-07T00:01:00Z"})
    assert not connected({})


def test_how_long_a_subscription_has_been_connected_is_read_from_its_connect_time() -> None:
    since = datetime.now(UTC) - timedelta(seconds=90)
    seconds = connected_for({"connectTime": since.isoformat().replace("+00:00", "Z")})
    assert 90 <= seconds < 90 + 60


def test_an_exported_stream_is_read_without_its_banner_and_keyed_by_kind_namespace_name() -> None:
    text = ("# Product: Kuma, Version: 2.14.3\n---\napiVersion: kuma.io/v1alpha1\nkind: Mesh\n"
            "metadata: {name: default}\n---\n---\napiVersion: v1\nkind: Secret\n"
            "metadata: {name: ca, namespace: kuma-system}\n")
    assert [document_key(d) for d in documents(text)] == [("Mesh", "", "default"),
                                                          ("Secret", "kuma-system", "ca")]
