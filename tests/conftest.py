"""Fixtures shared by the program's tests."""

from tests.fake_kube import kubeconfig

__all__ = ["kubeconfig"]
