"""ReconnectPolicy: resumed event streams back off like everything else (common.backoff)."""

from __future__ import annotations

import pytest

from dwe.clients import ReconnectPolicy
from dwe.common.backoff import backoff_delay


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 0.25), (2, 0.5), (3, 1.0), (5, 4.0), (6, 5.0), (50, 5.0)],
)
def test_stream_resume_delay_doubles_to_the_cap_without_jitter(
    failures: int, expected: float
) -> None:
    policy = ReconnectPolicy()
    assert policy.delay(failures) == pytest.approx(expected)
    assert policy.delay(failures) == backoff_delay(failures, 0.25, 2.0, 5.0)


def test_zero_initial_delay_resumes_at_once() -> None:
    assert ReconnectPolicy(initial_delay=0.0).delay(3) == 0.0
