"""Fixtures shared by the program's tests."""

# Imported here, at collection: otherwise a run that collects no property test makes hypothesis's
# pytest plugin import it at session end, under pytest's assertion rewriter, and CPython 3.11.7
# fails that with "SystemError: AST constructor recursion depth mismatch" after every test passed.
import hypothesis  # noqa: F401

from tests.fake_kube import kubeconfig

__all__ = ["kubeconfig"]
