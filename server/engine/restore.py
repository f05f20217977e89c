"""Rebuilding an unfinished run from the store after a restart: a pure function.

``rebuild`` turns stored rows back into a ``WorkflowRun`` with its steps'
states, attempts, outputs and counters. It decides nothing: the scheduler's
``adopt`` then takes the run over (timers, leases, readiness).
"""

from __future__ import annotations

from .model import ErrorInfo, StepState, StoredWorkflow, WorkflowState
from .runs import WorkflowRun

_COUNTER = {
    StepState.COMPLETED: "completed",
    StepState.FAILED: "failed",
    StepState.SKIPPED: "skipped",
    StepState.CANCELLED: "cancelled",
}


def rebuild(row: StoredWorkflow) -> WorkflowRun:
    """The run as stored: states, attempts, outputs, counters and the next event seq."""
    wf = WorkflowRun(row.workflow_id, row.spec, row.created_at, row.request_id, row.namespace)
    wf.seq = wf.stored_seq = row.last_seq
    wf.context = {}
    wf.merge_context(dict(row.context))
    wf.session_id = row.session_id
    wf.started_at = row.started_at
    wf.state = WorkflowState(row.state)
    for stored in row.steps:
        step = wf.steps[stored.step_id]
        step.attempt = stored.attempt
        step.agent_id = stored.agent_id
        step.attempt_id = stored.attempt_id
        step.assigned_at = stored.assigned_at
        step.started_at = stored.started_at
        step.finished_at = stored.finished_at
        step.progress_index = stored.progress
        step.output = stored.output
        if stored.error_message:
            step.error = ErrorInfo(stored.error_message, stored.error_type)
        step.state = StepState(stored.state)
        if step.state.terminal:
            counter = _COUNTER[step.state]
            setattr(wf, counter, getattr(wf, counter) + 1)
    for step in wf.order:
        step.waiting = sum(
            1 for d in step.spec.dependencies if wf.steps[d].state is not StepState.COMPLETED
        )
    return wf
