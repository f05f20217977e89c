"""Rebuilding unfinished runs from the store after a restart."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from .decisions import Timer
from .model import ErrorInfo, ExecutionMode, StepState, StoredWorkflow, WorkflowState
from .runs import StepRun, WorkflowRun
from .sessions import orphan, requeue_lost

if TYPE_CHECKING:
    from .scheduler import Scheduler


def restore_run(sched: Scheduler, row: StoredWorkflow, now: float) -> WorkflowRun:
    """Rebuild an unfinished run from the store after a restart.

    Attempts that were in flight wait out the agent lease for their agent
    to reconnect holding them; otherwise they run again.
    """
    wf = WorkflowRun(row.workflow_id, row.spec, row.created_at, row.request_id)
    wf.seq = row.last_seq
    wf.context = dict(row.context)
    wf.session_id = row.session_id
    wf.started_at = row.started_at
    sched.workflows[wf.id] = wf
    in_flight: list[StepRun] = []
    for stored in row.steps:
        step = wf.steps[stored.step_id]
        step.attempt = stored.attempt
        step.agent_id = stored.agent_id
        step.attempt_id = stored.attempt_id
        step.assigned_at = stored.assigned_at
        step.started_at = stored.started_at
        step.finished_at = stored.finished_at
        step.output = stored.output
        if stored.error_message:
            step.error = ErrorInfo(stored.error_message, stored.error_type)
        state = StepState(stored.state)
        if state.terminal:
            step.state = state
            if state is StepState.COMPLETED:
                wf.completed += 1
            elif state is StepState.FAILED:
                wf.failed += 1
            elif state is StepState.SKIPPED:
                wf.skipped += 1
            else:
                wf.cancelled += 1
        elif state in (StepState.ASSIGNED, StepState.RUNNING):
            step.state = state
            in_flight.append(step)
    for step in wf.order:
        step.waiting = sum(
            1 for d in step.spec.dependencies if wf.steps[d].state is not StepState.COMPLETED
        )
    wf_state = WorkflowState(row.state)
    if wf_state is WorkflowState.QUEUED:
        wf.state = wf_state
        heapq.heappush(sched._waiting, (wf.spec.priority, next(sched._timer_seq), wf))
        return wf
    if wf_state is not WorkflowState.RUNNING:
        return wf  # PENDING: waits for StartWorkflow
    wf.state = WorkflowState.RUNNING
    wf.start_order = next(sched._timer_seq)
    sched.active += 1
    started_streams = any(
        wf.steps[st.step_id].streamed
        and StepState(st.state) is not StepState.PENDING
        and not StepState(st.state).terminal
        for st in row.steps
    )
    if wf.spec.mode is ExecutionMode.PIPELINE and started_streams:
        # Records in flight between stages live in memory only: fail rather than lose them.
        sched._finish(
            wf,
            now,
            WorkflowState.FAILED,
            "the server restarted while records were streaming; PIPELINE runs do not resume",
        )
        return wf
    timeout = wf.spec.default_timeout or sched.config.default_workflow_timeout
    if timeout:
        sched._timer(wf.started_at + timeout, Timer.WORKFLOW_TIMEOUT, wf)
    for step in in_flight:
        step.released = True
        wf.released += 1
        sched.attempts[step.attempt_id] = step
        step.session_id = ""
        if step.spec.timeout:
            sched._timer(step.assigned_at + step.spec.timeout, Timer.DEADLINE, step.attempt_id)
        if sched.config.restart_lease > 0:
            orphan(sched, step, now, sched.config.restart_lease)
        else:
            requeue_lost(sched, step, now, "server restarted")
    ready = [s for s in wf.order if s.state is StepState.PENDING and s.waiting == 0]
    if ready:
        sched._make_ready(ready, now)
    sched._step_finished(wf, now)
    return wf
