"""Reconnect policy as tables: backoff growth, jitter, count reset, give-up while stopping."""

import pytest

from dwe.agent_sdk.reconnect import DEFAULT_BASE, DEFAULT_CAP, STABLE_AFTER, ConnectionState


def _no_jitter() -> float:
    return 0.5  # the middle of the jitter band: no spread


@pytest.mark.parametrize(
    ("failures", "connected_for", "expected_delay", "failures_after"),
    [
        (0, None, 0.1, 1),  # never connected: first retry
        (3, None, 0.8, 4),  # keeps doubling
        (3, 1.0, 0.8, 4),  # short-lived session does not reset
        (3, STABLE_AFTER + 0.1, 0.1, 1),  # stable session resets
        (20, None, 5.0, 21),  # capped
    ],
)
def test_next_delay(
    failures: int, connected_for: float | None, expected_delay: float, failures_after: int
) -> None:
    state = ConnectionState(failures=failures)
    now = 100.0
    if connected_for is not None:
        state.on_connected(now - connected_for)
    assert state.next_delay(now, 0.1, 5.0, rng=_no_jitter) == pytest.approx(expected_delay)
    assert state.failures == failures_after
    assert state.connected_at is None


@pytest.mark.parametrize(
    ("rand", "factor"),
    [(0.0, 0.8), (0.25, 0.9), (0.5, 1.0), (0.999, 1.1996)],
)
def test_reconnect_delay_is_spread_twenty_percent_either_way(rand: float, factor: float) -> None:
    state = ConnectionState(failures=2)  # the third reconnect in a row: base * 2**2
    delay = state.next_delay(0.0, 0.1, 5.0, rng=lambda: rand)
    assert delay == pytest.approx(0.4 * factor)


def test_reconnect_cap_is_a_hard_limit_after_jitter() -> None:
    for failures in range(30):
        state = ConnectionState(failures=failures)
        assert state.next_delay(0.0, DEFAULT_BASE, DEFAULT_CAP, rng=lambda: 0.999) <= DEFAULT_CAP


def test_consecutive_failures_double_the_delay_up_to_the_cap() -> None:
    state = ConnectionState()
    delays = [state.next_delay(float(t), 0.1, 1.0, rng=_no_jitter) for t in range(6)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert state.failures == 6


@pytest.mark.parametrize(
    ("pending", "grace", "times", "expected"),
    [
        (0, 1.0, [0.0], [True]),
        (2, None, [0.0, 1e9], [False, False]),
        (1, 1.0, [0.0, 1.0, 1.5, 2.0], [False, False, False, True]),  # grace + slack = 2
    ],
)
def test_give_up(
    pending: int, grace: float | None, times: list[float], expected: list[bool]
) -> None:
    state = ConnectionState()
    assert [state.give_up(t, pending, grace, slack=1.0) for t in times] == expected
