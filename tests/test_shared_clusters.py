"""One cluster named twice (issue 23): the global and a zone, or two zones, whose kube contexts
reach the same API server are refused before anything is exported or registered."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.clients.cluster_access import api_server
from components.config import ConfigError
from components.program import build
from components.rules.shared_clusters import normalised_server
from tests import factories
from tests.pulumi_harness import monitor_of, run_program

GLOBAL_SERVER = "https://API.cluster-a.example:443/"
SAME_SERVER_SPELLED_OTHERWISE = "https://api.cluster-a.example"


def _kubeconfig(path: Path, servers: dict[str, str], *, user: dict[str, Any] | None = None) -> str:
    """One context per entry of `servers` (context name -> its cluster's server)."""
    user = user or {"token": "kube-token"}
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": next(iter(servers)),
        "clusters": [{"name": f"cluster-{name}", "cluster": {"server": server}}
                     for name, server in servers.items()],
        "users": [{"name": "someone", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": f"cluster-{name}", "user": "someone"}}
                     for name in servers],
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _refused(kubeconfig: str | None, **overrides: Any) -> ConfigError:
    """The program run on `kubeconfig`: refused, with nothing exported and nothing registered."""
    cfg = factories.config(kubeconfig=kubeconfig, **overrides)

    def program() -> object:
        return build(cfg, lambda *a: pytest.fail("a zone was exported")).global_.kds_url

    with pytest.raises(ConfigError) as caught:
        run_program(program, preview=True)
    assert monitor_of(caught.value).registrations == []
    return caught.value


def _accepted(kubeconfig: str, **overrides: Any) -> None:
    cfg = factories.config(kubeconfig=kubeconfig, **overrides)
    documents = {z.name: factories.standard_documents() for z in cfg.zones}
    monitor = run_program(lambda: build(cfg, lambda c, z, i: factories.export_result(
        documents[z.name], z.name)).global_.kds_url, preview=True)
    assert monitor.registrations


@pytest.mark.parametrize(("first", "second"), [
    ("https://API.Example.com", "https://api.example.com:443/"),
    ("http://10.0.0.1", "HTTP://10.0.0.1:80"),
    ("10.0.0.1:6443", "https://10.0.0.1:6443"),
    ("https://[FD00::1]:6443", "https://[fd00::1]:6443/"),
    ("https://rancher.example/k8s/clusters/c-1/", "https://rancher.example:443/k8s/clusters/c-1"),
])
def test_one_server_spelled_two_ways_is_one_server(first: str, second: str) -> None:
    assert normalised_server(first) == normalised_server(second)


@pytest.mark.parametrize(("first", "second"), [
    ("https://api.example.com", "https://api.example.com:6443"),
    ("http://10.0.0.1", "https://10.0.0.1"),
    ("https://rancher.example/k8s/clusters/c-1", "https://rancher.example/k8s/clusters/c-2"),
])
def test_other_servers_stay_apart(first: str, second: str) -> None:
    assert normalised_server(first) != normalised_server(second)


@pytest.mark.parametrize("install", ["brownfield", "greenfield"])
@pytest.mark.parametrize("federated", [True, False])
def test_a_zone_on_the_globals_cluster_is_refused_naming_both_keys_the_server_and_the_fix(
        tmp_path: Path, install: str, federated: bool) -> None:
    """Greenfield or brownfield, federating or going back: on the global's cluster the zone's
    release is the global's."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {
        "mesh-global": GLOBAL_SERVER, "mesh-zone-b": "https://api.cluster-b.example",
        "mesh-zone": SAME_SERVER_SPELLED_OTHERWISE})
    zones = [{"name": "zone-b", "kubeContext": "mesh-zone-b"},
             {"name": "zone-1", "kubeContext": "mesh-zone", "install": install, "federated": federated}]
    error = _refused(kubeconfig, zones=zones)
    assert error.problems == [
        "zones[1].kubeContext ('mesh-zone') and global.kubeContext ('mesh-global') reach the same "
        "Kubernetes API server, https://api.cluster-a.example:443: Kong's guide: a global control "
        "plane and a zone cannot share a cluster (the zone's release would be the global's); point "
        "zones[1].kubeContext at the zone's own cluster's context (`pulumi config set --path "
        "'mesh-federation:zones[1].kubeContext' <context>`; `kubectl config get-contexts` lists them)"]


def test_two_zones_on_one_cluster_are_refused_in_a_zones_stack_without_the_globals_context(
        tmp_path: Path) -> None:
    """A zones stack's kubeconfig may not hold the global's context: the zones are compared."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {
        "zone-a": "https://10.0.0.5:6443", "zone-b": "https://10.0.0.5:6443/"})
    zones = [{"name": "a", "kubeContext": "zone-a", "zoneToken": "eyJ.a.b"},
             {"name": "b", "kubeContext": "zone-b", "zoneToken": "eyJ.c.d"}]
    error = _refused(kubeconfig, role="zones", globalStack="acme/mesh-federation/global",
                     zones=zones)
    assert len(error.problems) == 1
    assert error.problems[0].startswith(
        "zones[1].kubeContext ('zone-b') and zones[0].kubeContext ('zone-a') reach the same "
        "Kubernetes API server, https://10.0.0.5:6443: one control plane would be exported twice")
    assert "'mesh-federation:zones[1].kubeContext' <context>" in error.problems[0]


def test_a_kubeconfig_list_is_read_by_the_librarys_loader(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """KUBECONFIG with two files, the global's context in one, the zone's in the other (and a
    user with an exec plugin, which must not run to read a server)."""
    exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "false"}}
    first = _kubeconfig(tmp_path / "global", {"mesh-global": GLOBAL_SERVER}, user=exec_user)
    second = _kubeconfig(tmp_path / "zone", {"mesh-zone": SAME_SERVER_SPELLED_OTHERWISE})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, second]))
    assert api_server("mesh-zone") == SAME_SERVER_SPELLED_OTHERWISE
    assert "global.kubeContext ('mesh-global')" in str(_refused(None))


def test_contexts_on_their_own_clusters_or_missing_from_the_kubeconfig_go_through(
        tmp_path: Path) -> None:
    """Each cluster its own server (another port is another server); a context the kubeconfig
    does not hold is left to the step that uses it, as before."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {
        "mesh-global": "https://api.cluster-a.example", "mesh-zone": "https://api.cluster-a.example:6443"})
    _accepted(kubeconfig)
    assert api_server("not-there", kubeconfig) is None
    _accepted(kubeconfig, zones=[{"name": "zone-1", "kubeContext": "not-there"}],
              **{"global": {"kubeContext": "also-not-there", "kdsAddress": "kds.example"}})
    _accepted(str(tmp_path / "no-such-file"))
