"""The client over HTTPS: a CA bundle, certifi's default trust, verification off, a client
certificate. Real TLS on a loopback server, with certificates from trustme's throwaway CA."""

from __future__ import annotations

import ssl
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import cast

import pytest
import trustme

from components.clients.kuma_api import ApiTarget, KumaApiClient, KumaApiError
from tests.http_json import LoopbackHTTPServer, send_json

# A certificate's subject as getpeercert() returns it: relative distinguished names, each a tuple
# of (attribute, value) pairs. typeshed gives every value of the certificate dict one union type.
SubjectRDNs = tuple[tuple[tuple[str, str], ...], ...]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        subject = dict(pair[0] for pair in cast(SubjectRDNs, peer["subject"])) if peer else {}
        send_json(self, 200, {"path": self.path, "client": subject.get("commonName")})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _https_server(ca: trustme.CA, *, require_client_cert: bool) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    server = LoopbackHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def https_url(ca: trustme.CA) -> Iterator[str]:
    yield from _https_server(ca, require_client_cert=False)


@pytest.fixture
def mtls_url(ca: trustme.CA) -> Iterator[str]:
    yield from _https_server(ca, require_client_cert=True)


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_a_ca_bundle_file_is_trusted(https_url: str, ca_file: str) -> None:
    with KumaApiClient(ApiTarget(https_url, verify=ca_file)) as client:
        assert client.get_json("/meshes", {"size": 1})["path"] == "/meshes?size=1"


def test_by_default_an_unknown_ca_is_refused_with_what_to_do(https_url: str) -> None:
    # verify=True trusts certifi's public CAs, which never signed trustme's throwaway CA.
    with KumaApiClient(ApiTarget(https_url, retries=0)) as client, \
            pytest.raises(KumaApiError) as caught:
        client.get_json("/meshes")
    message = str(caught.value)
    assert message.startswith(f"TLS handshake with {https_url}/meshes failed")
    assert "certificate verify failed" in message and "CA bundle" in message


def test_verification_off_still_talks_and_warns(https_url: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with KumaApiClient(ApiTarget(https_url + "/off", verify=False)) as client:
            assert client.get_json("/")["path"] == "/off/"
    assert any("verification is disabled for " + https_url + "/off" in str(w.message) for w in caught)


def test_a_client_certificate_is_presented(mtls_url: str, ca: trustme.CA, ca_file: str,
                                           tmp_path: Path) -> None:
    cert = ca.issue_cert("mesh-federation@example.com", common_name="mesh-federation")
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    target = ApiTarget(mtls_url, verify=ca_file, client_cert=(str(cert_file), str(key_file)))
    with KumaApiClient(target) as client:
        assert client.get_json("/")["client"] == "mesh-federation"


def test_without_the_client_certificate_the_server_refuses(mtls_url: str, ca_file: str) -> None:
    with KumaApiClient(ApiTarget(mtls_url, verify=ca_file, retries=0)) as client, \
            pytest.raises(KumaApiError) as caught:
        client.get_json("/")
    assert mtls_url in str(caught.value)
