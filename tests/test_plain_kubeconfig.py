"""A kube context without plugins is read without the `kubernetes` library, with the same result.

The authority is the library itself (kubernetes/config/kube_config.py): each kubeconfig here is
read both ways, by `components.clients.cluster_access.endpoint` and by the library's own loader,
and the two must agree field by field (files compared by content: both write `*-data` to temp
files of their own). What only the library reads must still reach it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.clients import cluster_access
from components.clients.plain_kubeconfig import plain_credentials

ROOT = Path(__file__).resolve().parents[1]
CA_PEM = b"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"
CERT_PEM = b"-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n"
KEY_PEM = b"-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _write(path: Path, cluster: dict[str, Any], user: dict[str, Any] | None) -> str:
    bound = {"cluster": "zone", **({"user": "zone"} if user is not None else {})}
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
        "clusters": [{"name": "zone", "cluster": cluster},
                     {"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "elsewhere", "user": {"token": "not-this-one"}}],
        "contexts": [{"name": "mesh-zone", "context": bound},
                     {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "elsewhere"}}],
    }
    if user is not None:
        config["users"].append({"name": "zone", "user": user})
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _library_endpoint(path: str, context: str = "mesh-zone") -> cluster_access.KubeEndpoint:
    """What the library's loader gives, through the same reading of its Configuration."""
    import components.clients.plain_kubeconfig as plain

    original = plain.plain_credentials
    plain.plain_credentials = lambda *_: None
    try:
        return cluster_access.endpoint(context, path)
    finally:
        plain.plain_credentials = original


def _comparable(found: cluster_access.KubeEndpoint) -> tuple[object, ...]:
    def content(path: object) -> object:
        return Path(path).read_bytes() if isinstance(path, str) else path

    cert = found.client_cert
    return (found.server, content(found.verify), tuple(map(content, cert)) if cert else None,
            found.authorization)


PLAIN_CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "token and CA data, trailing slash": (
        {"server": "https://10.0.0.1:6443/", "certificate-authority-data": _b64(CA_PEM)},
        {"token": "plain-token"}),
    "client certificate and key data, CA file relative to the kubeconfig": (
        {"server": "https://10.0.0.1:6443", "certificate-authority": "ca.pem"},
        {"client-certificate-data": _b64(CERT_PEM), "client-key-data": _b64(KEY_PEM)}),
    "client certificate and key files, data wins over a file": (
        {"server": "https://10.0.0.1:6443", "certificate-authority": "missing.pem",
         "certificate-authority-data": _b64(CA_PEM)},
        {"client-certificate": "cert.pem", "client-key": "key.pem"}),
    "insecure-skip-tls-verify with a token": (
        {"server": "https://10.0.0.1:6443", "insecure-skip-tls-verify": True}, {"token": "t"}),
    "plain http: no CA or certificate is read": (
        {"server": "http://127.0.0.1:8080", "certificate-authority": "missing.pem"},
        {"token": "t", "client-certificate": "missing.pem"}),
    "no user; keys neither reads are ignored": (
        {"server": "https://10.0.0.1:6443", "certificate-authority-data": _b64(CA_PEM),
         "extensions": [{"name": "x", "extension": {}}]}, None),
}


@pytest.mark.parametrize("case", sorted(PLAIN_CASES))
def test_a_context_without_plugins_reads_as_the_library_reads_it(tmp_path: Path, case: str) -> None:
    (tmp_path / "ca.pem").write_bytes(CA_PEM)
    (tmp_path / "cert.pem").write_bytes(CERT_PEM)
    (tmp_path / "key.pem").write_bytes(KEY_PEM)
    path = _write(tmp_path / "config", *PLAIN_CASES[case])
    assert plain_credentials("mesh-zone", path) is not None
    assert _comparable(cluster_access.endpoint("mesh-zone", path)) == _comparable(_library_endpoint(path))


def test_the_kubeconfig_environment_variable_is_the_default_as_for_the_library(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "config", {"server": "https://10.0.0.1:6443"}, {"token": "from-env"})
    monkeypatch.setenv("KUBECONFIG", path)
    found = plain_credentials("mesh-zone", None)
    assert found is not None and found.authorization == "Bearer from-env"


def _exec_user() -> dict[str, Any]:
    status = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
              "status": {"token": "from-exec-plugin"}}
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                     "args": ["-c", f"print({json.dumps(json.dumps(status))})"],
                     "interactiveMode": "Never"}}


LIBRARY_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str | None]] = {
    # name: (cluster, user, the Authorization the library gives)
    "exec plugin": ({"server": "https://10.0.0.1:6443"}, _exec_user(), "Bearer from-exec-plugin"),
    "tokenFile": ({"server": "https://10.0.0.1:6443"}, {"tokenFile": "token.txt"}, "Bearer from-file"),
    "username and password": ({"server": "https://10.0.0.1:6443"}, {"username": "u", "password": "p"},
                              "Basic dTpw"),
    "tls-server-name": ({"server": "https://10.0.0.1:6443", "tls-server-name": "api.internal"},
                        {"token": "t"}, "Bearer t"),
    "proxy-url": ({"server": "https://10.0.0.1:6443", "proxy-url": "http://proxy:3128"},
                  {"token": "t"}, "Bearer t"),
}


@pytest.mark.parametrize("case", sorted(LIBRARY_CASES))
def test_what_only_the_library_reads_goes_to_the_library(tmp_path: Path, case: str) -> None:
    (tmp_path / "token.txt").write_text("from-file")
    cluster, user, authorization = LIBRARY_CASES[case]
    path = _write(tmp_path / "config", cluster, user)
    assert plain_credentials("mesh-zone", path) is None
    assert cluster_access.endpoint("mesh-zone", path).authorization == authorization


def test_a_kubeconfig_list_a_missing_file_or_an_unknown_context_goes_to_the_library(
        tmp_path: Path) -> None:
    path = _write(tmp_path / "config", {"server": "https://10.0.0.1:6443",
                                        "certificate-authority": "missing.pem"}, {"token": "t"})
    other = _write(tmp_path / "other", {"server": "https://10.0.0.2:6443"}, {"token": "t"})
    assert plain_credentials("mesh-zone", path) is None
    assert plain_credentials("mesh-zone", f"{other}{os.pathsep}{path}") is None
    assert plain_credentials("mesh-zoen", other) is None
    with pytest.raises(cluster_access.KubeAccessError, match="mesh-zoen"):
        cluster_access.endpoint("mesh-zoen", other)


def test_the_export_reads_a_plain_context_without_importing_the_kubernetes_library(
        tmp_path: Path) -> None:
    path = _write(tmp_path / "config", {"server": "https://10.0.0.1:6443",
                                        "certificate-authority-data": _b64(CA_PEM)}, {"token": "t"})
    probe = ("import sys; from components.clients import cluster_access; "
             f"cluster_access.kube_target('mesh-zone', {path!r}); "
             f"cluster_access.service_proxy_target(context='mesh-zone', namespace='kuma-system', "
             f"service='kuma-control-plane', port=5681, kubeconfig={path!r}); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'pydantic')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "[]"
