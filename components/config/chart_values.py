"""The Helm values a user adds under global.values / zones[i].values: what the program cannot
follow or sets itself is refused, naming the config key to use instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config.schema import NAMESPACE
from components.rules.chart_names import KDS_GRPC_PORT_ENV, chart_value, service_enabled
from components.rules.forward_compat import is_rfc1035_label
from components.rules.products import KDS_PORT, Product


def without_name_override(values: Mapping[str, Any], key: str, product: Product,
                          problems: list[str]) -> Mapping[str, Any]:
    """Extra Helm values, less what the program cannot follow: a `nameOverride` renames the
    control plane's Services and Deployment, which the program reaches by the chart's names
    (the zone-sync address, the API for the check and the zone tokens, the rollout wait)."""
    chart: Any = values
    for part in product.values_prefix:
        chart = chart.get(part, {}) if isinstance(chart, Mapping) else {}
    if isinstance(chart, Mapping) and chart.get("nameOverride"):
        where = ".".join((*product.values_prefix, "nameOverride"))
        problems.append(
            f"{key}.{where}: renaming the chart's objects is not supported (the program finds the "
            f"control plane by the names {product.service_prefix}-control-plane and "
            f"{product.service_prefix}-global-zone-sync): remove it with `pulumi config rm "
            f"--path '{NAMESPACE}:{key}.{where}'`")
    return values


def refuse_owned_values(values: Mapping[str, Any], key: str, product: Product,
                        problems: list[str], *, is_global: bool, federated: bool) -> None:
    """Refuse Helm values that set what federation itself sets (components/rules/helm_values.py):
    merged last, they would win, and the control plane would federate wrongly with nothing said.
    Each names the config key that sets it instead."""
    prefix = product.values_prefix
    chart: Any = values
    for depth, part in enumerate(prefix):
        chart = chart.get(part) if isinstance(chart, Mapping) else None
        if chart is not None and not isinstance(chart, Mapping):
            where = ".".join((key, *prefix[: depth + 1]))
            problems.append(
                f"{where}: must be an object of Helm values, not a {type(chart).__name__}: it would "
                f"replace every value the program sets under it; remove it with `pulumi config rm "
                f"--path '{NAMESPACE}:{where}'`")
            return
    if not isinstance(chart, Mapping):
        return
    owned: list[tuple[tuple[str, ...], str]] = [(("controlPlane", "mode"), "role (global or zones)")]
    if not is_global:
        owned += [
            (("controlPlane", "zone"), key.removesuffix(".values") + ".name"),
            (("controlPlane", "kdsGlobalAddress"), "global.kdsAddress"),
            (("controlPlane", "tls", "kdsZoneClient"), "kdsTls.mode (and kdsTls.caCert)"),
        ]
        if federated:
            owned.append((("ingress", "enabled"),
                          key.removesuffix(".values") + ".federated (a federated zone runs an ingress)"))
    control_plane = chart.get("controlPlane")
    if control_plane is not None and not isinstance(control_plane, Mapping):
        where = ".".join((key, *prefix, "controlPlane"))
        problems.append(f"{where}: must be an object of Helm values: it would replace the control "
                        f"plane values the program sets; remove it with `pulumi config rm --path "
                        f"'{NAMESPACE}:{where}'`")
        return
    for path, instead in owned:
        node: Any = chart
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            continue
        where = ".".join((key, *prefix, *path))
        problems.append(
            f"{where}: the program sets this itself for federation; set {instead} instead, and "
            f"remove it with `pulumi config rm --path '{NAMESPACE}:{where}'`")


def check_chart_services(values: Mapping[str, Any], key: str, product: Product,
                         problems: list[str], *, api_url: str | None, is_global: bool,
                         secret: bool) -> None:
    """The Services the program reaches, as the chart names them from these values (see
    components/rules/chart_names.py): a `controlPlane.service.name` and a `globalZoneSyncService`
    name or port are followed; what the program cannot follow is refused here."""
    def where(*path: str) -> str:
        return ".".join((key, *product.values_prefix, "controlPlane", *path))

    def shown(value: Any) -> str:
        return "the value (not shown: a secret)" if secret else repr(value)

    name = chart_value(product, values, "controlPlane", "service", "name")
    # Kubernetes names Services by RFC 1035 labels.
    if name not in (None, "") and not (isinstance(name, str) and is_rfc1035_label(name)):
        problems.append(
            f"{where('service', 'name')}: {shown(name)} is not a Service name Kubernetes accepts (a "
            "DNS-1035 label: lower case letters, digits and '-', starting with a letter, at most "
            "63 characters)")
    if not service_enabled(product, values) and not api_url:
        api_key = key.removesuffix(".values") + ".api.url"
        problems.append(
            f"{where('service', 'enabled')}: false renders no control plane Service, and without "
            f"{api_key} the program reaches the control plane API through that Service (the "
            f"Kubernetes API server's service proxy): set {api_key} to a URL that reaches the API, "
            f"or remove it with `pulumi config rm --path '{NAMESPACE}:{where('service', 'enabled')}'`")
    if not is_global:
        return
    port = chart_value(product, values, "controlPlane", "globalZoneSyncService", "port")
    if port in (None, ""):
        return
    if not str(port).isdigit() or not 1 <= int(port) <= 65535:
        problems.append(f"{where('globalZoneSyncService', 'port')}: {shown(port)} is not a port number "
                        "from 1 to 65535")
        return
    listening = chart_value(product, values, "controlPlane", "envVars", KDS_GRPC_PORT_ENV)
    if int(port) != KDS_PORT and str(listening) != str(port):
        problems.append(
            f"{where('globalZoneSyncService', 'port')}: the chart's zone-sync Service forwards "
            f"port {port} to the same port of the control plane (it sets no targetPort), but the "
            f"KDS server listens on {KDS_GRPC_PORT_ENV} ({listening or KDS_PORT}). Also set "
            f"`pulumi config set --path '{NAMESPACE}:{where('envVars', KDS_GRPC_PORT_ENV)}' "
            f"{port}`, or remove the port")
