"""Step 1 and 2 of the guide: the global control plane release and its KDS sync address."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import KdsAddress
from components.config.secrecy import shown_or_masked
from components.redaction import Redactor
from components.resources.dependencies import after_component
from components.resources.kds_certificates import CertManagerRequest, KdsCertificates
from components.rules.chart_names import zone_sync_port, zone_sync_service
from components.rules.chart_source import ChartSource
from components.rules.helm_values import KdsAuthSettings, global_values
from components.rules.values_view import values_view

KDS_SERVER_SECRET = "kds-server-tls"
LICENSE_SECRET = ("kong-mesh-license", "license.json")


@dataclass
class GlobalControlPlaneArgs:
    """
    :param source: the chart (product, repository, version).
    :param release_name: the global's Helm release.
    :param namespace: the global's system namespace.
    :param ready_timeout_seconds: how long Helm waits for the control plane and the zone-sync
        LoadBalancer's address.
    :param kds_address: global.kdsAddress; None: read from the zone-sync Service.
    :param kds_certificates: the KDS server's certificate; None: zones skip verification.
    :param license: the Kong Mesh license, stored in a Secret the release mounts.
    :param extra_values: global.values, merged under ours.
    :param kds_auth: how zones authenticate; None: they join without a zone token.
    :param values_secret: extra_values came from a secret config key: register them as one.
    :param extra_values_shown: extra_values as a preview may show them
        (GlobalConfig.values_shown); None: each of them masked when values_secret.
    :param redactor: knows every secret the program holds (see ZoneControlPlaneArgs).
    """

    source: ChartSource
    release_name: str
    namespace: str
    ready_timeout_seconds: int = 600
    kds_address: KdsAddress | None = None
    kds_certificates: KdsCertificates | None = None
    license: str | None = field(default=None, repr=False)
    extra_values: Mapping[str, Any] = field(default_factory=dict)
    kds_auth: KdsAuthSettings | None = None
    values_secret: bool = False
    extra_values_shown: Mapping[str, Any] | None = None
    redactor: Redactor = field(default_factory=Redactor)


def zone_sync_service_name(args: GlobalControlPlaneArgs) -> str:
    """The chart names the Service after the chart, never after the release, unless
    controlPlane.globalZoneSyncService.name is set (a `nameOverride` is refused in config: the
    program finds the control planes' Services and Deployments by the chart's names)."""
    return zone_sync_service(args.source.product, args.extra_values)


def _field(obj: Any, snake: str, camel: str) -> Any:
    """Typed Pulumi outputs expose attributes; raw mappings (mocks, older SDKs) use camelCase."""
    if obj is None:
        return None
    if type(obj) is dict:
        return obj.get(camel, obj.get(snake))
    return getattr(obj, snake, None)


def load_balancer_host(status: Any, service: str) -> str:
    load_balancer = _field(status, "load_balancer", "loadBalancer")
    for entry in _field(load_balancer, "ingress", "ingress") or []:
        host = _field(entry, "ip", "ip") or _field(entry, "hostname", "hostname")
        if host:
            return str(host)
    raise RuntimeError(
        f"Service {service} has no LoadBalancer address yet. The cluster may have no LoadBalancer "
        "controller (on minikube run `minikube tunnel`), or set mesh-federation:global.kdsAddress "
        "to an address the zones can reach (e.g. host.minikube.internal)."
    )


class GlobalControlPlane(pulumi.ComponentResource):
    """The global control plane and its KDS sync address.

    Registers the namespace (retained on delete), the KDS server's TLS Secret (or a
    cert-manager Certificate) and the license Secret, then a `helm.v3.Release` in global mode;
    without kds_address, a read of the zone-sync Service once the release exists.

    :param str name: the component's name; its children's names start with it.
    :param GlobalControlPlaneArgs args: the global's domain inputs.
    :param opts: `provider`: the global's cluster, for every child; `depends_on`, if any, holds
        for the namespace and so for everything after it.

    Outputs: `release`, `values`, `shown_values` (the values, secrets masked: what a preview
    may show when the release's values are a secret; components/rules/values_view.py),
    `kds_address` (host:port), `kds_url` (grpcs://), `kds_ca_cert` (None when zones skip
    verification).
    """

    release: k8s.helm.v3.Release
    kds_ca_cert: pulumi.Output[str] | None
    kds_address: pulumi.Output[str]
    kds_url: pulumi.Output[str]
    values: dict[str, Any]
    shown_values: dict[str, Any]

    def __init__(self, name: str, args: GlobalControlPlaneArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:GlobalControlPlane", name, None, opts)
        def with_ours(extra: Mapping[str, Any]) -> dict[str, Any]:
            return global_values(
                args.source.product, extra,
                kds_server_secret=KDS_SERVER_SECRET if args.kds_certificates else None,
                license_secret=LICENSE_SECRET if args.license else None,
                kds_auth=args.kds_auth,
            )
        self.values = with_ours(args.extra_values)
        shown = with_ours(shown_or_masked(args.extra_values, args.extra_values_shown,
                                          secret=args.values_secret))
        self.shown_values = values_view(shown, args.redactor)
        prerequisites = self._prerequisites(name, args, after_component(opts))
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            # Helm waits for the control plane Deployment and for the zone-sync LoadBalancer to
            # get an address; bounded so a pending LoadBalancer fails the update with Helm's
            # reason instead of hanging (see README, "Design notes").
            args.source.release_args(release_name=args.release_name, namespace=args.namespace,
                                     values=(pulumi.Output.secret(self.values) if args.values_secret
                                             else self.values),
                                     timeout_seconds=args.ready_timeout_seconds),
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )
        if args.kds_address is not None:
            self.kds_address = pulumi.Output.from_input(
                f"{args.kds_address.host}:{args.kds_address.port}")
        else:
            service_name = zone_sync_service_name(args)
            # The port zones dial is the Service's (controlPlane.globalZoneSyncService.port).
            port = zone_sync_port(args.source.product, args.extra_values)
            # The id comes from the release's status: unknown until the release exists, so a
            # preview of a new stack reads nothing and the address flows on as an unknown.
            service = k8s.core.v1.Service.get(
                f"{name}-zone-sync",
                self.release.status.apply(lambda s: f"{s.namespace}/{service_name}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
            self.kds_address = service.status.apply(
                lambda status: f"{load_balancer_host(status, service_name)}:{port}")
        self.kds_url = self.kds_address.apply(lambda address: f"grpcs://{address}")
        self.kds_ca_cert = args.kds_certificates.ca_cert_pem if args.kds_certificates else None
        self.register_outputs({"kdsAddress": self.kds_address, "kdsUrl": self.kds_url,
                               "release": self.release.status})


    def _prerequisites(self, name: str, args: GlobalControlPlaneArgs,
                       after: pulumi.Output[Any] | None) -> list[pulumi.Resource]:
        """The namespace and the Secrets the release mounts, registered before it.

        The namespace is registered whatever the config and retained on delete: it holds the
        running global control plane, Helm's release records and every copied object that
        stays, so a later run that drops the TLS Secrets or the license (or a destroy) must not
        take it with it. An existing namespace (Helm's `create_namespace`) is adopted."""
        child = pulumi.ResourceOptions(parent=self)
        # First of all, so everything after it waits too: the component's own dependencies.
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": args.namespace},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                retain_on_delete=True, depends_on=after)))
        after_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        created: list[pulumi.Resource] = [namespace]
        certificates = args.kds_certificates
        if certificates and certificates.cert_manager:
            created.append(_kds_certificate(f"{name}-kds-server-certificate", args.namespace,
                                            certificates.cert_manager, after_namespace))
        elif certificates:
            assert certificates.server_cert_pem is not None and certificates.server_key_pem is not None
            created.append(k8s.core.v1.Secret(
                f"{name}-kds-server-tls",
                metadata={"name": KDS_SERVER_SECRET, "namespace": args.namespace},
                type="kubernetes.io/tls",
                string_data={
                    "tls.crt": certificates.server_cert_pem,
                    "tls.key": certificates.server_key_pem,  # a secret already
                    "ca.crt": certificates.ca_cert_pem,
                },
                opts=after_namespace,
            ))
        if args.license:
            secret_name, key = LICENSE_SECRET
            created.append(k8s.core.v1.Secret(
                f"{name}-license",
                metadata={"name": secret_name, "namespace": args.namespace},
                string_data={key: pulumi.Output.secret(args.license)},
                opts=after_namespace,
            ))
        return created


def _kds_certificate(name: str, namespace: str, request: CertManagerRequest,
                     opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A cert-manager Certificate that writes the KDS server's TLS Secret on the global."""
    spec: dict[str, Any] = {
        "secretName": KDS_SERVER_SECRET,
        "issuerRef": {"name": request.issuer, "kind": request.issuer_kind, "group": "cert-manager.io"},
        "usages": ["server auth", "digital signature", "key encipherment"],
    }
    subject = (request.dns_names or request.ip_addresses)[0]
    if len(subject) <= 64:  # cert-manager refuses a longer commonName; the SAN is what counts
        spec["commonName"] = subject
    if request.dns_names:
        spec["dnsNames"] = list(request.dns_names)
    if request.ip_addresses:
        spec["ipAddresses"] = list(request.ip_addresses)
    return k8s.apiextensions.CustomResource(
        name, api_version="cert-manager.io/v1", kind="Certificate",
        # Wait until cert-manager has issued it, so a broken issuer fails here with its reason,
        # not later as the control plane's Helm timeout.
        metadata={"name": KDS_SERVER_SECRET, "namespace": namespace,
                  "annotations": {"pulumi.com/waitFor": "condition=Ready=True"}},
        spec=spec, opts=opts)
