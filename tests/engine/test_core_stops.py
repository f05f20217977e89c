"""Taking attempts back (engine.stops): the ack timeout and the grace after a Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dwe.server.engine.model import EventType, StepState, WorkflowState
from tests.support.specs import S

if TYPE_CHECKING:
    from conftest import Driver


def test_an_unacknowledged_assignment_is_taken_back_and_assigned_again(driver: Driver) -> None:
    stuck = driver.agent("stuck")
    wf = driver.workflow(S("a"))
    (first,) = driver.dispatch()
    assert first.session is stuck
    driver.advance(29.0)
    assert wf.steps["a"].state is StepState.ASSIGNED
    out = driver.advance(1.5)  # past the 30 s ack timeout
    assert [(c[1], "acknowledged the assignment neither" in c[2]) for c in out.cancels] == [
        (first.attempt_id, True)
    ]
    step = wf.steps["a"]
    assert step.state is StepState.READY and step.tries == 0  # not a failed try
    retrying = driver.last(wf.id, EventType.AGENT_RETRYING)
    assert "within 30s" in retrying.reason
    healthy = driver.agent("healthy")
    (again,) = driver.dispatch()
    assert again.session is healthy and again.attempt == 2
    driver.complete(again, "ok")
    assert wf.state is WorkflowState.COMPLETED


def test_started_or_a_result_acknowledges(driver: Driver) -> None:
    driver.agent("ag", max_tasks=2)
    wf = driver.workflow(S("a"), S("b"))
    a, b = driver.dispatch()
    driver.start(a)
    driver.advance(10)
    driver.complete(b, "b")
    driver.advance(60)
    assert wf.steps["a"].state is StepState.RUNNING
    assert not driver.cancels


def test_a_cancel_keeps_the_slot_until_answered_or_the_grace_ends(driver: Driver) -> None:
    agent = driver.agent("ag", max_tasks=1)
    first = driver.workflow(S("a"))
    (a,) = driver.dispatch()
    driver.start(a)
    driver.s.cancel_workflow(first.id, driver.now, "stop")
    driver.drain()
    second = driver.workflow(S("b"))
    assert driver.dispatch() == []  # the cancelled attempt still holds the only slot
    driver.advance(9.9)
    assert driver.dispatch() == []
    driver.advance(0.2)  # 10 s grace: the slot is freed anyway, and counted
    (b,) = driver.dispatch()
    assert b.session is agent and b.step.wf is second
    assert driver.s.stats().cancels_unanswered == 1


def test_a_cancel_answered_in_time_is_not_counted(driver: Driver) -> None:
    driver.agent("ag", max_tasks=1)
    first = driver.workflow(S("a"))
    (a,) = driver.dispatch()
    driver.start(a)
    driver.s.cancel_workflow(first.id, driver.now, "stop")
    driver.drain()
    driver.fail(a, "cancelled", "Cancelled", retryable=False)  # the agent's answer
    driver.workflow(S("b"))
    assert len(driver.dispatch()) == 1
    driver.advance(20)
    assert driver.s.stats().cancels_unanswered == 0
