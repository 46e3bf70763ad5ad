"""Client for the Kuma / Kong Mesh control plane HTTP API (no Pulumi imports)."""

from components.kuma_api.client import ApiTarget, KumaApiClient, KumaApiError

__all__ = ["ApiTarget", "KumaApiClient", "KumaApiError"]
