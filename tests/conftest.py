"""Fixtures shared by the program's tests."""

# Imported here, at collection: otherwise a run that collects no property test makes hypothesis's
# pytest plugin import it at session end, under pytest's assertion rewriter, and CPython 3.11.7
# fails that with "SystemError: AST constructor recursion depth mismatch" after every test passed.
import hypothesis  # noqa: F401

from tests.fake_kube import kubeconfig

__all__ = ["kubeconfig"]


import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests import canaries


@pytest.fixture
def stack_config() -> Iterator[Callable[[dict[str, Any], list[str]], None]]:
    """Set the namespace's config as the Python language host hands it to a program after
    `pulumi config set [--secret] [--path]`: plain values as text, objects as JSON, and the
    top-level keys holding a secret (`--secret --path 'zones[0].api.token'` makes `zones` one)
    in the secret keys (PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS, read through
    pulumi.runtime.set_all_config)."""
    import pulumi.runtime

    def set_config(config: dict[str, Any], secret_keys: list[str]) -> None:
        pulumi.runtime.set_all_config(
            {f"mesh-federation:{k}": v if isinstance(v, str) else json.dumps(v)
             for k, v in config.items()},
            [f"mesh-federation:{k}" for k in secret_keys])

    yield set_config
    pulumi.runtime.set_all_config({}, [])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A test whose captured output (stdout, stderr, log, in any phase) holds a canary secret
    fails, whatever it asserted itself."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    # This phase's own sections ("Captured stdout call", "Captured log setup", ...).
    captured = "\n".join(content for name, content in report.sections if name.endswith(report.when))
    leaked = [name for name, secret in (("token", canaries.TOKEN), ("password", canaries.PASSWORD))
              if secret in captured]
    if leaked and report.passed:
        report.outcome = "failed"
        report.longrepr = f"a canary {', '.join(leaked)} appears in the test's captured output"
    return None
