"""Parsers of single values: the KDS address, an API URL and its CA bundle, the chart version,
a zone name. Each records a problem naming the key (as the user wrote it) and the fix."""

from __future__ import annotations

import os
import re

from components.config.messages import config_rm
from components.config.schema import NAMESPACE, THREE_X_CHANGES, KdsAddress
from components.redaction import redact_url
from components.rules.products import KDS_PORT, LTS_2X, NEWEST_2X

_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
# An exact chart version: the export's rules and the chart must agree, so no range, no `2.x`.
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def parse_kds_address(raw: str, key: str, problems: list[str],
                      default_port: int = KDS_PORT) -> KdsAddress | None:
    """`host` or `host:port`; no scheme (the program adds grpcs://), no spaces. A bare host
    gets `default_port`, the port of the global's zone-sync Service."""
    fix = f"set {key} to a bare host or host:port, e.g. `kds.example.com` or `10.0.0.5:5685`"
    if not raw or raw != raw.strip() or " " in raw:
        problems.append(f"{key}: {raw!r} is empty or has spaces; {fix}")
        return None
    if "://" in raw:
        problems.append(f"{key}: {raw!r} has a scheme; the program adds grpcs:// itself; {fix}")
        return None
    host, port = raw, default_port
    if raw.startswith("["):  # [ipv6]:port
        end = raw.find("]")
        if end == -1:
            problems.append(f"{key}: {raw!r} opens a bracket it does not close; {fix}, or "
                            "`[2001:db8::1]:5685` for an IPv6 address")
            return None
        host, rest = raw[: end + 1], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                problems.append(f"{key}: {raw!r} is not host or host:port; {fix}")
                return None
            port_text = rest[1:]
        else:
            port_text = ""
        if not _IPV6.match(host):
            problems.append(f"{key}: {raw!r} is not a valid IPv6 address; {fix}")
            return None
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    elif ":" in raw:
        problems.append(f"{key}: {raw!r} looks like a bare IPv6 address: put it in brackets, "
                        f"e.g. `[{raw}]` or `[{raw}]:5685`")
        return None
    else:
        port_text = ""
    if not port_text and raw.endswith(":"):
        problems.append(f"{key}: {raw!r} ends with ':' but gives no port; {fix}")
        return None
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            problems.append(f"{key}: port {port_text!r} is not a number from 1 to 65535; {fix}")
            return None
        port = int(port_text)
    if not host.startswith("[") and (len(host) > 253 or not all(
            _HOST_LABEL.match(label) and len(label) <= 63 for label in host.split("."))):
        problems.append(f"{key}: {host!r} is not a valid host name or IP address (dot-separated "
                        f"labels of letters, digits and '-', none empty); {fix}")
        return None
    return KdsAddress(host=host, port=port)


def check_chart_version(value: str, problems: list[str]) -> None:
    major = value.lstrip("v").split(".", 1)[0]
    if not major.isdigit() or (int(major) < 3 and not _EXACT_VERSION.match(value)):
        problems.append(
            f"chartVersion: {value!r} is not an exact version like {NEWEST_2X}: the export's rules "
            "and the chart installed must be the same version, so no range, wildcard or spaces; "
            f"set it with `pulumi config set {NAMESPACE}:chartVersion {NEWEST_2X}`")
    elif int(major) >= 3:
        problems.append(
            f"chartVersion: {value!r} is a 3.x chart; this program federates 2.x control planes. "
            f"{THREE_X_CHANGES}. What you can do today: federate on 2.x with this program (`pulumi "
            f"config set {NAMESPACE}:chartVersion {NEWEST_2X}`, the newest 2.x, or {LTS_2X}, the "
            "2.13 LTS line; the zones must not run a newer version than the global), then upgrade "
            "by Kong's 3.0 upgrade notes; or federate on 3.0 by hand, following its multi-zone "
            "docs: the global in universal mode on PostgreSQL (on Kubernetes: "
            "controlPlane.environment universal with a PostgreSQL store), each zone pointed at it."
        )
    elif int(major) < 2:
        problems.append(f"chartVersion: {value!r} is older than 2.0; this program supports 2.x")


def parse_url(value: str | None, key: str, problems: list[str]) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        shown = redact_url(value) if "://" in value else re.sub(r"^[^/]*@", "***@", value)
        problems.append(f"{key}: {shown!r} is not an http(s) URL, e.g. http://localhost:5681")
        return None
    return value.rstrip("/") if value else None


def parse_ca_bundle(path: str | None, api_url: str | None, key: str, url_key: str,
                    problems: list[str]) -> str | None:
    """`key` (`<global or zones[i]>.api.caBundle`): a PEM file that signed the certificate of an
    https:// `url_key` (the control plane's own on port 5682 is self-signed, so the system's
    trust refuses it)."""
    if not path:
        return None
    if not (api_url or "").startswith("https://"):
        problems.append(f"{key} is for an https:// {url_key}; set that URL, or remove the bundle "
                        f"({config_rm(key)})")
        return None
    # Absolute: the check and the token issuer run as commands in the project directory.
    expanded = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(expanded):
        problems.append(f"{key}: no file at {path!r}; give the path of the PEM CA bundle "
                        "that signed the control plane API's certificate")
        return None
    return expanded


def free_zone_name(name: str, taken: set[str]) -> str:
    """A DNS-1123 label from `name` that no other zone has."""
    base = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:57].strip("-") or "zone"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
