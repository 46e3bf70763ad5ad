"""Ctrl-C and SIGTERM end the export at once even when the KeyboardInterrupt they raise comes out
of library code as another exception (components/interrupt.py).

A KeyboardInterrupt raised between two bytecodes of a lock's `with` or a condition's wait can
leave that code as `RuntimeError: release unlocked lock`; the export command then used to wait
for its reads in flight (up to the read timeout) instead of ending at once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest

from components.clients.kuma_api import ApiTarget, KumaApiClient
from components.export import ExportOptions, exporter
from tests.signals import default_interrupt_signals

REPO = Path(__file__).resolve().parents[1]

# A signal that reaches stopping_at_once, whose KeyboardInterrupt the code under it turns into
# another exception, as a lock's `with` can.
CONVERTED = """
import os, signal, sys, time
from components.interrupt import stopping_at_once
with stopping_at_once("nothing was done"):
    try:
        os.kill(os.getpid(), getattr(signal, sys.argv[1]))
        time.sleep(60)
    except KeyboardInterrupt:
        raise RuntimeError("release unlocked lock")
print("not reached")
"""


@pytest.mark.parametrize(("sig", "said"), [("SIGINT", "interrupted"), ("SIGTERM", "terminated")])
def test_an_interrupt_turned_into_another_exception_still_ends_at_once(sig: str, said: str) -> None:
    done = subprocess.run([sys.executable, "-c", CONVERTED, sig], cwd=REPO, capture_output=True,
                          text=True, timeout=60, preexec_fn=default_interrupt_signals)
    assert (done.returncode, done.stdout, done.stderr) == (
        130, "", f"error: {said}: nothing was done\n")


class _RecordingPool(ThreadPoolExecutor):
    waited: ClassVar[list[bool]] = []

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        _RecordingPool.waited.append(wait)
        super().shutdown(wait=False, cancel_futures=cancel_futures)


def test_the_export_waits_for_no_read_once_an_interrupt_was_received(monkeypatch: Any) -> None:
    def converted(self: Any) -> None:
        raise RuntimeError("release unlocked lock")

    _RecordingPool.waited.clear()
    monkeypatch.setattr(exporter, "ThreadPoolExecutor", _RecordingPool)
    monkeypatch.setattr(exporter._Run, "run", converted)
    monkeypatch.setattr(exporter, "interrupt_received", lambda: True)
    with KumaApiClient(ApiTarget("http://127.0.0.1:9", retries=0)) as client, \
            pytest.raises(RuntimeError):
        exporter.export_zone(client, ExportOptions())
    assert _RecordingPool.waited == [False]
