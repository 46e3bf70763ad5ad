"""`kumactl export` over the control plane HTTP API (no Pulumi imports).

The value types are imported eagerly (they are cheap); the functions that
need urllib3 and `yaml` load on first use, so `python -m
components.export --help` starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from components.export.model import (
    PROFILES,
    ControlPlaneInfo,
    ExportError,
    ExportOptions,
    ExportResult,
)

if TYPE_CHECKING:
    from components.export.exporter import export_zone
    from components.export.yaml_out import counts_by_kind, to_yaml

_LAZY = {
    "export_zone": "components.export.exporter",
    "to_yaml": "components.export.yaml_out",
    "counts_by_kind": "components.export.yaml_out",
}

__all__ = [
    "PROFILES",
    "ControlPlaneInfo",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "counts_by_kind",
    "export_zone",
    "to_yaml",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
