"""backoff_delay as a table: one meaning for step retries, agent reconnects and stream resumes."""

from __future__ import annotations

import pytest

from dwe.common.backoff import backoff_delay


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # growth: base * factor ** (n - 1)
        pytest.param({"n": 1, "base": 1.0}, 1.0, id="n1"),
        pytest.param({"n": 2, "base": 1.0}, 2.0, id="n2"),
        pytest.param({"n": 3, "base": 1.0}, 4.0, id="n3"),
        pytest.param({"n": 5, "base": 0.5}, 8.0, id="n5-half"),
        pytest.param({"n": 3, "base": 2.0, "factor": 3.0}, 18.0, id="factor3"),
        pytest.param({"n": 4, "base": 2.0, "factor": 1.0}, 2.0, id="constant"),
        # cap
        pytest.param({"n": 4, "base": 1.0, "cap": 5.0}, 5.0, id="capped"),
        pytest.param({"n": 3, "base": 1.0, "cap": 5.0}, 4.0, id="under-cap"),
        pytest.param({"n": 1, "base": 10.0, "cap": 3.0}, 3.0, id="cap-below-base"),
        pytest.param({"n": 8, "base": 1.0, "cap": 100.0}, 100.0, id="2^7=128-capped"),
        pytest.param({"n": 7, "base": 1.0, "cap": 100.0}, 64.0, id="2^6=64"),
        pytest.param({"n": 10_000, "base": 0.1, "cap": 5.0}, 5.0, id="huge-n-no-overflow"),
        pytest.param({"n": 60, "base": 1.0}, 2.0**59, id="no-cap"),
        # zero or negative base: no delay at all
        pytest.param({"n": 3, "base": 0.0}, 0.0, id="zero-base"),
        pytest.param({"n": 3, "base": -1.0}, 0.0, id="negative-base"),
        pytest.param({"n": 3, "base": 0.0, "jitter": 0.5, "rand": 0.999}, 0.0, id="zero-jit"),
        # jitter: delay * (1 + jitter * (2 * rand - 1)), symmetric
        pytest.param({"n": 1, "base": 10.0, "jitter": 0.1, "rand": 0.0}, 9.0, id="jit-low"),
        pytest.param({"n": 1, "base": 10.0, "jitter": 0.1, "rand": 0.5}, 10.0, id="jit-mid"),
        pytest.param({"n": 1, "base": 10.0, "jitter": 0.1, "rand": 0.999}, 10.998, id="jit-high"),
        pytest.param({"n": 1, "base": 10.0, "jitter": 1.0, "rand": 0.0}, 0.0, id="jit-full"),
        pytest.param({"n": 1, "base": 10.0, "jitter": 0.0, "rand": 0.0}, 10.0, id="no-jit"),
        # the cap is applied after jitter: a hard limit
        pytest.param(
            {"n": 3, "base": 1.0, "cap": 4.0, "jitter": 0.5, "rand": 0.999}, 4.0, id="cap-after-jit"
        ),
    ],
)
def test_backoff_delay(kwargs: dict[str, float], expected: float) -> None:
    assert backoff_delay(**kwargs) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", range(1, 12))
@pytest.mark.parametrize("jitter", [0.0, 0.1, 0.5])
def test_jitter_bounds_and_cap_is_a_hard_limit(n: int, jitter: float) -> None:
    base, cap = 0.5, 20.0
    raw = base * 2 ** (n - 1)
    plain = backoff_delay(n, base, 2.0, cap)
    low = backoff_delay(n, base, 2.0, cap, jitter, 0.0)
    high = backoff_delay(n, base, 2.0, cap, jitter, 0.999)
    assert plain == min(raw, cap)
    assert low == pytest.approx(min(raw * (1 - jitter), cap))
    assert high == pytest.approx(min(raw * (1 + jitter * 0.998), cap))
    assert 0.0 <= low <= plain <= high <= cap


def test_growth_is_monotonic_until_the_cap() -> None:
    delays = [backoff_delay(n, 1.0, cap=100.0) for n in range(1, 15)]
    assert delays == sorted(delays)
    assert max(delays) == 100.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0, "base": 1.0},
        {"n": -2, "base": 1.0},
        {"n": 1, "base": 1.0, "factor": 0.5},
        {"n": 1, "base": 1.0, "factor": float("nan")},
        {"n": 1, "base": 1.0, "jitter": 1.5},
        {"n": 1, "base": 1.0, "jitter": -0.1},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        backoff_delay(**kwargs)  # type: ignore[arg-type]
