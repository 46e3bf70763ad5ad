"""A kube context that needs no plugin, read without importing the `kubernetes` library.

Importing `kubernetes.config` costs 0.3 - 0.55 s on this project's machines (its kube_config
module pulls in pydantic, requests-oauthlib, oauthlib and dateutil), a third of a whole
`python -m components.export --kube-context` run at 600 policies. Most kube contexts hold only
what this module reads: a server, a CA, a client certificate, a bearer token. For those it gives
what the library's KubeConfigLoader gives (kubernetes/config/kube_config.py, v37:
`_load_user_token`, `_load_cluster_info`, `FileOrData`); for anything else it answers None and
the caller reads the kubeconfig with the library, which then handles it or reports the error:
- a KUBECONFIG list of several files (the library merges them),
- a user with `auth-provider`, `exec`, `tokenFile`, `username`/`password`, or an empty token;
  a cluster with `tls-server-name` or `proxy-url`,
- anything malformed, missing or ambiguous (a name given twice, a file that is not there).
Keys the library does not read are not read here either.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import tempfile
from typing import Any, NamedTuple

import yaml

_LIBRARY_USER_KEYS = frozenset({"auth-provider", "exec", "tokenFile", "username", "password"})
_LIBRARY_CLUSTER_KEYS = frozenset({"tls-server-name", "proxy-url"})
_temp_files: dict[bytes, str] = {}


class PlainCredentials(NamedTuple):
    server: str
    verify: bool | str
    client_cert: tuple[str, str] | None
    authorization: str | None


def _remove_temp_files() -> None:
    for name in _temp_files.values():
        with contextlib.suppress(OSError):
            os.remove(name)
    _temp_files.clear()


def _data_file(encoded: str) -> str:
    """`*-data` as a file, as the library writes it: decoded, mode 0600, removed at exit."""
    content = base64.standard_b64decode(encoded.encode())
    if content not in _temp_files:
        if not _temp_files:
            atexit.register(_remove_temp_files)
        fd, name = tempfile.mkstemp()
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        _temp_files[content] = name
    return _temp_files[content]


class _NeedsLibrary(Exception):
    pass


def _file_or_data(entry: dict[str, Any], key: str, base: str) -> str | None:
    """FileOrData(...).as_file(): `<key>-data` first (even when empty), else `<key>` as a path
    relative to the kubeconfig's directory, which must exist."""
    if f"{key}-data" in entry:
        data = entry[f"{key}-data"]
        if not data:
            return None
        if not isinstance(data, str):
            raise _NeedsLibrary
        return _data_file(data)
    if key not in entry:
        return None
    if not isinstance(entry[key], str):
        raise _NeedsLibrary
    path = os.path.normpath(os.path.join(base, entry[key]))
    if not os.path.isfile(path):
        raise _NeedsLibrary
    return path


def _named(config: dict[str, Any], section: str, name: Any) -> dict[str, Any]:
    items = config.get(section) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) and "name" in item for item in items):
        raise _NeedsLibrary
    found = [item for item in items if item["name"] == name]
    if len(found) != 1 or not isinstance(found[0].get(section[:-1]), dict):
        raise _NeedsLibrary
    entry: dict[str, Any] = found[0][section[:-1]]
    return entry


def _read(context: str, path: str) -> PlainCredentials:
    with open(path, encoding="utf-8") as file:
        config = yaml.safe_load(file)
    if not isinstance(config, dict):
        raise _NeedsLibrary
    bound = _named(config, "contexts", context)
    cluster = _named(config, "clusters", bound.get("cluster"))
    user = _named(config, "users", bound["user"]) if bound.get("user") else {}
    if _LIBRARY_USER_KEYS & user.keys() or _LIBRARY_CLUSTER_KEYS & cluster.keys():
        raise _NeedsLibrary
    token = user.get("token")
    if "token" in user and not (isinstance(token, str) and token):
        raise _NeedsLibrary
    server = cluster.get("server")
    if not isinstance(server, str):
        raise _NeedsLibrary
    server = server.rstrip("/")
    base = os.path.abspath(os.path.dirname(path))
    ca = cert = key = None
    if server.startswith("https"):
        ca = _file_or_data(cluster, "certificate-authority", base)
        cert = _file_or_data(user, "client-certificate", base)
        key = _file_or_data(user, "client-key", base)
        if cert and not key:
            raise _NeedsLibrary
    verify_ssl = not cluster.get("insecure-skip-tls-verify", False)
    return PlainCredentials(
        server=server,
        # As components.clients.cluster_access.endpoint reads the library's Configuration: a CA wins.
        verify=ca or verify_ssl,
        client_cert=(cert, key) if cert and key else None,
        authorization=f"Bearer {token}" if token else None,
    )


def kubeconfig_location(kubeconfig: str | None) -> str:
    """The library's default: $KUBECONFIG, else ~/.kube/config (KUBE_CONFIG_DEFAULT_LOCATION);
    possibly a list of files joined by os.pathsep."""
    return kubeconfig or os.environ.get("KUBECONFIG", "~/.kube/config")


def plain_server(context: str, kubeconfig: str | None) -> str | None:
    """The API server URL of the context's cluster (whatever its user's credential kind: a server
    needs no plugin), or None when only the library can read it, or it is not there."""
    location = kubeconfig_location(kubeconfig)
    if os.pathsep in location:
        return None
    try:
        with open(os.path.expanduser(location), encoding="utf-8") as file:
            config = yaml.safe_load(file)
        if not isinstance(config, dict):
            return None
        server = _named(config, "clusters", _named(config, "contexts", context).get("cluster")).get("server")
    except (_NeedsLibrary, OSError, yaml.YAMLError):
        return None
    return server if isinstance(server, str) and server else None


def plain_credentials(context: str, kubeconfig: str | None) -> PlainCredentials | None:
    """The context's server and credentials, or None when only the library can read them."""
    location = kubeconfig_location(kubeconfig)
    if os.pathsep in location:
        return None
    path = os.path.expanduser(location)
    try:
        return _read(context, path)
    except (_NeedsLibrary, OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None
