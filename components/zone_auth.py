"""Kong Mesh multi-zone authentication: each zone presents a zone token to the global.

Per zone: the token (issued by the global through `python -m components.zone_token`, run by
pulumi-command once the global is up, or given by the user as `zones[i].zoneToken`) goes into a
Secret in the zone's namespace; the zone release reads it through `controlPlane.secrets`, so the
token never sits in Helm values. Stdin (the admin token) and stdout (the zone token) of the
command are Pulumi secrets, and the command logs only its stderr.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.federation_check import PROJECT_ROOT

ZONE_TOKEN_SECRET = "mesh-federation-zone-token"
ZONE_TOKEN_KEY = "token"


@dataclass
class ZoneTokenArgs:
    zone_name: str
    namespace: str
    provider: k8s.Provider                       # the zone's cluster
    valid_for: str
    issuer: Mapping[str, Any] | None = field(default=None, repr=False)  # TokenSpec as JSON
    given_token: str | None = field(default=None, repr=False)           # zones[i].zoneToken
    depends_on: Sequence[pulumi.Resource] = ()   # the global release
    create_namespace: bool = False               # greenfield: nothing has made it yet


class ZoneToken(pulumi.ComponentResource):
    secret: k8s.core.v1.Secret
    issued_by: command.local.Command | None

    def __init__(self, name: str, args: ZoneTokenArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:ZoneToken", name, None, opts)
        self.issued_by = None
        if args.given_token is not None:
            token: pulumi.Output[str] = pulumi.Output.secret(args.given_token.strip())
        else:
            assert args.issuer is not None, "a zone token is either given or issued"
            self.issued_by = command.local.Command(
                f"{name}-issue",
                create=f"{shlex.quote(sys.executable)} -m components.zone_token",
                stdin=pulumi.Output.secret(json.dumps(dict(args.issuer), sort_keys=True)),
                dir=PROJECT_ROOT,
                environment={"PYTHONPATH": PROJECT_ROOT, "PYTHONUNBUFFERED": "1"},
                # stdout is the token: kept out of the console, a secret in state.
                logging=command.local.Logging.STDERR,
                # A new validity means a new token; to rotate one as it is, `pulumi up --replace`
                # this command's URN.
                triggers=[args.valid_for],
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on),
                                            additional_secret_outputs=["stdout", "stdin"]),
            )
            token = pulumi.Output.secret(self.issued_by.stdout.apply(lambda out: (out or "").strip()))
        # Retained like the zone release: a destroy must not pull the token from under a zone
        # control plane that keeps running.
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, retain_on_delete=True)
        waits: list[pulumi.Resource] = []
        if args.create_namespace:
            waits.append(k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": args.namespace},
                                               opts=child))
        self.secret = k8s.core.v1.Secret(
            name,
            metadata={"name": ZONE_TOKEN_SECRET, "namespace": args.namespace},
            string_data={ZONE_TOKEN_KEY: token},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                depends_on=waits, additional_secret_outputs=["data", "stringData"])),
        )
        self.register_outputs({"secret": ZONE_TOKEN_SECRET})
