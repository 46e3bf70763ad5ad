"""Property tests run without a wall-clock deadline, whatever settings each one declares (issue 21)."""

from hypothesis import HealthCheck, settings


def test_no_property_test_has_a_deadline_or_a_too_slow_check() -> None:
    # The profile tests/conftest.py loads, and what a test's own @settings(max_examples=...)
    # builds from it.
    assert settings.default is not None
    for in_force in (settings.default, settings(max_examples=5)):
        assert in_force.deadline is None
        assert HealthCheck.too_slow in in_force.suppress_health_check
