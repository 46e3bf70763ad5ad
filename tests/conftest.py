"""Fixtures shared by the program's tests."""

pytest_plugins = ["tests.fake_kube"]
