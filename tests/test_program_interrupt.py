"""Ctrl-C during `pulumi up`, while the program exports its zones (issue 12: "Ctrl-C / SIGTERM
during an export: exits within a second or two, no traceback").

What the program receives, from Pulumi's source (pulumi/pulumi v3.259.0): on Ctrl-C the CLI
cancels the language host, whose Run gives the program's process `cmd.Cancel` = SIGINT
(sdk/python/cmd/pulumi-language-python/main.go, `cmd.Process.Signal(os.Interrupt)`, with
`cmd.WaitDelay` 5 s before a kill); closing the plugin then sends SIGINT to its whole process
group (sdk/go/common/resource/plugin/plugin.go, `cmdutil.InterruptChildren`), SIGKILL 5 s
later. So the program is run here in a process of its own, under the mock engine, against
zones whose item reads hang far longer than the guard; it is sent SIGINT (and SIGTERM, which
a CI runner sends) once every export is stuck in its reads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.export.fake_zone import FakeZone
from tests.signals import default_interrupt_signals
from tests.test_end_to_end import TOKEN, serve_zone

REPO = Path(__file__).resolve().parents[1]
# The fake's reads hang this long (or until the test ends); the program's read timeout is 30 s.
HANG_SECONDS = 120
# How long the test waits for the program to end after the signal: a guard against a hang,
# below the program's read timeout (a program that waits the read out never ends sooner) and far
# above what a loaded machine needs to stop at once; not a measurement.
GUARD_SECONDS = 20

PROGRAM = """
import json, sys
from components.config import parse_config
from components.program import build
from tests.pulumi_harness import run_program
cfg = parse_config(json.loads(sys.argv[1]))
run_program(lambda: build(cfg), preview=True)
print("the program finished", flush=True)
"""


class HangingZones:
    """Zones whose policy reads hang; `stuck` is set once each zone has a read hanging."""

    def __init__(self, count: int) -> None:
        self.release = threading.Event()
        self.stuck = threading.Barrier(count + 1)
        self.zones: list[FakeZone] = []
        for _ in range(count):
            zone = serve_zone(TOKEN)
            zone.fault = self._fault()
            self.zones.append(zone)

    def _fault(self) -> Any:
        first = threading.Event()

        def hang(handler: Any, path: str, query: Mapping[str, str]) -> bool:
            if "/meshtimeouts/" in path:
                if not first.is_set():
                    first.set()
                    self.stuck.wait(60)
                self.release.wait(HANG_SECONDS)
                return True  # no answer: the program that asked is gone
            return False
        return hang


@pytest.fixture
def hanging() -> Iterator[Any]:
    with ExitStack() as stack:
        made: list[HangingZones] = []

        def make(count: int) -> HangingZones:
            zones = HangingZones(count)
            for zone in zones.zones:
                stack.enter_context(zone)
            made.append(zones)
            return zones
        yield make
        for zones in made:
            zones.release.set()


@pytest.mark.parametrize("sig, zone_count", [(signal.SIGINT, 1), (signal.SIGINT, 2),
                                             (signal.SIGTERM, 1)])
def test_an_interrupted_export_ends_the_program_at_once_in_one_line(
        hanging: Any, sig: signal.Signals, zone_count: int) -> None:
    zones = hanging(zone_count)
    config = {"kdsTls": {"mode": "skipVerify"}, "global": {"kubeContext": "mesh-global"},
              "zones": [{"name": f"zone-{i + 1}", "kubeContext": f"mesh-zone-{i + 1}",
                         "apiUrl": zone.base_url, "apiToken": TOKEN}
                        for i, zone in enumerate(zones.zones)]}
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, json.dumps(config)], cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_interrupt_signals)
    try:
        zones.stuck.wait(60)  # every zone has a read hanging
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"the program still ran {GUARD_SECONDS}s after {sig.name}:\n{stderr[-2000:]}")
    finally:
        zones.release.set()
        if process.poll() is None:
            process.kill()
            process.communicate()
    why = "interrupted" if sig == signal.SIGINT else "terminated"
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: {why}: the zone export stopped; nothing was registered")
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "the program finished" not in stdout
