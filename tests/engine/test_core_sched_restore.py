"""Scheduler.restore: rebuilding unfinished runs from store rows after a restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from conftest import Assigned

from dwe.server.engine.model import (
    JSON_ENCODING,
    Blob,
    EventType,
    StepSpec,
    StepState,
    WorkflowSpec,
    WorkflowState,
)
from tests.support.specs import Row, S, WorkflowRow, unjs

if TYPE_CHECKING:
    from conftest import Driver

E = EventType


DIAMOND = WorkflowSpec(
    "diamond", (S("a"), S("b", "a"), S("c", "a"), S("d", "b", "c")), default_timeout=None
)


def diamond_row(state: str = "running", **wf: Any) -> WorkflowRow:
    return WorkflowRow(
        "w",
        DIAMOND,
        [
            Row("a", "completed", 1, "old", "w.0.1", 1.0, 1.5, 3.0, Blob(JSON_ENCODING, b'"A"')),
            Row("b", "running", 1, "old", "w.1.1", 3.0, 3.5),
            Row("c", "pending"),
            Row("d", "pending"),
        ],
        state=state,
        **wf,
    )


def test_restore_requeues_running_step_without_lease(make_driver) -> None:
    driver = make_driver(restart_lease=0.0)
    driver.now = 100.0
    wf = driver.s.restore(diamond_row(), driver.now)
    driver.drain()
    assert driver.s.run("w") is wf and driver.s.stats().active_workflows == 1
    assert (wf.state, wf.request_id, wf.context, wf.started_at) == (
        WorkflowState.RUNNING,
        "req-1",
        {"user": "u1"},
        1.0,
    )
    steps = wf.steps
    assert steps["a"].state is StepState.COMPLETED and unjs(steps["a"].output) == "A"
    assert (steps["b"].state, steps["c"].state, steps["d"].state) == (
        StepState.READY,
        StepState.READY,
        StepState.PENDING,
    )
    (retry,) = driver.events_of("w")
    assert (retry.type, retry.seq, retry.step_id) == (E.AGENT_RETRYING, 8, "b")
    assert retry.reason == "server restarted" and retry.next_attempt == 2

    old = driver.agent("old", max_tasks=4, held=["w.1.1"])
    assert driver.last_connect == ([], ["w.1.1"])  # nothing to resume without a lease
    got = {a.step_id: a for a in driver.dispatch()}
    assert set(got) == {"b", "c"}
    assert (got["b"].attempt, got["b"].attempt_id) == (2, "w.1.2")
    assert got["c"].attempt == 1
    assert not driver.s.on_result(old.session_id, "w.1.1", None, None, 101.0)
    for a in got.values():
        driver.complete(a, {"step": a.step_id})
    driver.run_all()
    assert wf.state is WorkflowState.COMPLETED
    done = driver.last("w", E.WORKFLOW_COMPLETED)
    assert {k: unjs(v) for k, v in done.summary.results.items()} == {
        "a": "A",
        "b": {"step": "b"},
        "c": {"step": "c"},
        "d": {"step": "d"},
    }
    assert done.summary.success_rate == 1.0
    seqs = [e.seq for e in driver.events_of("w")]
    assert seqs == list(range(8, 8 + len(seqs)))


@pytest.mark.parametrize("reconnect", [True, False])
def test_restore_with_lease(make_driver: Callable[..., Driver], reconnect: bool) -> None:
    d = make_driver(restart_lease=10.0)
    d.now = 100.0
    wf = d.s.restore(diamond_row(), d.now)
    d.drain()
    assert wf.steps["b"].state is StepState.RUNNING
    assert E.AGENT_RETRYING not in d.types("w")
    d.now = 102.0
    agent = d.agent("old", max_tasks=4, held=["w.1.1"] if reconnect else [])
    assert d.last_connect == ((["w.1.1"], []) if reconnect else ([], []))
    (c,) = d.dispatch()
    assert c.step_id == "c"
    d.complete(c)
    d.advance_to(110.0)
    if reconnect:
        assert E.AGENT_RETRYING not in d.types("w")
        assert d.s.on_result(agent.session_id, "w.1.1", Blob(JSON_ENCODING, b"1"), None, 111.0)
        d.drain()
        assert wf.steps["b"].state is StepState.COMPLETED and wf.steps["b"].attempt == 1
    else:
        assert "did not come back" in d.last("w", E.AGENT_RETRYING).reason
        (b,) = d.dispatch()
        assert (b.step_id, b.attempt) == ("b", 2)
        d.complete(b)
    d.run_all()
    assert wf.state is WorkflowState.COMPLETED


def test_restore_all_steps_done_completes(driver: Driver) -> None:
    row = WorkflowRow(
        "w",
        WorkflowSpec("w", (S("a"), S("b", "a", optional=True), S("c", "b"))),
        [
            Row("a", "completed", 1, output=Blob(JSON_ENCODING, b"1")),
            Row("b", "failed", 2, error_message="x", error_type="E"),
            Row("c", "skipped"),
        ],
    )
    wf = driver.s.restore(row, 50.0)
    driver.drain()
    assert wf.state is WorkflowState.COMPLETED
    assert (wf.completed, wf.failed, wf.skipped) == (1, 1, 1)
    assert wf.steps["b"].error is not None and wf.steps["b"].error.message == "x"
    done = driver.last("w", E.WORKFLOW_COMPLETED)
    assert done.seq == 8 and done.summary.success_rate == pytest.approx(1 / 3)
    assert driver.s.stats().active_workflows == 0


def test_restore_pending_waits_for_start(driver: Driver) -> None:
    wf = driver.s.restore(diamond_row("pending", last_seq=0), 5.0)
    driver.drain()
    assert wf.state is WorkflowState.PENDING and driver.events == []
    driver.agent("x", max_tasks=4)
    assert driver.dispatch() == []
    driver.s.start_workflow("w", 6.0)
    driver.drain()
    assert driver.events_of("w")[0].seq == 1


def test_restore_queued_starts_when_a_slot_frees(make_driver: Callable[..., Driver]) -> None:
    d = make_driver(max_concurrent_workflows=1)
    d.agent("x", max_tasks=4)
    running = d.workflow(StepSpec("only", capability="c"))
    queued = d.s.restore(diamond_row("queued"), 10.0)
    assert queued.state is WorkflowState.QUEUED
    (a,) = d.dispatch()
    assert a.step.wf is running
    d.complete(a)
    assert queued.state is WorkflowState.RUNNING
    assert d.types("w")[0] is E.WORKFLOW_STARTED and d.events_of("w")[0].seq == 8
    d.run_all()
    assert queued.state is WorkflowState.COMPLETED


def test_restore_keeps_workflow_timeout_from_original_start(driver: Driver) -> None:
    spec = WorkflowSpec("t", DIAMOND.steps, default_timeout=50.0)
    row = WorkflowRow("w", spec, diamond_row().steps, started_at=10.0)
    wf = driver.s.restore(row, 30.0)
    driver.advance_to(59.0)
    assert wf.state is WorkflowState.RUNNING
    driver.advance_to(60.0)
    assert wf.state is WorkflowState.TIMED_OUT


def test_restored_attempt_keeps_its_timeout(make_driver: Callable[..., Driver]) -> None:
    d = make_driver(restart_lease=10.0)
    spec = WorkflowSpec("t", (S("a", timeout=20.0),))
    row = WorkflowRow("w", spec, [Row("a", "running", 1, "old", "w.0.1", 90.0, 90.0)])
    wf = d.s.restore(row, 100.0)
    d.now = 101.0
    agent = d.agent("old", held=["w.0.1"])
    assert d.last_connect == (["w.0.1"], [])
    out = d.advance_to(200.0)
    assert (agent.session_id, "w.0.1") in [c[:2] for c in out.cancels]
    assert wf.steps["a"].state is not StepState.RUNNING


# -- rollback: evict a run and restore it from its rows (a commit failed) ---------------


def test_evicted_run_restored_from_rows_keeps_attempts_its_agent_still_holds(
    driver: Driver,
) -> None:
    agent = driver.agent("a", max_tasks=2)
    wf = driver.workflow(S("x"), S("y"), wid="w")
    x, y = driver.dispatch()
    driver.complete(y, {"done": True})  # decided in memory, say its commit failed
    held = driver.s.evict("w")
    assert held == {x.attempt_id: agent.session_id}  # y's slot was already given back
    assert driver.s.run("w") is None and not agent.held
    stored = WorkflowRow(
        "w",
        wf.spec,
        [
            Row("x", "running", 1, "a", x.attempt_id, 2.0, 2.0),
            Row("y", "running", 1, "a", y.attempt_id, 2.0, 2.0),
        ],
        last_seq=4,
    )
    restored = driver.s.restore(stored, driver.now, held)
    driver.drain()
    # x carries on where it runs; y's outcome was lost with the commit, so it runs again.
    assert agent.held[x.attempt_id] is restored.steps["x"]
    assert driver.s.attempt(x.attempt_id) is restored.steps["x"]
    retry = driver.last("w", E.AGENT_RETRYING)
    assert (retry.step_id, retry.seq, retry.delay) == ("y", 5, 0.0)
    assert "not stored" in retry.reason
    (again,) = driver.dispatch()
    assert (again.step_id, again.attempt) == ("y", 2)
    driver.complete(again, {"done": True})
    driver.complete(Assigned(agent, restored.steps["x"], x.attempt_id, 1), {"done": True})
    assert restored.state is WorkflowState.COMPLETED
    seqs = [e.seq for e in driver.events_of("w") if e.seq > 4]
    assert seqs == list(range(5, 5 + len(seqs)))


def test_evicted_run_is_dead_for_its_old_timers_and_queue_entries(driver: Driver) -> None:
    driver.agent("a", max_tasks=1)
    wf = driver.workflow(S("x", timeout=5.0), S("y"), wid="w")
    assert len(driver.dispatch()) == 1
    driver.s.evict("w")
    assert all(s.state is StepState.CANCELLED for s in wf.order)
    driver.advance(10.0)  # x's deadline fires on the dead step: nothing happens
    assert driver.dispatch() == [] and driver.s.stats().active_workflows == 0
