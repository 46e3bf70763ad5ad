"""Fixtures shared by the program's tests."""

# Imported here, at collection: otherwise a run that collects no property test makes hypothesis's
# pytest plugin import it at session end, under pytest's assertion rewriter, and CPython 3.11.7
# fails that with "SystemError: AST constructor recursion depth mismatch" after every test passed.
import hypothesis  # noqa: F401

from tests.fake_kube import kubeconfig

__all__ = ["kubeconfig"]


import pytest

from tests import canaries


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
