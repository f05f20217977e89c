"""Settings of a ``dwe server`` process, never applied to an embedded server (which
shares its caller's process)."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """What start-up made (modules, config) is frozen out of every collection: it is
    never garbage, and each collection of the old generation would walk it again.

    The thresholds stay Python's: raising them (50,000/20/100) made W1 10-20 % faster,
    but ended runs hold reference cycles, and collecting them that rarely let a server
    under the W7 soak grow from 120 to 284 MiB in two minutes where it held 103 MiB
    (docs/benchmarks.md, "Fewer calls, fewer collections").
    """
    gc.freeze()
