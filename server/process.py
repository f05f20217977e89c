"""Settings of a ``dwe server`` process, never applied to an embedded server (which
shares its caller's process)."""

from __future__ import annotations

import gc

#: Young collections every 50,000 allocations instead of 700, full ones 20 x 100 young
#: ones apart. A server holds many long-lived objects (runs, steps, events), and each
#: collection of the old generation walks all of them: with the defaults, encoding the
#: 2,001 events of W1's dispatch took 10-50 ms depending on whether a full collection
#: fell inside it (docs/benchmarks.md, "Fewer calls and fewer collections").
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Fewer, larger collections; what start-up made (modules, config) is frozen, since
    it is never garbage."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
