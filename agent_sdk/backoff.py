"""Jittered, capped exponential backoff (pure)."""

from __future__ import annotations

import random
from collections.abc import Callable

#: First reconnect delay, in seconds.
DEFAULT_BASE = 0.1
#: Largest reconnect delay, in seconds.
DEFAULT_CAP = 5.0
#: Fraction of the delay that is randomised: 0.5 means the delay lies in
#: ``[0.5 * d, d]`` where ``d`` is the un-jittered delay.
DEFAULT_JITTER = 0.5


def compute_backoff(
    attempt: int,
    base: float = DEFAULT_BASE,
    cap: float = DEFAULT_CAP,
    jitter: float = DEFAULT_JITTER,
    rng: Callable[[], float] = random.random,
) -> float:
    """Return the delay before reconnect number ``attempt``.

    The un-jittered delay is ``min(cap, base * 2**attempt)``; jitter then removes
    up to ``jitter`` of it so that many agents restarting together spread out.

    Args:
        attempt: Failures so far in a row, starting at 0.
        base: Delay for attempt 0, in seconds.
        cap: Upper bound of the delay, in seconds.
        jitter: Fraction in ``[0, 1]`` of the delay that is random.
        rng: Returns a float in ``[0, 1)``; injectable for tests.

    Returns:
        The delay in seconds, in ``[(1 - jitter) * d, d]``.

    Raises:
        ValueError: If an argument is out of range.
    """
    if attempt < 0 or base < 0 or cap < 0 or not 0.0 <= jitter <= 1.0:
        raise ValueError(
            f"invalid backoff arguments: attempt={attempt} base={base} cap={cap} jitter={jitter}"
        )
    # Bound the exponent so huge attempt counts cannot overflow a float.
    delay = min(cap, base * (2.0 ** min(attempt, 64)))
    return delay * (1.0 - jitter * rng())
