"""Which timers can still do something: the rest are swept from the heap (``timers``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .model import StepState, WorkflowState
from .runs import StepRun, WorkflowRun
from .timers import Timer


def timer_live(
    runs: Mapping[str, WorkflowRun],
    current: Callable[[str], StepRun | None],
    kind: Timer,
    key: Any,
    token: int,
) -> bool:
    """False only when the timer's handler would do nothing, now and later (a run's
    timeout once it ended, an attempt's timers once it is no longer in flight)."""
    if kind is Timer.WORKFLOW_TIMEOUT:
        run = runs.get(key)
        return run is not None and run.state is WorkflowState.RUNNING
    if kind in (Timer.DEADLINE, Timer.ACK):
        step = current(key)
        return step is not None and step.in_flight
    if kind is Timer.RETRY:
        return bool(key.state is StepState.RETRY_WAIT and key.attempt == token)
    if kind is Timer.SCHEDULE_TO_START:
        return bool(key.state is StepState.READY and key.attempt == token)
    return True  # leases and cancel graces: few, and short
