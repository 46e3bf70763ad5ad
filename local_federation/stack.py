"""The program's stack config for a local federation: product `kuma` from the chart directory,
the zone brownfield, KDS TLS verified with a certificate for the address zones dial (the global's
control plane pod, which its zone-sync LoadBalancer gets as address here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trustme

from local_federation import kuma
from local_federation.assets import KUMA_CHART

CHART_VERSION = "2.14.3"


@dataclass(frozen=True)
class KdsTls:
    ca_pem: str
    cert_pem: str
    key_pem: str  # a Pulumi secret in the stack (kdsTls.serverKey)


def kds_tls(address: str) -> KdsTls:
    ca = trustme.CA()
    server = ca.issue_cert(address)
    return KdsTls(ca.cert_pem.bytes().decode(), "".join(b.bytes().decode() for b in server.cert_chain_pems),
                  server.private_key_pem.bytes().decode())


def stack_config(kubeconfig: str, global_context: str, zones: dict[str, str], tls: KdsTls,
                 **extra: Any) -> dict[str, Any]:
    """Plain config values (`zones`: zone name -> kube context); the key goes in as a secret."""
    config: dict[str, Any] = {
        "pulumi:disable-default-providers": ["kubernetes"],
        "mesh-federation:product": "kuma",
        "mesh-federation:chartVersion": CHART_VERSION,
        "mesh-federation:chartRepository": str(KUMA_CHART),
        "mesh-federation:namespace": kuma.SYSTEM_NAMESPACE,
        "mesh-federation:kubeconfig": kubeconfig,
        "mesh-federation:kdsTls": {"mode": "provided", "caCert": tls.ca_pem, "serverCert": tls.cert_pem},
        "mesh-federation:global": {"kubeContext": global_context},
        "mesh-federation:readyTimeoutSeconds": 180,
        "mesh-federation:zones": [{"name": name, "kubeContext": context, "releaseName": kuma.RELEASE}
                                  for name, context in zones.items()],
        "mesh-federation:check": {"enabled": True, "timeoutSeconds": 240},
    }
    config.update({f"mesh-federation:{key}": value for key, value in extra.items()})
    return config


SERVER_KEY = "mesh-federation:kdsTls.serverKey"
