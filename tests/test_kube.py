"""Reaching a cluster with an explicit kube context: against a loopback Kubernetes API server."""

from __future__ import annotations

import pytest

from components.clients import cluster_access
from components.clients.kuma_api import KumaApiClient
from tests.fake_kube import KUBE_TOKEN, NS


def test_the_admin_token_comes_from_the_named_context_not_the_current_one(kubeconfig):
    token = cluster_access.read_admin_token(context="mesh-zone", namespace=NS, kubeconfig=kubeconfig)
    assert token == "zone-admin-token"


def test_kuma_secrets_are_read_by_type(kubeconfig):
    source = cluster_access.kube_secret_source(context="mesh-zone", namespace=NS, kubeconfig=kubeconfig)
    assert [s["metadata"]["name"] for s in source("Secret")] == ["default.ca-builtin-cert-ca-1"]
    global_secrets = source("GlobalSecret")
    assert [s["metadata"]["name"] for s in global_secrets] == ["admin-user-token",
                                                               "user-token-signing-key-1"]
    assert global_secrets[0]["apiVersion"] == "v1" and global_secrets[0]["kind"] == "Secret"


def test_the_service_proxy_target_reaches_the_control_plane_through_the_api_server(kubeconfig):
    target = cluster_access.service_proxy_target(context="mesh-zone", namespace=NS,
                                       service="kong-mesh-control-plane", port=5681,
                                       kubeconfig=kubeconfig)
    assert target.base_url.endswith(f"/api/v1/namespaces/{NS}/services/kong-mesh-control-plane:5681/proxy")
    assert KUBE_TOKEN not in repr(target)
    with KumaApiClient(target) as client:
        assert client.get_json("/config") == {"mode": "zone", "proxied": True}


def test_an_unknown_context_names_the_context_and_the_fix(kubeconfig):
    with pytest.raises(cluster_access.KubeAccessError) as error:
        cluster_access.read_admin_token(context="mesh-zoen", namespace=NS, kubeconfig=kubeconfig)
    assert "mesh-zoen" in str(error.value) and "kubectl config get-contexts" in str(error.value)


def test_a_missing_token_secret_says_how_to_set_the_token(kubeconfig):
    with pytest.raises(cluster_access.KubeAccessError) as error:
        cluster_access.read_admin_token(context="mesh-zone", namespace="elsewhere", kubeconfig=kubeconfig)
    assert "elsewhere/admin-user-token" in str(error.value)
    assert "zones[N].api.token" in str(error.value)
