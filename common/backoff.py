"""Exponential backoff with jitter and a cap: one meaning everywhere (pure, stdlib only).

The delay before the n-th retry (or reconnect) is ``base * factor ** (n - 1)``,
spread by +/- ``jitter`` (a fraction, symmetric) and then capped. Step retries
(the scheduler), agent reconnects (the SDK) and resumed event streams (the
clients) all use it, each with its own parameters.
"""

from __future__ import annotations

import math


def backoff_delay(
    n: int,
    base: float,
    factor: float = 2.0,
    cap: float | None = None,
    jitter: float = 0.0,
    rand: float = 0.5,
) -> float:
    """Seconds to wait before retry number ``n`` (1 for the first).

    Args:
        n: Which retry this is, from 1.
        base: The first delay in seconds; 0 or less means no delay at all.
        factor: Growth per retry (1 keeps the delay constant).
        cap: Largest delay in seconds; None means no cap.
        jitter: Fraction in [0, 1]: the delay is scaled by ``1 + jitter * (2 * rand - 1)``.
        rand: A number in [0, 1) (``random.random()``), passed in so callers stay
            deterministic under test; 0.5 means no spread.

    Returns:
        The delay, never negative.

    Raises:
        ValueError: ``n`` below 1, ``factor`` below 1 or ``jitter`` outside [0, 1].
    """
    if n < 1 or factor < 1 or not 0.0 <= jitter <= 1.0 or math.isnan(factor):
        raise ValueError(f"backoff_delay: bad arguments n={n} factor={factor} jitter={jitter}")
    if base <= 0:
        return 0.0
    try:
        delay = base * factor ** (n - 1)
    except OverflowError:
        delay = math.inf
    delay *= 1.0 + jitter * (2.0 * rand - 1.0)
    if cap is not None:
        delay = min(delay, cap)
    return max(delay, 0.0)
