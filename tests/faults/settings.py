"""How long the fault suite runs, and its seed.

``DWE_FAULTS=full`` (``make faults``) runs the long version, anything else the short
one that ``make test`` includes. ``DWE_FAULTS_SEED`` repeats a run's random choices
(every run records its seed with its figures); without it each run draws one.
"""

from __future__ import annotations

import os
import random

FULL = os.environ.get("DWE_FAULTS") == "full"
MODE = "full" if FULL else "short"


def seed() -> int:
    chosen = os.environ.get("DWE_FAULTS_SEED")
    return int(chosen) if chosen else random.SystemRandom().randrange(1_000_000)
