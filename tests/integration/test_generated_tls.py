"""The handshake check of tests/integration/generated_tls.py, on certificates made here."""

from __future__ import annotations

import base64
import ssl

import pytest
import trustme

from tests.integration.generated_tls import assert_zones_verify_the_global, handshake


def _pems(ca: trustme.CA, *names: str) -> tuple[str, str]:
    server = ca.issue_cert(*names)
    return ("".join(b.bytes().decode() for b in server.cert_chain_pems),
            server.private_key_pem.bytes().decode())


def _secret(ca: trustme.CA, cert: str, key: str) -> dict[str, dict[str, str]]:
    files = {"tls.crt": cert, "tls.key": key, "ca.crt": ca.cert_pem.bytes().decode()}
    return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in files.items()}}


def test_a_client_trusting_the_ca_verifies_the_address_and_no_other() -> None:
    ca = trustme.CA()
    cert, key = _pems(ca, "127.0.0.1")
    handshake(cert, key, ca.cert_pem.bytes().decode())
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(cert, key, ca.cert_pem.bytes().decode(), address="127.0.0.2")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(cert, key, trustme.CA().cert_pem.bytes().decode())


def test_zones_trusting_the_globals_ca_pass_and_a_zone_with_another_ca_fails() -> None:
    ca, other = trustme.CA(), trustme.CA()
    secret = _secret(ca, *_pems(ca, "127.0.0.1"))
    ca_pem = ca.cert_pem.bytes().decode()
    assert_zones_verify_the_global(secret, {"zone-1": ca_pem, "zone-2": ca_pem},
                                   other.cert_pem.bytes().decode())
    with pytest.raises(AssertionError, match="zone-2 trusts another CA"):
        assert_zones_verify_the_global(secret, {"zone-1": ca_pem, "zone-2": other.cert_pem.bytes().decode()},
                                       other.cert_pem.bytes().decode())
    # A certificate for another address fails the zones' check.
    wrong = _secret(ca, *_pems(ca, "10.0.0.1"))
    with pytest.raises(ssl.SSLCertVerificationError):
        assert_zones_verify_the_global(wrong, {"zone-1": ca_pem}, other.cert_pem.bytes().decode())
