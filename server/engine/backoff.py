"""Retry delay: pure, so it is tested as a table."""

from __future__ import annotations

DEFAULT_BACKOFF = 2.0
MAX_DELAY_FACTOR = 100.0


def compute_backoff(
    retry: int,
    base: float,
    coefficient: float = DEFAULT_BACKOFF,
    max_delay: float | None = None,
    jitter: float = 0.0,
    rand: float = 0.5,
) -> float:
    """Delay before retry number ``retry`` (1 for the first retry).

    ``base * coefficient ** (retry - 1)``, spread by +/- ``jitter`` (a
    fraction) using ``rand`` in [0, 1) so callers stay deterministic under test,
    then capped at ``max_delay`` (default 100 x base).
    """
    if retry < 1 or base <= 0:
        return 0.0
    coefficient = coefficient if coefficient > 0 else DEFAULT_BACKOFF
    cap = max_delay if max_delay is not None and max_delay > 0 else base * MAX_DELAY_FACTOR
    delay = base * coefficient ** (retry - 1)
    if jitter > 0:
        delay *= 1.0 + jitter * (2.0 * rand - 1.0)
    return max(min(delay, cap), 0.0)
