"""The export command: the zone's manifests as YAML on stdout or in a file.

All or nothing: the YAML is written only after the whole export succeeded
(a file atomically, via a temporary file beside it); progress, warnings and
errors go to stderr; any failure exits non-zero with nothing on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from components.export.model import PROFILES

TOKEN_ENV = "KUMA_API_TOKEN"
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m components.export",
        description="Export a Kuma / Kong Mesh zone's resources as Kubernetes manifests "
        "for its global control plane, as `kumactl export --format=kubernetes` does.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--api-url", help="zone control plane API, e.g. http://localhost:5681 "
                        "(one GET per object, as kumactl reads it)")
    source.add_argument(
        "--kube-context",
        help="the zone cluster's kube context: objects are listed in its Kubernetes API (one LIST "
        "per kind), the zone API is reached through the API server's service proxy")
    p.add_argument("--kubeconfig", help="kubeconfig holding --kube-context (else ~/.kube/config)")
    p.add_argument("--zone-namespace",
                   help="with --kube-context: the zone control plane's namespace (default: "
                   "--system-namespace)")
    p.add_argument("--control-plane-service",
                   help="with --kube-context: the zone control plane's Service (default: "
                   "kuma-control-plane in kuma-system, else kong-mesh-control-plane)")
    p.add_argument("--token-file", help=f"file holding an admin user token (else env {TOKEN_ENV})")
    p.add_argument("--profile", choices=PROFILES, default="federation-with-policies")
    p.add_argument(
        "--system-namespace",
        required=True,
        help="the GLOBAL control plane's system namespace, where the objects must land; when "
        "it differs from the zone's (read from /config) the objects are requested in it",
    )
    p.add_argument("--concurrency", type=int, default=32,
                   help="parallel requests (default 32, bench/README.md)")
    p.add_argument("--include-admin", action="store_true", help="also Secrets with profile all/no-dataplanes")
    p.add_argument(
        "--strip-zone-label",
        action="store_true",
        help="also remove the kuma.io/zone label (off: kumactl-exact output)",
    )
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", help="CA bundle that signed the API's certificate")
    tls.add_argument("--insecure", action="store_true", help="skip TLS verification (warns)")
    p.add_argument("--connect-timeout", type=float, default=5.0)
    p.add_argument("--read-timeout", type=float, default=30.0)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--output", "-o", help="write the YAML to this file instead of stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return p


def _token(args: argparse.Namespace) -> tuple[str | None, str]:
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(_fail(f"cannot read --token-file {args.token_file}: {exc.strerror}")) from None
        if not token:
            raise SystemExit(_fail(f"--token-file {args.token_file} is empty"))
        return token, f"the token in {args.token_file}"
    env = os.environ.get(TOKEN_ENV, "").strip()
    return (env or None), f"${TOKEN_ENV}" if env else f"--token-file or ${TOKEN_ENV}"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_FAILED


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.concurrency < 1:
        return _fail("--concurrency must be at least 1")
    token, token_source = _token(args)

    # Heavy imports only once the arguments are known to be good.
    from components import kube
    from components.export.exporter import export_zone
    from components.export.kube_api import KubeApiClient
    from components.export.model import ExportError, ExportOptions
    from components.export.yaml_out import counts_by_kind, to_yaml
    from components.kuma_api import ApiTarget, KumaApiClient, KumaApiError
    from components.products import API_PORT, PRODUCTS

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"# {message}", file=sys.stderr, flush=True)

    target = ApiTarget(
        base_url=args.api_url,
        token=token,
        verify=False if args.insecure else (args.ca_bundle or True),
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        retries=args.retries,
        token_source=token_source,
        address_hint="start `kubectl port-forward -n <system namespace> "
        "svc/<control plane service> 5681:5681` or pass the right --api-url",
    )
    kube_api: KubeApiClient | None = None
    if args.kube_context:
        zone_ns = args.zone_namespace or args.system_namespace
        product = PRODUCTS["kuma"] if zone_ns == PRODUCTS["kuma"].namespace else PRODUCTS["kong-mesh"]
        try:
            target = kube.service_proxy_target(
                context=args.kube_context, namespace=zone_ns,
                service=args.control_plane_service or product.control_plane_service,
                port=API_PORT, kubeconfig=args.kubeconfig)
            kube_api = KubeApiClient(kube.kube_target(args.kube_context, args.kubeconfig),
                                     pool_size=args.concurrency)
        except kube.KubeAccessError as exc:
            return _fail(f"{exc}\nnothing was exported")
    options = ExportOptions(
        profile=args.profile,
        target_namespace=args.system_namespace,
        include_admin=args.include_admin,
        concurrency=args.concurrency,
        strip_zone_label=args.strip_zone_label,
    )
    try:
        with KumaApiClient(target, pool_size=args.concurrency) as client:
            result = export_zone(client, options, progress=progress, kube_api=kube_api)
        text = to_yaml(result.documents)
        if args.output:
            _write_atomically(args.output, text)
    except (ExportError, KumaApiError) as exc:
        return _fail(f"{exc}\nnothing was exported")
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc}")
    finally:
        if kube_api is not None:
            kube_api.close()
    for warning in result.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    counts = ", ".join(f"{n} {kind}" for kind, n in counts_by_kind(result.documents).items())
    progress(f"{len(result.documents)} documents ({counts or 'none'}) in {result.requests} requests")
    if not args.output:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
