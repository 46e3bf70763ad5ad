"""Fixtures shared by the program's tests."""

# Imported here, at collection: otherwise a run that collects no property test makes hypothesis's
# pytest plugin import it at session end, under pytest's assertion rewriter, and CPython 3.11.7
# fails that with "SystemError: AST constructor recursion depth mismatch" after every test passed.
import hypothesis

from tests.fake_kube import kubeconfig

__all__ = ["kubeconfig"]


import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests import canaries

# Property tests have no wall-clock deadline: how long an example takes says how loaded the
# machine is, not whether the code is right, and a loaded CI machine would fail them at random.
# Loaded here, before any test module builds its own @settings (which start from this profile).
NO_DEADLINE = "no-deadline"
hypothesis.settings.register_profile(
    NO_DEADLINE, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile(NO_DEADLINE)


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
