"""``python -m components.check``: read the spec (stdin JSON), poll, report.

Exit 0 with one JSON result object on stdout; exit 1 when the check timed out (the reasons on
stderr); exit 2 when the spec or the way to reach an API is unusable. Progress lines go to
stderr. Tokens and credential headers are masked in everything printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TextIO

from components.check.poll import CheckFailed, run_check
from components.check.spec import ApiSpec, CheckSpec, DirectApi, SpecError
from components.clients.errors import KumaApiError, Misconfigured
from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.clients.transport import InsecureTransportWarning
from components.redaction import MASK, Redactor
from components.warning_hook import say_warnings_of

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
__all__ = ["MASK", "Redactor", "main"]


def build_target(api: ApiSpec, *, side: str, timeout_seconds: float) -> ApiTarget:
    """An ApiTarget for polling: no client-side retries (the loop polls), short timeouts."""
    connect = min(5.0, timeout_seconds)
    read = min(15.0, max(1.0, timeout_seconds))
    if isinstance(api, DirectApi):
        verify: bool | str = api.ca_bundle if api.ca_bundle else not api.insecure
        return ApiTarget(
            base_url=api.url, token=api.token, verify=verify, retries=0,
            connect_timeout=connect, read_timeout=read,
            token_source=f"the {side} API token ({side}_api.token in the check spec)",
        )
    from components.clients.cluster_access import service_proxy_target  # only when a kube proxy is asked for

    target = service_proxy_target(
        context=api.context, namespace=api.namespace, service=api.service, port=api.port,
        kubeconfig=api.kubeconfig,
    )
    return replace(target, retries=0, connect_timeout=connect, read_timeout=read)


class RedactingApi:
    """Masks secrets in a client's errors at the source, before any message is shortened
    (a truncated token would no longer match the mask)."""

    def __init__(self, api: KumaApiClient, redact: Redactor) -> None:
        self._api = api
        self._redact = redact

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        try:
            return self._api.get_json(path, params)
        except KumaApiError as error:
            raise error.masked(self._redact) from None

    def url_for(self, path: str) -> str:
        return self._redact(self._api.url_for(path))


def _secrets(targets: Iterable[ApiTarget]) -> list[str | None]:
    out: list[str | None] = []
    for target in targets:
        out.append(target.token)
        out.extend(v for k, v in target.headers.items() if k.lower() in ("authorization", "cookie"))
    return out


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m components.check",
        description="Verify that a zone control plane is federated with its global.",
    )
    parser.add_argument("--spec", default="-", help="spec JSON file ('-' = stdin, the default)")
    args = parser.parse_args(list(argv) if argv is not None else None)

    try:
        if args.spec == "-":
            text = stdin.read()
        else:
            with open(args.spec, encoding="utf-8") as handle:
                text = handle.read()
        spec = CheckSpec.from_json(text)
    except (OSError, SpecError) as error:
        print(f"federation check: bad spec: {error}", file=stderr)
        return EXIT_USAGE

    spec_tokens = [api.token for api in (spec.global_api, spec.zone_api)
                   if isinstance(api, DirectApi)]
    redact = Redactor(spec_tokens)
    # TLS verification off for an API: said once, as this command's own masked line.
    say_warnings_of(InsecureTransportWarning,
                    lambda message: print(redact(f"federation check: warning: {message}"),
                                          file=stderr, flush=True))
    try:
        global_target = build_target(spec.global_api, side="global",
                                     timeout_seconds=spec.timeout_seconds)
        zone_target = build_target(spec.zone_api, side="zone", timeout_seconds=spec.timeout_seconds)
    except (RuntimeError, ImportError, ValueError) as error:
        print(f"federation check: cannot reach the APIs: {redact(str(error))}", file=stderr)
        return EXIT_USAGE
    redact = Redactor([*spec_tokens, *_secrets([global_target, zone_target])])

    def progress(line: str) -> None:
        print(redact(line), file=stderr, flush=True)

    try:
        global_client, zone_client = KumaApiClient(global_target), KumaApiClient(zone_target)
    except Misconfigured as error:  # a credential with a line break, a missing CA bundle
        print(f"federation check: cannot reach the APIs: {redact(str(error))}", file=stderr)
        return EXIT_USAGE
    with global_client, zone_client:
        try:
            result = run_check(spec, global_client=RedactingApi(global_client, redact),
                               zone_client=RedactingApi(zone_client, redact), progress=progress)
        except CheckFailed as failed:
            print(redact(str(failed)), file=stderr, flush=True)
            return EXIT_FAILED
    print(redact(json.dumps(result.to_dict(), sort_keys=True)), file=stdout, flush=True)
    return EXIT_OK
