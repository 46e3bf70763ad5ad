"""Ctrl-C and SIGTERM while the zones are exported: the process ends at once, in one line.

Shared by the export command (`python -m components.export`) and the program's export of its
zones (components/zone_exports.py), so that neither waits for reads in flight.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130  # as a shell reports a command ended by SIGINT


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (the export waits for nothing either way)."""


# The signal received inside stopping_at_once, if any. Kept apart from the exception it raises:
# a KeyboardInterrupt raised between two bytecodes of library code (a lock's `with`, a
# condition's wait) can come out as another exception (`RuntimeError: release unlocked lock`),
# and the interrupt must still end the process at once rather than be waited on as a failure.
_received: list[int] = []


def interrupt_received() -> bool:
    """Whether Ctrl-C or SIGTERM reached stopping_at_once: the export then waits for nothing."""
    return bool(_received)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise _Terminated()


def _interrupted(why: str, outcome: str) -> None:
    """Stop now: no traceback, nothing on stdout, no file; requests still in flight are not
    waited for (their reads could take the whole read timeout)."""
    # A second signal (the Pulumi CLI signals the program's whole process group as well as
    # the program) must not break this line into a traceback.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    print(f"error: {why}: {outcome}", file=sys.stderr, flush=True)
    os._exit(EXIT_INTERRUPTED)


@contextmanager
def stopping_at_once(outcome: str = "nothing was exported") -> Iterator[None]:
    """Within it, Ctrl-C (SIGINT) or SIGTERM ends the process at once: one line on stderr
    (`error: interrupted: <outcome>`), exit status 130, no traceback, nothing waited for.

    The export command runs in it, and so does the program's export of its zones: on Ctrl-C
    during `pulumi up` the Pulumi CLI cancels the Python language host, which sends the program
    SIGINT (pulumi-language-python's Run: `cmd.Cancel` signals os.Interrupt; the CLI's plugin
    Kill then sends SIGINT to the plugin's process group) and kills it 5 s later: without this,
    the program would wait for every read in flight and end killed, with a traceback. Outside
    the main thread (where no signal handler can be set) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {signum: signal.signal(signum, handler)
                for signum, handler in ((signal.SIGINT, _on_sigint),
                                        (signal.SIGTERM, _on_sigterm))
                # A signal the process was started ignoring (nohup) stays ignored.
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    except BaseException as failure:
        if _received or isinstance(failure, KeyboardInterrupt):
            terminated = (_received[0] == signal.SIGTERM if _received
                          else isinstance(failure, _Terminated))
            _interrupted("terminated" if terminated else "interrupted", outcome)
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
