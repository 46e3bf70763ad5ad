"""Listing Kuma's objects straight from the zone's Kubernetes API server (one LIST per kind).

On a Kubernetes zone every Kuma object is a custom resource (kuma.io/v1alpha1) or, for Kuma's
secrets, a core Secret; the answer of the zone API's `GET <item>?format=k8s` is that stored
object (pkg/api-server/resource_endpoints.go formatResource -> pkg/plugins/resources/k8s
NewKubernetesMapper). Reading a whole kind takes one LIST per page here, where the zone API needs
one GET per object.

What the API server does, and what this module does about it (k8s.io/apiserver,
k8s.io/apimachinery, k8s.io/apiextensions-apiserver):
- a LIST answers `<Kind>List` with `metadata.continue` while more remain (storage/continue.go
  PrepareContinueToken); the next page is asked with that token and the same `limit`;
- a continue token older than etcd's compaction answers 410 Gone, reason Expired
  (storage/etcd3/errors.go): the list starts again from the beginning, a bounded number of times
  (the token in that answer would give an inconsistent list);
- API Priority and Fairness answers 429 with Retry-After: waited for (capped), then retried;
- items of a core list (SecretList) carry no apiVersion/kind (typed lists encode their items
  without TypeMeta); items of a custom resource list carry theirs (apiextensions-apiserver
  conversion checks each item's group/version). Any item without them gets the list's, as
  kubectl does;
- a missing RBAC permission answers 403 whose message names the user, verb and resource
  (endpoints/handlers/responsewriters/errors.go forbiddenMessage): passed on with the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from components.clients.errors import ApiError, KubeApiError
from components.clients.kuma_names import KUMA_API_VERSION as KUMA_GROUP_VERSION
from components.clients.transport import ApiTarget, Budget, Transport

# kubectl's chunk size (--chunk-size default): pages the API server serves without strain.
DEFAULT_LIST_LIMIT = 500
# An expired continue token restarts the list; a list that keeps expiring is an error.
MAX_LIST_RESTARTS = 3

RBAC_HINT = ("give the zone's kube context the roles `mesh-federation-zone-export` of README.md "
             "(list on the kuma.io kinds; list on Secrets and get on services/proxy in the system "
             "namespace)")


@dataclass(frozen=True)
class KubeKind:
    """A kind of kuma.io/v1alpha1 as API discovery describes it."""

    kind: str
    plural: str
    namespaced: bool


def _status_message(raw: bytes) -> str:
    """The `message` of a metav1.Status body, else a short excerpt."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace").strip().replace("\n", " ")[:300]
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload["message"])[:500]
    return json.dumps(payload)[:300]


def _status_continue(raw: bytes) -> str | None:
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    meta = payload.get("metadata") if isinstance(payload, dict) else None
    token = meta.get("continue") if isinstance(meta, dict) else None
    return token if isinstance(token, str) and token else None


class KubeApiClient:
    """Thread-safe GETs to one Kubernetes API server; use as a context manager. The target and
    `budget` as KumaApiClient takes them: an export's two clients share one deadline."""

    def __init__(self, target: ApiTarget, *, pool_size: int = 16,
                 budget: Budget | None = None) -> None:
        self._transport = Transport(target, pool_size=pool_size, num_pools=2, budget=budget)
        self._server = self._transport.base_url
        self._where = target.name or f"the Kubernetes API server {self._server}"

    def __repr__(self) -> str:
        return f"KubeApiClient(server={self._server!r})"

    def __enter__(self) -> KubeApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    @property
    def requests_made(self) -> int:
        return self._transport.requests_made

    def _get(self, path: str, params: Mapping[str, str | int] | None) -> urllib3.BaseHTTPResponse:
        url = self._server + path + ("?" + urlencode(params) if params else "")
        try:
            return self._transport.send("GET", url)
        except ApiError as error:
            raise error.masked(self._transport.redact) from None

    def _refused(self, response: urllib3.BaseHTTPResponse, path: str) -> KubeApiError:
        status = response.status
        message = _status_message(response.data)
        where = self._where
        if status == 401:
            text = (f"the Kubernetes API server refused the credentials of {where} (HTTP 401: "
                    f"{message}); refresh them (e.g. log in again) and retry")
        elif status == 403:
            text = f"{where} may not read {path} (HTTP 403: {message}); {RBAC_HINT}"
        elif status == 404:
            text = (f"{path} does not exist on the Kubernetes API server of {where} (HTTP 404: "
                    f"{message}): are Kuma's CRDs installed, and is this the zone's cluster?")
        elif status == 429:
            text = (f"the Kubernetes API server of {where} kept answering HTTP 429 (too many "
                    f"requests) for {path} after {self._transport.policy.status} retries; lower "
                    "mesh-federation:advanced.exportConcurrency or retry later")
        else:
            text = f"the Kubernetes API server of {where} answered HTTP {status} for {path}: {message}"
        return KubeApiError(text, url=self._server + path, status=status)

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        response = self._get(path, params)
        if response.status >= 400:
            raise self._refused(response, path)
        try:
            return json.loads(response.data)
        except ValueError:
            raise KubeApiError(
                f"the answer of the Kubernetes API server for {path} is not JSON "
                f"({len(response.data)} bytes); is {self._where} "
                "pointing at an API server?", url=self._server + path
            ) from None

    def list_all(
        self, path: str, *, limit: int = DEFAULT_LIST_LIMIT,
        params: Mapping[str, str | int] | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of the LIST at `path`, page after page, in the API server's order."""
        for _attempt in range(MAX_LIST_RESTARTS + 1):
            items = self._list_once(path, limit, params or {})
            if items is not None:
                return items
        raise KubeApiError(
            f"listing {path}: the continue token expired {MAX_LIST_RESTARTS + 1} times in a row "
            "(HTTP 410); the API server's etcd compacts faster than the list can be read. Retry, "
            "or raise the API server's --etcd-compaction-interval", status=410)

    def _list_once(
        self, path: str, limit: int, params: Mapping[str, str | int]
    ) -> list[dict[str, Any]] | None:
        """One consistent list, or None when a continue token expired (410) and it must restart."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            query: dict[str, str | int] = {**params, "limit": limit}
            if token is not None:
                query["continue"] = token
            response = self._get(path, query)
            if response.status == 410 and token is not None:
                return None
            if response.status >= 400:
                raise self._refused(response, path)
            page = self._page(response.data, path)
            items.extend(page["items"])
            following = (page.get("metadata") or {}).get("continue")
            if not following:
                return items
            if following in seen or not page["items"]:
                raise KubeApiError(f"listing {path}: the API server's continue token does not "
                                   "advance; refusing to loop")
            seen.add(following)
            token = str(following)

    @staticmethod
    def _page(raw: bytes, path: str) -> dict[str, Any]:
        try:
            page = json.loads(raw)
        except ValueError:
            raise KubeApiError(f"listing {path}: the answer is not JSON ({len(raw)} bytes)") from None
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise KubeApiError(f"listing {path}: the answer is not a List (no `items`)")
        list_kind = page.get("kind")
        api_version = page.get("apiVersion")
        kind = list_kind[: -len("List")] if isinstance(list_kind, str) and list_kind.endswith(
            "List") else None
        for item in page["items"]:
            if not isinstance(item, dict):
                raise KubeApiError(f"listing {path}: an item is not an object")
            # As kubectl does for typed lists, whose items come without TypeMeta.
            if "apiVersion" not in item and isinstance(api_version, str):
                item["apiVersion"] = api_version
            if "kind" not in item and kind:
                item["kind"] = kind
        return page

    # -- what the export asks ----------------------------------------------

    def kuma_kinds(self) -> dict[str, KubeKind]:
        """kind -> plural and scope of every kuma.io/v1alpha1 kind (API discovery)."""
        answer = self.get_json(f"/apis/{KUMA_GROUP_VERSION}")
        resources = answer.get("resources") if isinstance(answer, dict) else None
        if not isinstance(resources, list):
            raise KubeApiError(f"API discovery of {KUMA_GROUP_VERSION} did not list resources: "
                               "are Kuma's CRDs installed in this cluster?")
        kinds: dict[str, KubeKind] = {}
        for entry in resources:
            if not isinstance(entry, dict):
                continue
            name, kind = entry.get("name"), entry.get("kind")
            # Subresources (meshes/status) share the kind: only the resource itself lists.
            if not isinstance(name, str) or not isinstance(kind, str) or "/" in name:
                continue
            kinds[kind] = KubeKind(kind, name, bool(entry.get("namespaced")))
        return kinds

    def list_kind(self, kind: KubeKind, limit: int = DEFAULT_LIST_LIMIT) -> list[dict[str, Any]]:
        """Every object of a kuma.io kind, in every namespace."""
        return self.list_all(f"/apis/{KUMA_GROUP_VERSION}/{kind.plural}", limit=limit)

    def list_secrets(self, namespace: str, secret_type: str,
                     limit: int = DEFAULT_LIST_LIMIT) -> list[dict[str, Any]]:
        """The Secrets of one type in one namespace (a field selector on `type`)."""
        return self.list_all(f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets",
                             limit=limit, params={"fieldSelector": f"type={secret_type}"})

