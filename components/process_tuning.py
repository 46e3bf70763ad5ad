"""How the program's Python process collects garbage: set once, by __main__.py, for the run.

Registering thousands of exported objects makes millions of long-lived Python objects (each
resource's Outputs, futures and serialized properties, alive until the program ends). CPython's
cyclic collector runs a full (oldest-generation) collection each time that heap grows by a
quarter, and each one scans all of it: measured with 10,000 objects, 16 full collections took
11 s of a 30 s run and freed under 15,000 objects. Restoring full collections once the
registrations had resolved cost one more, 0.9 s, to free 110,000 objects a moment before the
process exits and frees everything anyway (bench/program.py, 20 zones).

So full collections are put off for the run (documented knob: gc.set_threshold's third value).
The young-generation collections, which free the SDK's short-lived cycles (tasks, futures) and
the export's, run as before, so memory does not grow with garbage: turning the collector off
altogether would keep ~2.9 million cyclic objects (+150 MB). The process is Pulumi's language
host running this program, and it ends with the program.
"""

from __future__ import annotations

import gc

# Full collections only after this many young-generation (gen1) collections: never, in a run.
_FULL_COLLECTION_EVERY = 1_000_000


def postpone_full_collections() -> None:
    """Keep the young-generation thresholds; put off full collections for the rest of the run."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _FULL_COLLECTION_EVERY)
