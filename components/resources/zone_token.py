"""Kong Mesh multi-zone authentication: each zone presents a zone token to the global.

The token goes into a Secret in the zone's namespace; the zone release mounts it
(`controlPlane.extraSecrets`) and names the file in `controlPlane.envVars`
(helm_values.zone_values), so it never sits in Helm values. How it is issued, and when: README,
"Security", "Zone authentication".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.resources.dependencies import after_component, one_dependency_input
from components.resources.federation_check import MODULE_ENVIRONMENT, module_command

ZONE_TOKEN_SECRET = "mesh-federation-zone-token"
ZONE_TOKEN_KEY = "token"


@dataclass
class ZoneTokenArgs:
    """
    :param zone_name: the zone the token is for.
    :param namespace: the zone's system namespace, where the token's Secret goes.
    :param valid_for: zoneAuth.validFor (a new value issues a new token).
    :param issuer: the issuer's TokenSpec as JSON (may hold the global's admin token); None
        when the token is given.
    :param given_token: zones[i].zoneToken, stored as given; None when the global issues one.
    :param issue_after: what the global must have in place before it issues the token: its
        release, and the signing keys copied from the key zone (a token signed earlier would be
        signed with a key the copy then replaces). Only the issuing waits for them: a given
        token's Secret does not.
    :param create_namespace: greenfield: nothing has made the namespace yet.
    :param rotation: zoneAuth.rotation (a new value issues a new token).
    """

    zone_name: str
    namespace: str
    valid_for: str
    issuer: Mapping[str, Any] | None = field(default=None, repr=False)
    given_token: str | None = field(default=None, repr=False)
    issue_after: Sequence[pulumi.Resource] = ()
    create_namespace: bool = False
    rotation: str = ""


def token_generation(args: ZoneTokenArgs) -> str:
    """Changes exactly when the zone's token does (a new validity, a rotation, another given
    token), and is known in preview: the zone's pod annotation, so a new token restarts the zone
    control plane (it reads the token when it starts). A truncated hash: it says nothing of the
    token."""
    given = hashlib.sha256(args.given_token.strip().encode()).hexdigest() if args.given_token else "issued"
    return hashlib.sha256(f"{args.valid_for}|{args.rotation}|{given}".encode()).hexdigest()[:16]


class ZoneToken(pulumi.ComponentResource):
    """A zone's token, in a Secret in the zone's namespace, retained on delete.

    Registers, when the token is issued, a `command.local.Command` running `python -m
    components.zone_token` (stdin and stdout secrets, only stderr logged); then the Secret
    `mesh-federation-zone-token` (and, greenfield, the namespace before it).

    :param str name: the component's name; its children's names start with it.
    :param ZoneTokenArgs args: the token's domain inputs.
    :param opts: `provider`: the zone's cluster (the Secret and the namespace); `depends_on`:
        what nothing of it may precede (in a zones stack, the global stack agreeing on
        zoneAuth, as a gate: no token is issued or stored unless it holds). Every child gets it.

    Outputs: `secret`, `issued_by` (the command, None for a given token), `generation` (see
    `token_generation`).
    """

    secret: k8s.core.v1.Secret
    issued_by: command.local.Command | None
    generation: str

    def __init__(self, name: str, args: ZoneTokenArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:ZoneToken", name, None, opts)
        self.issued_by = None
        self.generation = token_generation(args)
        gate = after_component(opts)
        if args.given_token is not None:
            token: pulumi.Output[str] = pulumi.Output.secret(args.given_token.strip())
        else:
            assert args.issuer is not None, "a zone token is either given or issued"
            self.issued_by = command.local.Command(
                f"{name}-issue",
                create=module_command("components.zone_token"),
                stdin=pulumi.Output.secret(json.dumps(dict(args.issuer), sort_keys=True)),
                environment=MODULE_ENVIRONMENT,
                # stdout is the token: kept out of the console, a secret in state.
                logging=command.local.Logging.STDERR,
                # A new token for a new validity or a rotation, and only then: a changed spec
                # (another admin credential, the zone's index) is no reason to issue one.
                triggers=[args.valid_for, args.rotation],
                opts=pulumi.ResourceOptions(parent=self,
                                            depends_on=one_dependency_input(args.issue_after,
                                                                            gate=gate),
                                            additional_secret_outputs=["stdout", "stdin"],
                                            ignore_changes=["stdin"]),
            )
            token = pulumi.Output.secret(self.issued_by.stdout.apply(lambda out: (out or "").strip()))
        # Retained like the zone release: a destroy must not pull the token from under a zone
        # control plane that keeps running.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        waits: list[pulumi.Resource] = []
        if args.create_namespace:
            waits.append(k8s.core.v1.Namespace(
                f"{name}-namespace", metadata={"name": args.namespace},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                    depends_on=one_dependency_input([], gate=gate)))))
        self.secret = k8s.core.v1.Secret(
            name,
            metadata={"name": ZONE_TOKEN_SECRET, "namespace": args.namespace},
            string_data={ZONE_TOKEN_KEY: token},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                depends_on=one_dependency_input(waits, gate=gate),
                additional_secret_outputs=["data", "stringData"])),
        )
        self.register_outputs({"secret": ZONE_TOKEN_SECRET})
