"""What the default `kdsTls.mode: generated` must leave behind, checked with a real TLS handshake.

The program makes a CA and a server certificate with pulumi-tls; the global's KDS server reads the
`kds-server-tls` Secret, each zone verifies it with the CA in its values
(`controlPlane.tls.kdsZoneClient.cert`). No kuma-cp runs in tier 1, so the handshake here is
Python's: a server on 127.0.0.1 offering the Secret's certificate and key, a client trusting
only a zone's CA and checking the address, as a zone dialling `global.kdsAddress` does.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from components.resources.global_control_plane import KDS_SERVER_SECRET

__all__ = ["KDS_SERVER_SECRET", "assert_zones_verify_the_global", "handshake", "secret_files"]


def secret_files(secret: Mapping[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


@contextlib.contextmanager
def _tls_server(cert_pem: str, key_pem: str) -> Iterator[int]:
    """A TLS server on 127.0.0.1 that completes handshakes until the block ends; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder) / "tls.crt", Path(folder) / "tls.key"
        cert.write_text(cert_pem)
        key.write_text(key_pem)
        context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(ssl.SSLError, OSError), \
                    context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


def handshake(cert_pem: str, key_pem: str, trusted_ca_pem: str, address: str = "127.0.0.1") -> None:
    """A client trusting only `trusted_ca_pem` completes a handshake with a server offering
    `cert_pem` for `address`; raises ssl.SSLCertVerificationError otherwise."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=trusted_ca_pem)
    with _tls_server(cert_pem, key_pem) as port, \
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            client.wrap_socket(raw, server_hostname=address) as tls:
        tls.sendall(b"k")


def assert_zones_verify_the_global(global_secret: Mapping[str, Any], zone_cas: Mapping[str, str],
                                   other_ca_pem: str) -> None:
    """Each zone's CA is the one in the global's KDS Secret, and a client trusting it verifies
    the Secret's certificate for 127.0.0.1; a client trusting another CA does not."""
    files = secret_files(global_secret)
    assert zone_cas
    for zone, ca in zone_cas.items():
        assert ca.strip() == files["ca.crt"].strip(), f"{zone} trusts another CA than the global's"
        handshake(files["tls.crt"], files["tls.key"], ca)
    try:
        handshake(files["tls.crt"], files["tls.key"], other_ca_pem)
    except ssl.SSLCertVerificationError:
        return
    raise AssertionError("a client trusting another CA verified the global's KDS certificate")
