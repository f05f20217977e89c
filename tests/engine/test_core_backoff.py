"""compute_backoff as a table."""

from __future__ import annotations

import pytest

from dwe.server.engine.backoff import MAX_DELAY_FACTOR, compute_backoff


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # growth: base * coefficient ** (retry - 1)
        pytest.param({"retry": 1, "base": 1.0}, 1.0, id="retry1"),
        pytest.param({"retry": 2, "base": 1.0}, 2.0, id="retry2"),
        pytest.param({"retry": 3, "base": 1.0}, 4.0, id="retry3"),
        pytest.param({"retry": 5, "base": 0.5}, 8.0, id="retry5-half"),
        pytest.param({"retry": 3, "base": 2.0, "coefficient": 3.0}, 18.0, id="coefficient3"),
        pytest.param({"retry": 4, "base": 2.0, "coefficient": 1.0}, 2.0, id="constant"),
        pytest.param({"retry": 3, "base": 1.0, "coefficient": 0.0}, 4.0, id="bad-coef-default"),
        pytest.param({"retry": 3, "base": 1.0, "coefficient": -1}, 4.0, id="neg-coef-default"),
        # cap by max_delay
        pytest.param({"retry": 4, "base": 1.0, "max_delay": 5.0}, 5.0, id="capped"),
        pytest.param({"retry": 3, "base": 1.0, "max_delay": 5.0}, 4.0, id="under-cap"),
        pytest.param({"retry": 1, "base": 10.0, "max_delay": 3.0}, 3.0, id="cap-below-base"),
        # default cap: 100 x base (also when max_delay is 0 or negative)
        pytest.param({"retry": 20, "base": 1.0}, 100.0, id="default-cap"),
        pytest.param({"retry": 20, "base": 0.25}, 25.0, id="default-cap-scales"),
        pytest.param({"retry": 20, "base": 1.0, "max_delay": 0.0}, 100.0, id="zero-max-default"),
        pytest.param({"retry": 8, "base": 1.0}, 100.0, id="2^7=128-capped"),
        pytest.param({"retry": 7, "base": 1.0}, 64.0, id="2^6=64"),
        # zero or negative base, retry < 1
        pytest.param({"retry": 3, "base": 0.0}, 0.0, id="zero-base"),
        pytest.param({"retry": 3, "base": -1.0}, 0.0, id="negative-base"),
        pytest.param({"retry": 0, "base": 1.0}, 0.0, id="retry0"),
        pytest.param({"retry": -2, "base": 1.0}, 0.0, id="retry-negative"),
        pytest.param({"retry": 3, "base": 0.0, "jitter": 0.5, "rand": 0.999}, 0.0, id="zero-jit"),
        # jitter: delay * (1 + jitter * (2 * rand - 1))
        pytest.param({"retry": 1, "base": 10.0, "jitter": 0.1, "rand": 0.0}, 9.0, id="jit-low"),
        pytest.param({"retry": 1, "base": 10.0, "jitter": 0.1, "rand": 0.5}, 10.0, id="jit-mid"),
        pytest.param(
            {"retry": 1, "base": 10.0, "jitter": 0.1, "rand": 0.999}, 10.998, id="jit-high"
        ),
        pytest.param({"retry": 1, "base": 10.0, "jitter": 1.0, "rand": 0.0}, 0.0, id="jit-full"),
        pytest.param({"retry": 1, "base": 10.0, "jitter": 0.0, "rand": 0.0}, 10.0, id="no-jit"),
    ],
)
def test_compute_backoff(kwargs: dict[str, float], expected: float) -> None:
    assert compute_backoff(**kwargs) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("retry", range(1, 12))
@pytest.mark.parametrize("jitter", [0.0, 0.1, 0.5])
def test_jitter_bounds_and_cap_is_a_hard_limit(retry: int, jitter: float) -> None:
    base, cap = 0.5, 20.0
    raw = base * 2 ** (retry - 1)
    plain = compute_backoff(retry, base, 2.0, cap)
    low = compute_backoff(retry, base, 2.0, cap, jitter, 0.0)
    high = compute_backoff(retry, base, 2.0, cap, jitter, 0.999)
    assert plain == min(raw, cap)
    assert low == pytest.approx(min(raw * (1 - jitter), cap))
    assert high == pytest.approx(min(raw * (1 + jitter * 0.998), cap))
    # Jitter spreads the delay but never past max_delay.
    assert 0.0 <= low <= plain <= high <= cap


def test_growth_is_monotonic_until_the_default_cap() -> None:
    delays = [compute_backoff(n, 1.0) for n in range(1, 15)]
    assert delays == sorted(delays)
    assert max(delays) == MAX_DELAY_FACTOR
