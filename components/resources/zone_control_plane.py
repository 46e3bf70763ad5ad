"""Step 4 of the guide: the zone control plane switches to zone mode, pointing at the global.

Brownfield (default): the release the quickstart installed with the Helm CLI is upgraded with
`helm upgrade`, as the guide does, through pulumi-command; greenfield: a new zone is installed
directly in zone mode with `helm.v3.Release`. Both are retained on delete: `pulumi destroy` never
uninstalls a zone control plane. Why not `helm.v3.Release` for a brownfield zone, and why the
rollout wait: README, "Design notes".
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.config.secrecy import shown_or_masked
from components.redaction import Redactor
from components.resources.dependencies import after_component
from components.rules.chart_source import ChartSource
from components.rules.helm_values import ZoneTokenMount, values_digest, zone_values
from components.rules.values_view import values_view


@dataclass
class ZoneControlPlaneArgs:
    """
    :param zone_name: the zone's name (KUMA_MULTIZONE_ZONE_NAME).
    :param source: the chart (product, repository, version).
    :param release_name: the zone's Helm release.
    :param namespace: the zone's system namespace.
    :param kube_context: the zone's kube context, for `helm` and `kubectl`.
    :param kds_url: the global's KDS URL; None: the way back to standalone.
    :param kds_ca_cert: the CA the zone verifies the global with; None: skip verification (dev).
    :param install: `brownfield` (upgrade the running release) or `greenfield` (install it).
    :param kubeconfig: the kubeconfig for `helm` and `kubectl`, when not the default.
    :param ready_timeout_seconds: bounds Helm's hooks and the rollout wait, each.
    :param extra_values: zones[i].values, merged under ours.
    :param zone_token: the zone token's Secret to mount; None: the zone presents no token.
    :param values_secret: extra_values came from a secret config key: register them as one.
    :param extra_values_shown: extra_values as a preview may show them (ZoneConfig.values_shown);
        None: each of them masked when values_secret.
    :param redactor: knows every secret the program holds: a value holding one is masked in
        the values view.
    """

    zone_name: str
    source: ChartSource
    release_name: str
    namespace: str
    kube_context: str
    kds_url: pulumi.Input[str] | None
    kds_ca_cert: pulumi.Input[str] | None
    install: str = "brownfield"
    kubeconfig: str | None = None
    ready_timeout_seconds: int = 600
    extra_values: Mapping[str, Any] = field(default_factory=dict)
    zone_token: ZoneTokenMount | None = None
    values_secret: bool = False
    extra_values_shown: Mapping[str, Any] | None = None
    redactor: Redactor = field(default_factory=Redactor)


def helm_upgrade_command(args: ZoneControlPlaneArgs) -> str:
    """`helm upgrade --reset-then-reuse-values` of the existing release (values on stdin,
    `--values -`), then a wait for the control plane's rollout, each bounded by
    readyTimeoutSeconds. Why not the guide's `--reuse-values`, and why not `helm --wait`:
    README, "Design notes"."""
    upgrade = ["helm", "upgrade", args.release_name, *args.source.helm_cli_args(),
               "--namespace", args.namespace, "--kube-context", args.kube_context,
               "--reset-then-reuse-values", "--values", "-",
               # Bounds the chart's hooks (its CRD jobs), which Helm waits for even without --wait.
               "--timeout", f"{args.ready_timeout_seconds}s"]
    return f"{shlex.join(upgrade)}{_kubeconfig_flag(args.kubeconfig)} && {rollout_command(args)}"


def rollout_command(args: ZoneControlPlaneArgs) -> str:
    """Wait for the zone control plane's Deployment to roll out (see helm_upgrade_command)."""
    rollout = ["kubectl", "rollout", "status",
               f"deployment/{args.source.product.control_plane_deployment}",
               "--namespace", args.namespace, "--context", args.kube_context,
               "--timeout", f"{args.ready_timeout_seconds}s"]
    return f"{shlex.join(rollout)}{_kubeconfig_flag(args.kubeconfig)}"


def _kubeconfig_flag(path: str | None) -> str:
    """` --kubeconfig <path>` as the shell should read it, or nothing. Neither helm nor kubectl
    expands a `~`, and expanding it here would write this machine's home into the command, which
    then differs (and re-runs the upgrade) for every user or CI runner: `"$HOME"` is expanded by
    the shell."""
    if not path:
        return ""
    if path == "~" or path.startswith("~/"):
        rest = path[2:]
        return ' --kubeconfig "$HOME"' + (f"/{shlex.quote(rest)}" if rest else "")
    return f" --kubeconfig {shlex.quote(path)}"


class ZoneControlPlane(pulumi.ComponentResource):
    """A zone's release in zone mode (or back to standalone), retained on delete.

    Registers, brownfield, a `command.local.Command` running `helm upgrade` with our values on
    stdin, then a wait for the control plane's rollout (`helm_upgrade_command`); greenfield, a
    `helm.v3.Release` without Helm's wait, then a `command.local.Command` waiting for the rollout.

    :param str name: the component's name; its children's names start with it.
    :param ZoneControlPlaneArgs args: the zone's domain inputs.
    :param opts: `provider`: the zone's cluster (the greenfield Release); `depends_on`: what the
        zone must not switch before (the global release, the zone's token Secret and every
        object it needs on the global). The release (or upgrade) gets it.

    Outputs: `switch` (what finishes the switch to the zone's mode: the brownfield upgrade
    command, or the greenfield rollout wait), `values` (the values the zone was given),
    `shown_values` (the same, secrets masked: components/rules/values_view.py), `kds_url`
    (the global address it is given; None: the way back).
    """

    switch: pulumi.CustomResource
    values: pulumi.Output[Any]
    shown_values: dict[str, Any]
    kds_url: pulumi.Input[str] | None

    def __init__(self, name: str, args: ZoneControlPlaneArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh-federation:index:ZoneControlPlane", name, None, opts)
        self.kds_url = args.kds_url
        values = zone_values(
            args.source.product,
            zone_name=args.zone_name,
            kds_global_url=args.kds_url,
            kds_ca_cert=args.kds_ca_cert,
            extra=args.extra_values,
            zone_token=args.zone_token,
        )
        shown_extra = shown_or_masked(args.extra_values, args.extra_values_shown,
                                      secret=args.values_secret)
        self.shown_values = values_view(zone_values(
            args.source.product, zone_name=args.zone_name, kds_global_url=args.kds_url,
            kds_ca_cert=args.kds_ca_cert, extra=shown_extra, zone_token=args.zone_token,
        ), args.redactor)
        # A secret stays one in the release's values, the upgrade's stdin and what derives from them.
        resolved = pulumi.Output.secret(values) if args.values_secret else pulumi.Output.from_input(values)
        self.values = resolved
        child = pulumi.ResourceOptions(parent=self, depends_on=after_component(opts),
                                       retain_on_delete=True)
        if args.install == "greenfield":
            # Not Helm's wait (it would wait for the zone ingress LoadBalancer's address too, see
            # helm_upgrade_command): the control plane's rollout, run again for new values.
            release = k8s.helm.v3.Release(
                f"{name}-release",
                args.source.release_args(release_name=args.release_name, namespace=args.namespace,
                                         values=resolved if args.values_secret else values,
                                         timeout_seconds=args.ready_timeout_seconds,
                                         wait=False),
                opts=child,
            )
            # After the release: its URN among the triggers is a dependency, registered as one
            # (the SDK adds every input's resources to the dependencies it sends,
            # pulumi/runtime/resource.py prepare_resource), and awaited before the command runs.
            self.switch = command.local.Command(
                f"{name}-rollout",
                create=rollout_command(args),
                # The digest re-runs the wait for any new value, a secret one too; the view is
                # there for the preview (see the brownfield upgrade below).
                triggers=[release.urn, resolved.apply(values_digest), self.shown_values],
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            upgrade = helm_upgrade_command(args)
            self.switch = command.local.Command(
                f"{name}-upgrade",
                create=upgrade,
                update=upgrade,
                # No delete: `pulumi destroy` leaves the zone control plane running.
                stdin=resolved.apply(lambda v: json.dumps(v, indent=2, sort_keys=True)),
                # The values the upgrade sets, secrets masked, as a non-secret input: stdin is a
                # secret as soon as one value may be, so without this `pulumi preview --diff`
                # shows nothing but `stdin: [secret]` (issue 22). Triggers, because a change to
                # them may only ever run the upgrade again, which is what a new value asks for:
                # pulumi-command v1.2.1 runs `update` for a changed element (`triggers[0]`, any
                # value inside it) and replaces the command for a changed top-level `triggers`
                # (a stack from before this input), and a replacement runs `create`; both are
                # the same upgrade, once, and the old command deletes nothing (no `delete`,
                # retained). The view changes only with the values, or when a value becomes a
                # secret or stops being one: then the upgrade runs again with the same values,
                # which Helm records as a new revision and rolls nothing out.
                triggers=[self.shown_values],
                opts=child,
            )
        self.register_outputs({"values": resolved, "shownValues": self.shown_values})
