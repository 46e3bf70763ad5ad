"""Child processes that receive Ctrl-C as they would from a terminal.

A test run started in the background by a non-interactive shell (`cmd &`, `nohup`, a CI runner's
job) inherits SIGINT set to ignored: POSIX shells ignore SIGINT and SIGQUIT in asynchronous lists
without job control, and an ignored signal stays ignored across exec. The export and the program
leave a signal the process was started ignoring alone, on purpose (components/interrupt.py,
stopping_at_once), so a test of their Ctrl-C handling starts its child with the signals at their
defaults, as a terminal or Pulumi's language host would.
"""

from __future__ import annotations

import signal


def default_interrupt_signals() -> None:
    """A `preexec_fn`: SIGINT and SIGTERM back to their defaults in the child."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
