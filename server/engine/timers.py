"""Firing the scheduler's timers: deadlines, retries, leases, timeouts."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from .decisions import Timer
from .model import ErrorInfo, EventType, StepState, WorkflowState
from .sessions import requeue_lost

if TYPE_CHECKING:
    from .scheduler import Scheduler


def advance(sched: Scheduler, now: float) -> None:
    """Fire every timer due at ``now``."""
    timers = sched._timers
    while timers and timers[0][0] <= now:
        _, _, kind, key, token = heapq.heappop(timers)
        if kind is Timer.DEADLINE:
            _on_deadline(sched, key, now)
        elif kind is Timer.RETRY:
            step = key
            if step.state is StepState.RETRY_WAIT and step.attempt == token:
                step.state = StepState.READY
                sched.outbox.steps[step] = None
                sched._enqueue(step, now)
        elif kind is Timer.LEASE:
            step, lease = sched._orphans.get(key, (None, 0))
            if step is not None and lease == token:
                del sched._orphans[key]
                if sched.attempts.get(key) is step:
                    requeue_lost(sched, step, now, f"agent {step.agent_id} did not come back")
        elif kind is Timer.WORKFLOW_TIMEOUT:
            wf = key
            if wf.state is WorkflowState.RUNNING:
                limit = wf.spec.default_timeout or sched.config.default_workflow_timeout
                sched._finish(wf, now, WorkflowState.TIMED_OUT, f"workflow exceeded {limit:g}s")
        elif kind is Timer.SCHEDULE_TO_START:
            step = key
            if step.state is StepState.READY and step.attempt == token:
                step.error = ErrorInfo(
                    f"no agent with capability {step.spec.capability!r} picked up step "
                    f"{step.spec.step_id!r} within {step.spec.schedule_to_start_timeout:g}s",
                    "ScheduleToStartTimeout",
                    False,
                )
                sched._emit(
                    step.wf,
                    EventType.AGENT_ERROR,
                    now,
                    step,
                    {
                        "error_message": step.error.message,
                        "error_type": step.error.type,
                        "retryable": False,
                        "will_retry": False,
                        "execution_time": 0.0,
                    },
                )
                sched._fail_step(step, now)


def _on_deadline(sched: Scheduler, attempt_id: str, now: float) -> None:
    step = sched.attempts.get(attempt_id)
    if step is None or step.state not in (StepState.ASSIGNED, StepState.RUNNING):
        return
    del sched.attempts[attempt_id]
    sched._orphans.pop(attempt_id, None)
    agent = sched.sessions.get(step.session_id)
    reason = f"attempt timed out after {step.spec.timeout:g}s"
    if agent is not None and attempt_id in agent.held:
        agent.held[attempt_id] = None
        sched.outbox.cancels.append((step.session_id, attempt_id, reason))
    sched._fail_attempt(step, ErrorInfo(reason, "Timeout", True), now)
