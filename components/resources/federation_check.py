"""Step 5 of the guide: verify the federation, and fail `pulumi up` with the reason if it fails.

The check itself is `python -m components.check` (a module of ours, no Pulumi in it), run by
pulumi-command after the zone release: it prints progress while it polls, and its result (one
JSON object on stdout) becomes a stack output. Its spec, which may hold an API token, travels on
stdin as a Pulumi secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command

from components.resources.dependencies import after_component
from components.rules import kuma_mesh
from components.rules.helm_values import values_digest

# How pulumi-command runs a module of ours: no interpreter path, no checkout path, no PYTHONPATH
# (they differ between clones, virtualenvs, CI runners and laptops, and a changed input re-runs
# the command). The launcher finds the project's interpreter when the command runs, and the
# command runs in the project root (the reasons are in components/run_module.sh).
LAUNCHER = "sh components/run_module.sh"
MODULE_ENVIRONMENT = {"PYTHONUNBUFFERED": "1"}


def module_command(module: str) -> str:
    return f"{LAUNCHER} {module}"


def expected_policies(documents: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The exported policies the check looks for on the global, matched there by display name."""
    expected = []
    for document in documents:
        kind = str(document.get("kind", ""))
        if not str(document.get("apiVersion", "")).startswith("kuma.io/") or kind == "Mesh":
            continue
        metadata = document.get("metadata") or {}
        expected.append({"type": kind, "mesh": kuma_mesh.mesh_of(document),
                         "name": str(metadata.get("name", ""))})
    return expected


@dataclass
class FederationCheckArgs:
    """
    :param zone_name: the zone to check.
    :param global_api: how the check reaches the global's API (`{"url": ...}` or
        `{"kube_proxy": {...}}`); may hold a token.
    :param zone_api: the same for the zone.
    :param policies: the exported policies to find on the global (`expected_policies`).
    :param timeout_seconds: check.timeoutSeconds.
    :param interval_seconds: advanced.checkIntervalSeconds.
    :param zone_switch_urn: the URN of what switched the zone: a new release means a new check.
    :param zone_values: what the zone release was given: a change re-runs the check.
    """

    zone_name: str
    global_api: Mapping[str, Any]
    zone_api: Mapping[str, Any]
    policies: Sequence[Mapping[str, str]]
    timeout_seconds: int
    interval_seconds: float
    zone_switch_urn: pulumi.Input[str]
    zone_values: pulumi.Input[Any]


class FederationCheck(pulumi.ComponentResource):
    """The federation check of one zone: `pulumi up` fails with the reason if it fails.

    Registers a `command.local.Command` running `python -m components.check` (its spec, which
    may hold API tokens, on stdin as a secret; progress on stderr; one JSON result on stdout).

    :param str name: the component's name; the command is `<name>-run`.
    :param FederationCheckArgs args: what to check, and what re-runs it.
    :param opts: `depends_on`: what the check runs after (the zone's release); the command gets it.

    Outputs: `result`, the check's JSON result.
    """

    result: pulumi.Output[Any]

    def __init__(self, name: str, args: FederationCheckArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:FederationCheck", name, None, opts)
        spec = {
            "zone": args.zone_name,
            "global_api": dict(args.global_api),
            "zone_api": dict(args.zone_api),
            # Data plane proxies are checked for presence, read live by the check: no count
            # frozen at export time in this input (see components/check/spec.py Expectations).
            "expect": {"dataplanes": True, "policies": list(args.policies)},
            "timeout_seconds": args.timeout_seconds,
            "interval_seconds": args.interval_seconds,
        }
        run = command.local.Command(
            f"{name}-run",
            create=module_command("components.check"),
            stdin=pulumi.Output.secret(json.dumps(spec, sort_keys=True)),
            environment=MODULE_ENVIRONMENT,
            # Progress (stderr) is shown; the result (stdout, one JSON line naming every policy
            # found) is only captured. pulumi-command 1.2.1 streams logged output through a
            # bufio.Scanner (provider/pkg/provider/util/util.go LogOutput, 64 KiB lines): a
            # longer line stops the reader, the pipe fills and the check blocks on its last
            # write forever (seen at 3,000 policies, bench/guide_vs_up.py).
            logging=command.local.Logging.STDERR,
            # A new zone release, or new values for it (a CA, a KDS address, a rotated token),
            # means a new check; a changed spec re-runs it as an update. The URN alone never
            # changes, and a check that passed once would stand for every later upgrade.
            triggers=[args.zone_switch_urn,
                      pulumi.Output.from_input(args.zone_values).apply(values_digest)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=after_component(opts)),
        )
        # stdout carries only the check's result, never the spec: safe to show.
        self.result = pulumi.Output.unsecret(run.stdout).apply(_parse_result)
        self.register_outputs({"result": self.result})


def _parse_result(stdout: str | None) -> Any:
    try:
        return json.loads(stdout or "null")
    except json.JSONDecodeError:
        return {"raw": stdout}
