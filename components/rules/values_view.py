"""What a preview may show of the Helm values a release is given: every value in clear, the
secret ones as SECRET_VALUE, whatever their shape.

A zone's whole values document travels to `helm upgrade` as one secret stdin as soon as any
value in it may be a secret, so the preview shows only `stdin: [secret]` (issue 22). This view
is registered beside it, as a non-secret input, and exported as a stack output: built from our
values merged with the user's values as they may be shown (components/config/secrecy.py
`shown_values`: only what the stack file holds in plaintext, under a secret config key), then
masked once more here, value by value, so that nothing secret reaches it by another way.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pulumi

from components.config.secrecy import Path, credential_paths
from components.redaction import SECRET_VALUE, Redactor, redact_url

PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


def values_view(values: Mapping[str, Any], redactor: Redactor) -> dict[str, Any]:
    """`values` with every value set under a credential's name masked (whatever it holds: text,
    a list, an object), every Pulumi secret masked (the other Outputs stay Outputs, so a preview
    shows a known one and `output<string>` for one known only later), every text that holds a
    secret the program knows (`redactor`) or a private key masked, URL userinfo masked, and a
    PEM certificate shortened to its digest (public, but two dozen lines of noise)."""
    hidden = credential_paths(values)

    def view(node: Any, path: Path) -> Any:
        if path in hidden:
            return SECRET_VALUE
        if isinstance(node, Mapping):
            return {str(key): view(child, (*path, str(key))) for key, child in node.items()}
        if isinstance(node, list):
            return [view(child, (*path, index)) for index, child in enumerate(node)]
        if isinstance(node, pulumi.Output):
            return _output_view(node, lambda resolved: view(resolved, path))
        return _leaf_view(node, redactor)

    result: dict[str, Any] = view(values, ())
    return result


def _leaf_view(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value)
    if redactor.holds_secret(text) or "PRIVATE KEY" in text:
        return SECRET_VALUE
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith(PEM_CERTIFICATE):
        return f"PEM certificate, sha256 {hashlib.sha256(value.strip().encode()).hexdigest()[:16]}"
    return redact_url(value)


def _output_view(output: pulumi.Output[Any], view: Callable[[Any], Any]) -> pulumi.Output[Any]:
    """The view of an Output's value, itself never a secret: SECRET_VALUE when the Output is one.
    Unknown stays unknown. An `apply` cannot tell a secret from a plain value (it makes its
    result a secret either way), hence the Output's own futures."""
    async def compute() -> tuple[Any, bool, bool]:
        if await output.is_secret():
            return SECRET_VALUE, await output.is_known(), False
        resolved = await output.future()
        return (None if resolved is None else view(resolved)), await output.is_known(), False
    return _derived_output(compute)


def known_or(value: pulumi.Input[str], placeholder: str) -> pulumi.Output[str]:
    """`value` once known (SECRET_VALUE when it is a secret), else `placeholder`: always known and
    never a secret, so a line that quotes it is said in a preview too (an `apply` on an unknown
    Output never runs there) and says no secret."""
    output = pulumi.Output.from_input(value)

    async def compute() -> tuple[Any, bool, bool]:
        if not await output.is_known():
            return placeholder, True, False
        return (SECRET_VALUE if await output.is_secret() else str(await output.future())), True, False
    return _derived_output(compute)


def _derived_output(compute: Callable[[], Awaitable[tuple[Any, bool, bool]]]) -> pulumi.Output[Any]:
    """An Output of what `compute` finds: (value, known, secret), with no dependencies (the
    views are for reading; what they derive from reaches the same resources another way).
    Futures, not coroutines, feed the Output: a coroutine it never awaits (the program ended
    first) would be reported as never awaited. A failure upstream leaves the view unknown: the
    values it shows fail the resource they feed with the error itself, and an error here that
    nobody awaits would only be reported again, as never retrieved."""
    loop = asyncio.get_event_loop()
    value: asyncio.Future[Any] = loop.create_future()
    known: asyncio.Future[bool] = loop.create_future()
    secret: asyncio.Future[bool] = loop.create_future()

    async def fill() -> None:
        try:
            result, is_known, is_secret = await compute()
        except Exception:
            result, is_known, is_secret = None, False, False
        known.set_result(is_known)
        secret.set_result(is_secret)
        value.set_result(result)
    # The loop keeps only a weak reference to a task: the Output's future keeps this one.
    filling = asyncio.ensure_future(fill())
    value.add_done_callback(lambda _: filling)
    return pulumi.Output(set(), value, known, secret)
