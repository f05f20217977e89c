"""compute_backoff as a table."""

import pytest

from dwe.agent_sdk.backoff import compute_backoff


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "jitter", "rnd", "expected"),
    [
        (0, 0.1, 5.0, 0.0, 0.9, 0.1),
        (1, 0.1, 5.0, 0.0, 0.9, 0.2),
        (3, 0.1, 5.0, 0.0, 0.0, 0.8),
        (6, 0.1, 5.0, 0.0, 0.0, 5.0),  # 6.4 capped
        (10_000, 0.1, 5.0, 0.0, 0.0, 5.0),  # no overflow
        (0, 0.1, 5.0, 0.5, 0.0, 0.1),  # rng 0 -> full delay
        (0, 0.1, 5.0, 0.5, 1.0, 0.05),  # rng 1 -> half
        (2, 0.1, 5.0, 1.0, 0.5, 0.2),
        (0, 0.0, 5.0, 0.5, 0.3, 0.0),
        (4, 1.0, 0.0, 0.5, 0.3, 0.0),
    ],
)
def test_compute_backoff_table(
    attempt: int, base: float, cap: float, jitter: float, rnd: float, expected: float
) -> None:
    assert compute_backoff(attempt, base, cap, jitter, lambda: rnd) == pytest.approx(expected)


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_stays_within_jitter_band(attempt: int) -> None:
    undelayed = min(5.0, 0.1 * 2**attempt)
    for rnd in (0.0, 0.25, 0.999):
        d = compute_backoff(attempt, rng=lambda r=rnd: r)
        assert 0.5 * undelayed <= d <= undelayed


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "jitter"),
    [(-1, 0.1, 5.0, 0.5), (0, -0.1, 5.0, 0.5), (0, 0.1, -1.0, 0.5), (0, 0.1, 5.0, 1.5)],
)
def test_backoff_rejects_bad_arguments(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    with pytest.raises(ValueError):
        compute_backoff(attempt, base, cap, jitter)
