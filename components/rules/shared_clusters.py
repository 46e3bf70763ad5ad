"""One Kubernetes cluster named twice, under two kube contexts: refused before anything is
registered. Pure: each `*.kubeContext` key with its context and its cluster's API server URL
(read from the kubeconfig by components/clients/cluster_access.api_server) in, problems out.

Kong's guide: a global control plane and a zone cannot share a cluster. On one cluster the zone's
release is the global's (same chart, same namespace by default): the global would be installed
and then "upgraded" to a zone. Two zones on one cluster are one control plane exported twice and
upgraded by two `helm upgrade`s. The config already refuses one context named twice; this is
the same mistake under two context names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from components.config.messages import config_set
from components.redaction import redact_url

_DEFAULT_PORTS = {"https": 443, "http": 80}


class NamedCluster(NamedTuple):
    key: str                # `global.kubeContext`, `zones[1].kubeContext`
    context: str
    server: str | None      # None: the context is not in the kubeconfig (its own error comes later)


def normalised_server(url: str) -> str:
    """The API server as one string per server: scheme and host in lower case, the default port
    written out (https 443, http 80), no trailing slash; a URL without a scheme is https, as
    client-go reads it. A path is kept: two clusters behind one proxy differ by it."""
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # not a port number: compared as written
        return text.lower().rstrip("/")
    host = (parts.hostname or "").lower()  # userinfo and brackets dropped
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}{f':{port}' if port else ''}{parts.path.rstrip('/')}"


def shared_clusters(named: Sequence[NamedCluster]) -> list[str]:
    """One problem per key whose cluster an earlier key already names (the global first, then
    the zones in order), naming both keys, the server they share and the fix."""
    problems: list[str] = []
    first: dict[str, NamedCluster] = {}
    for entry in named:
        if entry.server is None:
            continue
        server = normalised_server(entry.server)
        earlier = first.setdefault(server, entry)
        if earlier is entry or earlier.context == entry.context:
            continue  # the same context twice is refused by the config already
        if earlier.key.startswith("global."):
            why = ("Kong's guide: a global control plane and a zone cannot share a cluster (the "
                   "zone's release would be the global's)")
            fix = f"point {entry.key} at the zone's own cluster's context"
        else:
            why = ("one control plane would be exported twice and upgraded by two `helm "
                   "upgrade`s")
            fix = f"point {entry.key} at its own cluster's context"
        problems.append(
            f"{entry.key} ({entry.context!r}) and {earlier.key} ({earlier.context!r}) reach the "
            f"same Kubernetes API server, {redact_url(server)}: {why}; {fix} "
            f"({config_set(entry.key, '<context>')}; `kubectl config get-contexts` lists them)")
    return problems
