"""KDS TLS: the certificate the global's KDS server offers, and the CA zones verify it with.

`generated`: pulumi-tls makes a CA and a server certificate whose SAN is global.kdsAddress (an
IP address SAN for an IP, a DNS SAN for a name). Private keys are Pulumi secrets (pulumi-tls
marks them so). `provided`: the user's PEMs, the key wrapped as a secret. `certManager`: a
cert-manager Certificate on the global (the chart's own cert-manager support covers only its
webhook certificates), so the key never leaves the global's cluster and cert-manager renews it;
zones trust the issuer's CA.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.config import KdsAddress, KdsTlsConfig

_CA_HOURS = 10 * 365 * 24
_SERVER_HOURS = 2 * 365 * 24


@dataclass(frozen=True)
class CertManagerRequest:
    """What the cert-manager Certificate for the KDS server asks for."""

    issuer: str
    issuer_kind: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]


@dataclass
class KdsCertificates:
    ca_cert_pem: pulumi.Output[str]
    # None with cert-manager, which writes the server certificate and key into the Secret itself.
    server_cert_pem: pulumi.Output[str] | None = None
    server_key_pem: pulumi.Output[str] | None = None
    cert_manager: CertManagerRequest | None = None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class GeneratedKdsCertificates(pulumi.ComponentResource):
    """A KDS CA and a server certificate signed by it, made by pulumi-tls (`kdsTls.mode:
    generated`).

    Registers two `tls.PrivateKey`s (ECDSA P-256), a `tls.SelfSignedCert` (the CA, ten years),
    a `tls.CertRequest` and a `tls.LocallySignedCert` (the server, two years).

    :param str name: the component's name; its children's names start with it.
    :param KdsAddress address: global.kdsAddress: the server certificate's SAN (IP or DNS).
    :param opts: the component's options (none are given today); its children get parent=self.

    Outputs: `certificates` (the server key a Pulumi secret).
    """

    certificates: KdsCertificates

    def __init__(self, name: str, address: KdsAddress,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:KdsCertificates", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=_CA_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            subject=tls.SelfSignedCertSubjectArgs(common_name="mesh-federation KDS CA"),
            opts=child,
        )
        server_key = tls.PrivateKey(f"{name}-server-key", algorithm="ECDSA", ecdsa_curve="P256",
                                    opts=child)
        host = address.host.strip("[]")
        request = tls.CertRequest(
            f"{name}-server-csr",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=host),
            ip_addresses=[host] if _is_ip(host) else None,
            dns_names=None if _is_ip(host) else [host],
            opts=child,
        )
        server = tls.LocallySignedCert(
            f"{name}-server",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=_SERVER_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=child,
        )
        self.certificates = KdsCertificates(
            ca_cert_pem=ca.cert_pem,
            server_cert_pem=server.cert_pem,
            server_key_pem=pulumi.Output.secret(server_key.private_key_pem),
        )
        self.register_outputs({"caCertPem": ca.cert_pem})


def kds_certificates(config: KdsTlsConfig, address: KdsAddress | None) -> KdsCertificates | None:
    """The KDS certificates for the configured mode; None when zones skip verification."""
    if config.mode == "skipVerify":
        return None
    if config.mode == "provided":
        assert config.ca_cert and config.server_cert and config.server_key  # validated in config
        return KdsCertificates(
            ca_cert_pem=pulumi.Output.from_input(config.ca_cert),
            server_cert_pem=pulumi.Output.from_input(config.server_cert),
            server_key_pem=pulumi.Output.secret(config.server_key),
        )
    assert address is not None  # validated in config
    if config.mode == "certManager":
        assert config.issuer and config.ca_cert  # validated in config
        host = address.host.strip("[]")
        return KdsCertificates(
            ca_cert_pem=pulumi.Output.from_input(config.ca_cert),
            cert_manager=CertManagerRequest(
                issuer=config.issuer, issuer_kind=config.issuer_kind,
                dns_names=() if _is_ip(host) else (host,), ip_addresses=(host,) if _is_ip(host) else ()),
        )
    return GeneratedKdsCertificates("kds-tls", address).certificates
