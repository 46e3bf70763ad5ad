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


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
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
    previous = {signum: signal.signal(signum, handler)
                for signum, handler in ((signal.SIGINT, signal.default_int_handler),
                                        (signal.SIGTERM, _on_sigterm))
                # A signal the process was started ignoring (nohup) stays ignored.
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    except _Terminated:
        _interrupted("terminated", outcome)
    except KeyboardInterrupt:
        _interrupted("interrupted", outcome)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
