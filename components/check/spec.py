"""The federation check's input: what to reach and what to expect, read from JSON.

Shape (stdin of ``python -m components.check``)::

    {"zone": "zone-1",
     "global_api": {"url": "http://...:5681", "token": null, "ca_bundle": null, "insecure": false}
                or {"kube_proxy": {"context": "...", "namespace": "...", "service": "...",
                                   "port": 5681, "kubeconfig": null}},
     "zone_api": <same shape as global_api>,
     "expect": {"dataplanes": true,
                "policies": [{"type": "MeshTimeout", "mesh": "default", "name": "timeout-1"}]},
     "timeout_seconds": 600, "interval_seconds": 5}

Every parse error is a ``SpecError`` naming the offending field (``global_api.url``,
``expect.policies[2].name``...). Tokens are kept out of ``repr``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_INTERVAL_SECONDS = 5.0


class SpecError(ValueError):
    """The check spec is malformed; the message names the field."""


@dataclass(frozen=True)
class DirectApi:
    """A control plane API reached at a URL (port-forward, load balancer...)."""

    url: str
    token: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class KubeProxyApi:
    """A control plane API reached through a Kubernetes API server's service proxy."""

    context: str
    namespace: str
    service: str
    port: int
    kubeconfig: str | None = None


ApiSpec = DirectApi | KubeProxyApi


@dataclass(frozen=True)
class ExpectedPolicy:
    """A policy exported from the zone that must show up on the global.

    ``mesh`` is None only for Global-scoped resource types.
    """

    type: str
    mesh: str | None
    name: str


@dataclass(frozen=True)
class Expectations:
    """What must hold on the global besides the zone being online.

    ``dataplanes``: in every mesh where the zone lists data plane proxies when the check runs,
    the global lists at least one labelled with the zone. Presence, read live from both sides:
    a count taken at export time and kept in the check's input would change with every scaled
    workload, re-run the check on the next ``up`` and could make it wait for proxies that are
    gone."""

    dataplanes: bool = True
    policies: tuple[ExpectedPolicy, ...] = ()


@dataclass(frozen=True)
class CheckSpec:
    zone: str
    global_api: ApiSpec
    zone_api: ApiSpec
    expect: Expectations = field(default_factory=Expectations)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> CheckSpec:
        """Parse a spec from JSON text or an already decoded mapping."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as error:
                raise SpecError(f"the check spec is not valid JSON: {error}") from None
        obj = _mapping(data, "the check spec")
        _no_unknown(obj, {"zone", "global_api", "zone_api", "expect", "timeout_seconds",
                          "interval_seconds"}, "")
        return cls(
            zone=_string(obj, "zone", "zone"),
            global_api=_api(obj.get("global_api"), "global_api"),
            zone_api=_api(obj.get("zone_api"), "zone_api"),
            expect=_expect(obj.get("expect"), "expect"),
            timeout_seconds=_seconds(obj, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            interval_seconds=_seconds(obj, "interval_seconds", DEFAULT_INTERVAL_SECONDS),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "global_api": _api_to_dict(self.global_api),
            "zone_api": _api_to_dict(self.zone_api),
            "expect": {
                "dataplanes": self.expect.dataplanes,
                "policies": [
                    {"type": p.type, "mesh": p.mesh, "name": p.name} for p in self.expect.policies
                ],
            },
            "timeout_seconds": self.timeout_seconds,
            "interval_seconds": self.interval_seconds,
        }

    def to_json(self) -> str:
        """JSON that ``from_json`` reads back to an equal spec (tokens included: it is input)."""
        return json.dumps(self.to_dict(), sort_keys=True)


# -- parsing helpers ---------------------------------------------------------


def _where(path: str) -> str:
    return f"`{path}`" if path else "the check spec"


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{_where(path)} must be a JSON object, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _no_unknown(obj: Mapping[str, Any], known: set[str], path: str) -> None:
    unknown = sorted(set(obj) - known)
    if unknown:
        raise SpecError(
            f"unknown field {_where(_join(path, unknown[0]))}; expected one of {sorted(known)}"
        )


def _string(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{_where(path)} must be a non-empty string, got {_kind(value)}")
    return value


def _optional_string(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    if obj.get(key) is None:
        return None
    return _string(obj, key, path)


def _seconds(obj: Mapping[str, Any], key: str, default: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"`{key}` must be a number of seconds, got {_kind(value)}")
    if not math.isfinite(value) or value <= 0:
        raise SpecError(f"`{key}` must be a positive number of seconds, got {value}")
    return float(value)


def _api(value: object, path: str) -> ApiSpec:
    obj = _mapping(value, path)
    if "kube_proxy" in obj:
        if len(obj) != 1:
            others = sorted(set(obj) - {"kube_proxy"})
            raise SpecError(
                f"`{path}` holds `kube_proxy` and {others}: give either `kube_proxy` or `url`"
            )
        sub = _join(path, "kube_proxy")
        proxy = _mapping(obj["kube_proxy"], sub)
        _no_unknown(proxy, {"context", "namespace", "service", "port", "kubeconfig"}, sub)
        port = proxy.get("port")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise SpecError(f"`{sub}.port` must be a port number (1-65535), got {port!r}")
        return KubeProxyApi(
            context=_string(proxy, "context", f"{sub}.context"),
            namespace=_string(proxy, "namespace", f"{sub}.namespace"),
            service=_string(proxy, "service", f"{sub}.service"),
            port=port,
            kubeconfig=_optional_string(proxy, "kubeconfig", f"{sub}.kubeconfig"),
        )
    _no_unknown(obj, {"url", "token", "ca_bundle", "insecure"}, path)
    url = _string(obj, "url", f"{path}.url")
    if not url.startswith(("http://", "https://")):
        raise SpecError(f"`{path}.url` must start with http:// or https://, got {url!r}")
    insecure = obj.get("insecure", False)
    if not isinstance(insecure, bool):
        raise SpecError(f"`{path}.insecure` must be true or false, got {_kind(insecure)}")
    ca_bundle = _optional_string(obj, "ca_bundle", f"{path}.ca_bundle")
    if insecure and ca_bundle:
        raise SpecError(f"`{path}` sets both `ca_bundle` and `insecure`: give one of them")
    return DirectApi(
        url=url,
        token=_optional_string(obj, "token", f"{path}.token"),
        ca_bundle=ca_bundle,
        insecure=insecure,
    )


def _expect(value: object, path: str) -> Expectations:
    if value is None:
        return Expectations()
    obj = _mapping(value, path)
    _no_unknown(obj, {"dataplanes", "policies"}, path)
    dataplanes = obj.get("dataplanes", True)
    if not isinstance(dataplanes, bool):
        raise SpecError(f"`{path}.dataplanes` must be true or false (check that the zone's data "
                        f"plane proxies reach the global), got {_kind(dataplanes)}")
    raw_policies = obj.get("policies") or []
    if not isinstance(raw_policies, list):
        raise SpecError(f"`{path}.policies` must be a list, got {_kind(raw_policies)}")
    policies: list[ExpectedPolicy] = []
    for i, item in enumerate(raw_policies):
        sub = f"{path}.policies[{i}]"
        pol = _mapping(item, sub)
        _no_unknown(pol, {"type", "mesh", "name"}, sub)
        policies.append(
            ExpectedPolicy(
                type=_string(pol, "type", f"{sub}.type"),
                mesh=_optional_string(pol, "mesh", f"{sub}.mesh"),
                name=_string(pol, "name", f"{sub}.name"),
            )
        )
    return Expectations(dataplanes=dataplanes, policies=tuple(dict.fromkeys(policies)))


def _api_to_dict(api: ApiSpec) -> dict[str, Any]:
    if isinstance(api, KubeProxyApi):
        return {
            "kube_proxy": {
                "context": api.context,
                "namespace": api.namespace,
                "service": api.service,
                "port": api.port,
                "kubeconfig": api.kubeconfig,
            }
        }
    return {"url": api.url, "token": api.token, "ca_bundle": api.ca_bundle, "insecure": api.insecure}
