"""Reaching a control plane through a cluster's Kubernetes API, with an explicit kube context.

Used at program time (export, admin token) and by the federation check: the kubeconfig is read
with the `kubernetes` client library, which handles every credential kind a kubeconfig can hold
(client certificates, bearer tokens, exec plugins such as `aws eks get-token` or
`gke-gcloud-auth-plugin`) so this module need not.

The Kubernetes API server's service proxy consumes the Authorization header (it authenticates
the caller with it), so a Kuma token cannot ride along: through the proxy Kuma sees an anonymous
user, who may read every resource but Secrets. For the export, Secrets are therefore read from
the Kubernetes API itself (`kube_secret_source`): on a Kubernetes zone, Kuma's secrets are plain
Secrets of type `system.kuma.io/secret` / `system.kuma.io/global-secret`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from components.clients.errors import ApiError
from components.clients.kuma_names import ADMIN_TOKEN_SECRET, SECRET_TYPES
from components.clients.transport import ApiTarget, Budget
from components.redaction import CredentialError, clean_credential

# ADMIN_TOKEN_SECRET: said in messages about the token read here.
__all__ = ["ADMIN_TOKEN_SECRET", "KubeAccessError", "KubeEndpoint", "api_server", "endpoint",
           "kube_secret_source",
           "kube_target", "read_admin_token", "service_proxy_target", "service_proxy_url"]


class KubeAccessError(RuntimeError):
    """The cluster could not be reached or read; the message names the context and the fix."""


@dataclass(frozen=True)
class KubeEndpoint:
    server: str
    verify: bool | str
    client_cert: tuple[str, str] | None
    authorization: str | None


def _api_client(context: str, kubeconfig: str | None) -> Any:
    from kubernetes import config  # heavy: imported only when a cluster is used

    try:
        return config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context)
    except (config.ConfigException, FileNotFoundError) as error:
        where = kubeconfig or "~/.kube/config (or $KUBECONFIG)"
        raise KubeAccessError(
            f"kube context {context!r} could not be loaded from {where}: {error}. "
            "Check the context name with `kubectl config get-contexts`, or set "
            "mesh-federation:kubeconfig to the file that holds it."
        ) from error


def endpoint(context: str, kubeconfig: str | None = None) -> KubeEndpoint:
    from components.clients.plain_kubeconfig import plain_credentials

    plain = plain_credentials(context, kubeconfig)
    if plain is not None:
        # A context without plugins: read as the library reads it, without its 0.3 - 0.55 s import.
        server, verify, cert, authorization = plain
    else:
        configuration = _api_client(context, kubeconfig).configuration
        server = str(configuration.host)
        verify = configuration.ssl_ca_cert or bool(configuration.verify_ssl)
        cert = (configuration.cert_file, configuration.key_file) if configuration.cert_file else None
        # auth_settings() names the header whatever key this client version stores the token under
        # (BearerToken today, authorization before), and refreshes exec-plugin tokens.
        authorization = next(
            (str(setting["value"]) for setting in configuration.auth_settings().values()
             if setting.get("in") == "header" and str(setting.get("key", "")).lower() == "authorization"
             and setting.get("value")),
            None,
        )
    if authorization is not None:
        try:
            authorization = clean_credential(authorization, f"the token of kube context {context!r}",
                                             header=True)
        except CredentialError as error:
            raise KubeAccessError(str(error)) from None
    return KubeEndpoint(server.rstrip("/"), verify, cert, authorization)


def api_server(context: str, kubeconfig: str | None = None) -> str | None:
    """The API server URL of the context's cluster, as the program's kubeconfig names it (the
    plain reader first, else the library's loader, which merges a KUBECONFIG list); None when
    the context is not there or the file cannot be read: what uses the context says so itself.
    Only the cluster entry is read: no credential is loaded, no exec plugin run."""
    from components.clients.plain_kubeconfig import kubeconfig_location, plain_server

    server = plain_server(context, kubeconfig)
    if server is not None:
        return server
    location = kubeconfig_location(kubeconfig)
    if not any(os.path.isfile(os.path.expanduser(path)) for path in location.split(os.pathsep) if path):
        return None  # no kubeconfig at all: not worth importing the library for
    from kubernetes.config import kube_config  # heavy: imported only when needed

    try:
        merged = kube_config.KubeConfigMerger(location).config  # type: ignore[no-untyped-call]
        cluster = merged["contexts"].get_with_name(context)["context"]["cluster"]
        found = merged["clusters"].get_with_name(cluster)["cluster"]["server"]
    except Exception:  # ConfigException, a malformed or missing entry: the context's own error later
        return None
    return found if isinstance(found, str) and found else None


def kube_target(context: str, kubeconfig: str | None = None) -> ApiTarget:
    """The zone's Kubernetes API server as the export lists Kuma's objects there (its timeouts,
    retries and deadline are the caller's: `ApiTarget.limited_as`)."""
    kube = endpoint(context, kubeconfig)
    return ApiTarget(
        base_url=kube.server, verify=kube.verify, client_cert=kube.client_cert,
        headers={"Authorization": kube.authorization} if kube.authorization else {},
        token_source=f"the credentials of kube context {context!r}",
        name=f"kube context {context!r}",
        address_hint=(f"check that the cluster is up and that kube context {context!r} names its "
                      "API server's address"),
    )


def service_proxy_url(server: str, namespace: str, service: str, port: int) -> str:
    return f"{server}/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"


def service_proxy_target(
    *,
    context: str,
    namespace: str,
    service: str,
    port: int,
    kubeconfig: str | None = None,
) -> ApiTarget:
    """An ApiTarget for a control plane Service reached through the API server's service proxy.

    The kube credential travels in the Authorization header; a Kuma token cannot (see the module
    doc), so none is taken.
    """
    kube = endpoint(context, kubeconfig)
    headers = {"Authorization": kube.authorization} if kube.authorization else {}
    return ApiTarget(
        base_url=service_proxy_url(kube.server, namespace, service, port),
        verify=kube.verify,
        client_cert=kube.client_cert,
        headers=headers,
        token_source=f"the credentials of kube context {context!r}",
        address_hint=(
            f"check that Service {namespace}/{service} exists in kube context {context!r}, or set "
            "api.url to a port-forward (kubectl port-forward -n "
            f"{namespace} svc/{service} {port}:{port})"
        ),
    )


def read_admin_token(*, context: str, namespace: str, kubeconfig: str | None = None,
                     limits: ApiTarget | None = None, budget: Budget | None = None) -> str:
    """The zone's admin user token, from the Secret the control plane writes at start-up: one GET
    through the one transport, with `limits`' timeouts and retries (else the defaults), within
    `budget` (an export's deadline) if given."""
    from components.clients.kube_api import KubeApiClient

    target = kube_target(context, kubeconfig)
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{ADMIN_TOKEN_SECRET}"
    try:
        with KubeApiClient(target if limits is None else target.limited_as(limits),
                           pool_size=1, budget=budget) as api:
            secret = api.get_json(path)
    except ApiError as error:  # refused, missing, unreachable: all mean "could not read it"
        # An answer's status says it; no answer (unreachable, the deadline) its own message.
        why = f"status {error.status}" if error.status else str(error).rstrip(".")
        raise KubeAccessError(
            f"could not read Secret {namespace}/{ADMIN_TOKEN_SECRET} with kube context {context!r}"
            f" ({why}): set the zone's api.token with `pulumi config set --secret --path "
            "'mesh-federation:zones[N].api.token' <token>` or check the namespace and your access"
        ) from None
    data = secret.get("data") if isinstance(secret, dict) else None
    value = data.get("value") if isinstance(data, dict) else None
    if not value:
        raise KubeAccessError(f"Secret {namespace}/{ADMIN_TOKEN_SECRET} has no `value` key")
    source = f"Secret {namespace}/{ADMIN_TOKEN_SECRET} in kube context {context!r}"
    try:
        return clean_credential(base64.b64decode(str(value)).decode("utf-8", errors="replace"),
                                source)
    except (CredentialError, ValueError) as error:
        raise KubeAccessError(f"{error}" if isinstance(error, CredentialError)
                              else f"{source} is not base64") from None


def kube_secret_source(
    *, context: str, namespace: str, kubeconfig: str | None = None
) -> Callable[[str], Sequence[dict[str, Any]]]:
    """Kuma's Secrets and GlobalSecrets as the Kubernetes API holds them (see the module doc)."""
    from kubernetes import client

    api_client = _api_client(context, kubeconfig)
    api = client.CoreV1Api(api_client)

    def list_secrets(kind: str) -> Sequence[dict[str, Any]]:
        secret_type = SECRET_TYPES[kind]
        try:
            found = api.list_namespaced_secret(namespace, field_selector=f"type={secret_type}")
        except Exception as error:
            raise KubeAccessError(
                f"could not list {kind}s ({secret_type}) in {namespace} with kube context "
                f"{context!r} (status {getattr(error, 'status', None)})"
            ) from None
        items: list[dict[str, Any]] = []
        for item in found.items:
            manifest: dict[str, Any] = api_client.sanitize_for_serialization(item)
            manifest["apiVersion"], manifest["kind"] = "v1", "Secret"
            items.append(manifest)
        return items

    return list_secrets
