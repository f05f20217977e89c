"""Reconnect policy as tables: backoff count reset, give-up while stopping."""

import pytest

from dwe.agent_sdk.reconnect import STABLE_AFTER, ConnectionState


def _no_jitter() -> float:
    return 0.0


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
