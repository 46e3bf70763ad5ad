"""Ask the global control plane for a zone token with scope `cp` (POST /tokens/zone), once its
`GET /config` shows that it requires zone tokens.

Why the check: the program turns zone authentication on with Kong Mesh's environment variables
(helm_values.KDS_AUTH_KONG_MESH_2X). A global that did not read them (renamed settings, a value
overriding them, a Kuma global) would still issue tokens and serve KDS to any zone: the zones
would federate unauthenticated with nothing said. Its own configuration is the proof, read where
Kong Mesh writes it (`kmesh.multizone.global.kds.auth.type: cpToken`) or where Kuma's settings put
it (`multizone.global.kds.auth.type: zoneToken`, which Kong Mesh 2.14.6 and later also fill)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from components.clients import cluster_access
from components.clients.errors import AuthRejected, KumaApiError
from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.clients.kuma_names import ADMIN_TOKEN_SECRET
from components.redaction import CredentialError, clean_credential
from components.zone_token.port_forward import PortForwardError, forwarded, port_forward_command

TOKEN_PATH = "/tokens/zone"
CONFIG_PATH = "/config"
# Where a global's /config says it requires zone tokens, and the value that says so.
ZONE_TOKEN_AUTH_SETTINGS = (
    (("kmesh", "multizone", "global", "kds", "auth", "type"), "cpToken"),
    (("multizone", "global", "kds", "auth", "type"), "zoneToken"),
)
# The scope a zone control plane needs to authenticate to the global over KDS.
CP_SCOPE = "cp"
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class ZoneTokenError(RuntimeError):
    """No token could be issued; the message says why and what to do, never a token."""


@dataclass(frozen=True)
class TokenSpec:
    """What `python -m components.zone_token` reads on stdin (JSON, keys as the fields)."""

    zone: str
    valid_for: str
    context: str               # the global's kube context
    namespace: str
    service: str               # the global's control plane Service (API on `port`)
    port: int
    zone_index: int = 0        # for messages: zones[i]
    kubeconfig: str | None = None
    url: str | None = None     # the global API; None: `kubectl port-forward` to the Service
    ca_bundle: str | None = None   # PEM bundle for an https:// `url` (None: the system's trust)
    token: str | None = field(default=None, repr=False)  # None: the admin token Secret...
    token_source: str = "mesh-federation:global.api.token"  # (what `token` is, for messages)
    token_context: str | None = None   # ...in this kube context's namespace (None: `context`)
    kubectl: str = "kubectl"
    timeout_seconds: float = 30.0  # for the port-forward to come up, and for the answer

    @classmethod
    def from_json(cls, text: str) -> TokenSpec:
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise ZoneTokenError(f"the zone token spec is not valid JSON: {error}") from None
        if not isinstance(raw, Mapping):
            raise ZoneTokenError("the zone token spec must be a JSON object")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ZoneTokenError(f"the zone token spec has unknown keys: {', '.join(sorted(unknown))}")
        for key in ("zone", "valid_for", "context", "namespace", "service"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ZoneTokenError(f"the zone token spec needs {key} (a non-empty string)")
        if not isinstance(raw.get("port"), int):
            raise ZoneTokenError("the zone token spec needs port (a number)")
        timeout = raw.get("timeout_seconds", 30.0)
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ZoneTokenError("the zone token spec's timeout_seconds must be a positive number")
        if raw.get("token") is not None:
            source = str(raw.get("token_source") or "the admin token")
            if not isinstance(raw["token"], str):
                raise ZoneTokenError(f"{source} is not a string")
            try:
                raw = {**raw, "token": clean_credential(raw["token"], source)}
            except CredentialError as error:
                raise ZoneTokenError(str(error)) from None
        return cls(**raw)


def _admin_token(spec: TokenSpec, read_admin_token: Callable[..., str]) -> tuple[str, str]:
    if spec.token:
        return spec.token, spec.token_source
    context = spec.token_context or spec.context
    try:
        token = read_admin_token(context=context, namespace=spec.namespace, kubeconfig=spec.kubeconfig)
    except cluster_access.KubeAccessError as error:
        raise ZoneTokenError(f"{error}; or set mesh-federation:global.api.token (secret), or the "
                             "api.token of the zone whose signing keys the global took") from None
    return token, f"Secret {spec.namespace}/{ADMIN_TOKEN_SECRET} in {context!r}"


def issue_zone_token(
    spec: TokenSpec,
    *,
    read_admin_token: Callable[..., str] = cluster_access.read_admin_token,
    forward: Callable[..., AbstractContextManager[str]] = forwarded,
) -> str:
    """The zone token for `spec.zone`, issued by the global with an admin token."""
    admin_token, source = _admin_token(spec, read_admin_token)
    where = (nullcontext(spec.url) if spec.url else
             forward(port_forward_command(context=spec.context, namespace=spec.namespace,
                                          service=spec.service, port=spec.port,
                                          kubeconfig=spec.kubeconfig, kubectl=spec.kubectl),
                     timeout_seconds=spec.timeout_seconds))
    body: dict[str, Any] = {"zone": spec.zone, "scope": [CP_SCOPE], "validFor": spec.valid_for}
    try:
        with where as base_url:
            target = ApiTarget(base_url=base_url, token=admin_token, token_source=source,
                               verify=(spec.ca_bundle or True) if spec.url else True,
                               address_hint="fix mesh-federation:global.api.url" if spec.url else "",
                               connect_timeout=min(5.0, spec.timeout_seconds),
                               read_timeout=spec.timeout_seconds, retries=1)
            with KumaApiClient(target, pool_size=1) as client:
                _require_zone_token_auth(client.get_json(CONFIG_PATH), spec)
                answer = client.post_for_text(TOKEN_PATH, body)
    except PortForwardError as error:
        raise ZoneTokenError(f"{error}; or set mesh-federation:global.api.url") from None
    except KumaApiError as error:
        raise ZoneTokenError(_explain(error, spec)) from None
    token = answer.strip()
    if not _JWT.match(token):
        raise ZoneTokenError(
            f"the global answered POST {TOKEN_PATH} with something that is not a token "
            f"({len(answer)} characters): is the address a Kong Mesh global control plane?")
    return token


def _setting(config: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        config = config.get(key) if isinstance(config, Mapping) else None
    return config


def _require_zone_token_auth(config: Any, spec: TokenSpec) -> None:
    """Refuse to issue (so no zone switches) unless the global's /config requires zone tokens."""
    if any(_setting(config, path) == value for path, value in ZONE_TOKEN_AUTH_SETTINGS):
        return
    found = ", ".join(f"{'.'.join(path)}={_setting(config, path)!r}"
                      for path, _ in ZONE_TOKEN_AUTH_SETTINGS)
    raise ZoneTokenError(
        f"the global does not require zone tokens (its GET {CONFIG_PATH} shows {found}): a zone "
        "would federate without authentication, so no token is issued and no zone is switched. "
        "The program sets controlPlane.envVars.KMESH_MULTIZONE_GLOBAL_KDS_AUTH_TYPE=cpToken on the "
        "global: check that mesh-federation:global.values does not override it, that the global "
        "runs Kong Mesh (Kuma 2.x has no zone authentication: set zoneAuth.mode none) and that its "
        "new configuration has rolled out")


def _explain(error: KumaApiError, spec: TokenSpec) -> str:
    message = f"issuing the zone token of {spec.zone!r} failed: {error}"
    if isinstance(error, AuthRejected):
        message += (
            " The global accepts the admin tokens of the zone whose user-token signing key it "
            "holds (the first zone federated into it), or its own if it holds none: set "
            "mesh-federation:global.api.token (secret) to an admin token the global accepts, or "
            "issue the token yourself with `kumactl generate zone-token "
            f"--zone {spec.zone} --scope {CP_SCOPE} --valid-for {spec.valid_for}` and set it with "
            f"`pulumi config set --secret --path 'mesh-federation:zones[{spec.zone_index}].zoneToken' "
            "<token>`.")
    return message
