"""The export command: the zone's manifests as YAML on stdout or in a file.

All or nothing: the YAML is written only after the whole export succeeded
(a file atomically, via a temporary file beside it); progress, warnings and
errors go to stderr, masked (the token, URL userinfo); any failure exits
non-zero with nothing on stdout. Ctrl-C or SIGTERM stops at once, with no
traceback and no output.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

from components.export.model import DEFAULT_DEADLINE_SECONDS, PROFILES
from components.interrupt import EXIT_INTERRUPTED, stopping_at_once
from components.redaction import CredentialError, Redactor, clean_credential, redact_url
from components.warning_hook import say_warnings_of

TOKEN_ENV = "KUMA_API_TOKEN"
EXIT_FAILED = 1
EXIT_USAGE = 2

# The messages of this run are masked with it once the token is known.
_redact = Redactor()


def _number(kind: Callable[[str], float], *, minimum: float, strict: bool) -> Callable[[str], float]:
    """An argparse type: a number of `kind` above (`strict`) or from `minimum`; a usage error
    saying so otherwise, not a traceback."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")) or (
                value <= minimum if strict else value < minimum):
            raise argparse.ArgumentTypeError(
                f"{text!r} must be {'more than' if strict else 'at least'} {minimum:g}")
        return value
    return parse


def _api_url(text: str) -> str:
    if not re.match(r"^https?://[^\s/]+", text):
        shown = redact_url(text) if "://" in text else re.sub(r"^[^/]*@", "***@", text)
        suggestion = f"; e.g. http://{shown}" if "://" not in text and text else ""
        raise argparse.ArgumentTypeError(
            f"{shown!r} is not an http(s) URL with a host{suggestion}")
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m components.export",
        description="Export a Kuma / Kong Mesh zone's resources as Kubernetes manifests "
        "for its global control plane, as `kumactl export --format=kubernetes` does.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--api-url", type=_api_url, help="zone control plane API, e.g. http://localhost:5681 "
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
        "it differs from the zone's (read from /config) the exported objects are moved to it",
    )
    p.add_argument("--concurrency", type=_number(int, minimum=1, strict=False), default=32,
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
    positive = _number(float, minimum=0, strict=True)
    p.add_argument("--connect-timeout", type=positive, default=5.0)
    p.add_argument("--read-timeout", type=positive, default=30.0)
    count = _number(int, minimum=0, strict=False)
    p.add_argument("--retries", type=count, default=None,
                   help="retry each kind of failure at most this often (default: ride out a "
                   "30 s control plane restart, as the program does)")
    p.add_argument("--status-retries", type=count, default=None,
                   help="retries of a transient answer (429, 502, 503, 504), counted apart from "
                   "failed connections (default: --retries, else 10)")
    p.add_argument("--connect-retries", type=count, default=None,
                   help="retries of a failed connection (refused, timed out), counted apart from "
                   "transient answers (default: --retries, else 10 once the control plane "
                   "answered and 1 before)")
    p.add_argument("--deadline", type=positive, default=DEFAULT_DEADLINE_SECONDS,
                   help="give up on the whole export after this many seconds "
                   f"(default {DEFAULT_DEADLINE_SECONDS:g})")
    p.add_argument("--output", "-o", help="write the YAML to this file instead of stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return p


def _token(args: argparse.Namespace) -> tuple[str | None, str]:
    """The token, checked where it enters (surrounding whitespace dropped, inner line breaks
    refused), and its source for messages."""
    global _redact
    if args.token_file:
        try:
            raw = Path(args.token_file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SystemExit(_fail(f"cannot read --token-file {args.token_file}: {exc.strerror}")) from None
        source = f"the token in {args.token_file}"
    else:
        raw = os.environ.get(TOKEN_ENV, "")
        source = f"${TOKEN_ENV}"
        if not raw.strip():
            return None, f"--token-file or ${TOKEN_ENV}"
    _redact = Redactor([raw])
    try:
        return clean_credential(raw, source), source
    except CredentialError as error:
        raise SystemExit(_fail(str(error))) from None


def _fail(message: str) -> int:
    print(f"error: {_redact(message)}", file=sys.stderr, flush=True)
    return EXIT_FAILED


def _say_warning(message: str) -> None:
    print(f"WARNING: {_redact(message)}", file=sys.stderr, flush=True)


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
    with stopping_at_once():
        return _main(argv)
    return EXIT_INTERRUPTED  # not reached: stopping_at_once exits; for the type checker


def _main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    token, token_source = _token(args)

    # Heavy imports only once the arguments are known to be good.
    from components.clients import cluster_access
    from components.clients.errors import ApiError
    from components.clients.kube_api import KubeApiClient
    from components.clients.kuma_api import ApiTarget, KumaApiClient
    from components.clients.transport import Budget, InsecureTransportWarning
    from components.export.exporter import export_zone
    from components.export.model import ExportError, ExportOptions
    from components.export.yaml_out import counts_by_kind, to_yaml
    from components.rules.products import API_PORT, PRODUCTS

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"# {_redact(message)}", file=sys.stderr, flush=True)

    target = ApiTarget(
        base_url=args.api_url,
        token=token,
        verify=False if args.insecure else (args.ca_bundle or True),
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        retries=args.retries,
        status_retries=args.status_retries,
        connect_retries=args.connect_retries,
        deadline_seconds=args.deadline,
        deadline_setting="--deadline",
        token_source=token_source,
        address_hint="start `kubectl port-forward -n <system namespace> "
        "svc/<control plane service> 5681:5681` or pass the right --api-url",
    )
    # Said as this command says everything, once, not in Python's warning format.
    say_warnings_of(InsecureTransportWarning, _say_warning)
    kube_target: ApiTarget | None = None
    if args.kube_context:
        zone_ns = args.zone_namespace or args.system_namespace
        product = PRODUCTS["kuma"] if zone_ns == PRODUCTS["kuma"].namespace else PRODUCTS["kong-mesh"]
        try:
            # The same timeouts, retries and deadline as through --api-url, on both APIs.
            limits = target
            target = cluster_access.service_proxy_target(
                context=args.kube_context, namespace=zone_ns,
                service=args.control_plane_service or product.control_plane_service,
                port=API_PORT, kubeconfig=args.kubeconfig).limited_as(limits)
            kube_target = cluster_access.kube_target(args.kube_context,
                                                     args.kubeconfig).limited_as(limits)
        except cluster_access.KubeAccessError as exc:
            return _fail(f"{exc}\nnothing was exported")
    options = ExportOptions(
        profile=args.profile,
        target_namespace=args.system_namespace,
        include_admin=args.include_admin,
        concurrency=args.concurrency,
        strip_zone_label=args.strip_zone_label,
    )
    # One deadline for every request of the export, whichever API it asks.
    budget = Budget.of(target)
    try:
        with (KumaApiClient(target, pool_size=args.concurrency, budget=budget) as client,
              KubeApiClient(kube_target, pool_size=args.concurrency, budget=budget)
              if kube_target is not None else nullcontext() as kube_api):
            result = export_zone(client, options, progress=progress, kube_api=kube_api)
        text = to_yaml(result.documents)
        if args.output:
            _write_atomically(args.output, text)
    except (ExportError, ApiError) as exc:
        return _fail(f"{exc}\nnothing was exported")
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc}")
    said = list(result.warnings)
    if not result.documents:
        said.append(f"the zone at {args.api_url or args.kube_context} has nothing to export "
                        f"with profile {args.profile}: no Mesh, Secret or policy; the output is empty")
    for warning in said:
        print(f"WARNING: {_redact(warning)}", file=sys.stderr)
    counts = ", ".join(f"{n} {kind}" for kind, n in counts_by_kind(result.documents).items())
    progress(f"{len(result.documents)} documents ({counts or 'none'}) in {result.requests} requests")
    if not args.output:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
