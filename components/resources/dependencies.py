"""`depends_on` as one Output: many resources waiting on the same few, and on a gate.

Registered dependencies are the same as with a plain list, but the SDK resolves a plain list
once per dependent: it promotes each entry to an Output of its own (with a task, a tracked future
and two scans for unknowns) for each of thousands of exported objects. Through one shared
Output, each dependent awaits one Output whose value is already an empty list, and the SDK
expands (cycle check, URN) each resource it carries as before.

The gate is what a dependent must not be created without, though it is no resource: in a zones
stack, the global stack agreeing on zoneAuth. An Output that fails fails the registration of
every resource waiting on it, before anything reaches the engine.

A component's own `depends_on` (given in its `ResourceOptions`) holds for the component alone:
the SDK resolves `depends_on` per resource (pulumi/runtime/_depends_on.py) and hands a child its
parent's providers, never its parent's dependencies (pulumi/resource.py `Resource.__init__`).
`after_component` turns it into a gate the component passes on to the children that must wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi


def one_dependency_input(resources: Sequence[pulumi.Resource], *,
                         gate: pulumi.Output[Any] | None = None) -> pulumi.Input[list[pulumi.Resource]]:
    """`depends_on` for every dependent: `resources` as dependencies, after `gate` resolves."""
    waits: list[pulumi.Output[Any]] = [resource.urn for resource in resources]
    if gate is not None:
        waits.append(gate)
    if not waits:
        return []
    return pulumi.Output.all(*waits).apply(lambda _: [])


def after_component(opts: pulumi.ResourceOptions | None) -> pulumi.Output[Any] | None:
    """The `depends_on` a component was given, as one gate carrying the same resources (None
    when it was given none), for `one_dependency_input` of its children."""
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        return None
    return _carrying(depends_on).apply(lambda _: [])


def _carrying(depends_on: Any) -> pulumi.Output[Any]:
    """An Output whose resources are those `depends_on` names, in any form the SDK accepts
    (a Resource, a list of them, an Output of either): read as pulumi/runtime/_depends_on.py
    reads it, the resources an Output carries and the ones it resolves to."""
    if depends_on is None:
        return pulumi.Output.from_input([])
    if isinstance(depends_on, pulumi.Resource):
        return depends_on.urn
    if isinstance(depends_on, pulumi.Output):
        return depends_on.apply(_carrying)
    if isinstance(depends_on, Sequence) and not isinstance(depends_on, str):
        return pulumi.Output.all(*[_carrying(entry) for entry in depends_on if entry is not None])
    raise TypeError(f"'depends_on' was passed a value {depends_on!r} that was not a Resource.")
