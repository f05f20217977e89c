"""Workflow dataclass built from a spec and kept current by events."""

from __future__ import annotations

from typing import Any

from dwe.clients import ExecutionMode, StepState, WorkflowPriority, WorkflowState
from dwe.clients.models import Workflow
from dwe.clients.spec import build_workflow_spec


def make() -> Workflow:
    spec = build_workflow_spec(
        "wf",
        [
            {
                "step_id": "a",
                "name": "A",
                "agent_capability": "analysis",
                "estimated_duration": 2,
                "timeout_seconds": 30,
                "retry_count": 1,
            },
            {"step_id": "b", "dependencies": ["a"]},
        ],
        priority="high",
        execution_mode="adaptive",
        context={"k": 1},
    )
    return Workflow.from_spec("wf-1", spec)


def ev(seq: int, name: str, **data: Any) -> dict[str, Any]:
    return {
        "event": name,
        "workflow_id": "wf-1",
        "seq": seq,
        "timestamp": None,
        "data": {"workflow_id": "wf-1", **data},
    }


def test_from_spec() -> None:
    wf = make()
    assert (wf.workflow_id, wf.name, wf.state) == ("wf-1", "wf", WorkflowState.PENDING)
    assert (wf.priority, wf.execution_mode) == (WorkflowPriority.HIGH, ExecutionMode.ADAPTIVE)
    assert wf.context == {"k": 1}
    a, b = wf.steps
    assert (a.agent_capability, a.estimated_duration, a.timeout_seconds, a.retry_count) == (
        "analysis",
        2.0,
        30.0,
        1,
    )
    assert a.execution_mode is ExecutionMode.ADAPTIVE
    assert b.dependencies == ["a"]
    assert a.state is StepState.PENDING


def test_events_update_workflow_and_steps() -> None:
    wf = make()
    wf.apply_event(ev(1, "workflow_started", context={"k": 1, "extra": True}))
    assert wf.state is WorkflowState.RUNNING
    assert wf.context == {"k": 1, "extra": True}
    wf.apply_event(ev(2, "agent_started", step_id="a", agent_id="x", attempt=1))
    assert wf.steps[0].state is StepState.RUNNING
    wf.apply_event(
        ev(3, "agent_error", step_id="a", attempt=1, will_retry=True, error_message="boom")
    )
    assert wf.steps[0].state is StepState.RETRY_WAIT
    wf.apply_event(ev(4, "agent_completed", step_id="a", attempt=2, result={"n": 1}))
    assert (wf.steps[0].state, wf.steps[0].result, wf.steps[0].attempts) == (
        StepState.COMPLETED,
        {"n": 1},
        2,
    )
    assert wf.results == {"a": {"n": 1}}
    wf.apply_event(ev(5, "step_skipped", step_id="b", error_message="dep"))
    assert wf.steps[1].state is StepState.SKIPPED
    wf.apply_event(
        ev(
            6,
            "workflow_failed",
            error_message="b skipped",
            final_output={"results": {"a": {"n": 1}}},
        )
    )
    assert (wf.state, wf.error_message, wf.last_seq) == (WorkflowState.FAILED, "b skipped", 6)


def test_replayed_events_are_ignored() -> None:
    wf = make()
    wf.apply_event(ev(2, "workflow_completed", final_output={"results": {}}))
    wf.apply_event(ev(1, "workflow_started"))
    assert wf.state is WorkflowState.COMPLETED
