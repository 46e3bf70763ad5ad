"""Federation check: verify that a zone control plane joined its global (no Pulumi imports).

Run as ``python -m components.check`` with the spec JSON on stdin; see ``spec`` for the format.
"""

from components.check.cli import main
from components.check.poll import CheckFailed, CheckResult, run_check
from components.check.spec import (
    ApiSpec,
    CheckSpec,
    DirectApi,
    Expectations,
    ExpectedPolicy,
    KubeProxyApi,
    SpecError,
)

__all__ = [
    "ApiSpec",
    "CheckFailed",
    "CheckResult",
    "CheckSpec",
    "DirectApi",
    "Expectations",
    "ExpectedPolicy",
    "KubeProxyApi",
    "SpecError",
    "main",
    "run_check",
]
