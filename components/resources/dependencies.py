"""`depends_on` as one Output: many resources waiting on the same few, and on a gate.

Registered dependencies are the same as with a plain list, but the SDK resolves a plain list
once per dependent: it promotes each entry to an Output of its own (with a task, a tracked future
and two scans for unknowns) for each of thousands of exported objects. Through one shared
Output, each dependent awaits one Output whose value is already an empty list, and the SDK
expands (cycle check, URN) each resource it carries as before.

The gate is what a dependent must not be created without, though it is no resource: in a zones
stack, the global stack agreeing on zoneAuth. An Output that fails fails the registration of
every resource waiting on it, before anything reaches the engine.
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
