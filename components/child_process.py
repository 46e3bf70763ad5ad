"""Stopping a child process the program or its harness started: politely first, then for sure."""

from __future__ import annotations

import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any] | None, grace_seconds: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace_seconds`; always reaped, so no
    zombie outlives the caller."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
