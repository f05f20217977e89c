"""Scheduler outcomes: results, agents leaving, retries, timeouts, failure, cancel, events."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from dwe.server.engine.model import (
    JSON_ENCODING,
    Blob,
    ErrorInfo,
    EventType,
    StepState,
    Transformation,
    WorkflowState,
)
from dwe.server.engine.timers import SWEEP_FROM, Timer, TimerQueue
from tests.support.specs import S, unjs

if TYPE_CHECKING:
    from conftest import Driver

E = EventType


# -- results: accepted once, only for the current attempt, only from its session -----


def test_result_flow_and_agent_bookkeeping(driver: Driver) -> None:
    agent = driver.agent("a", max_tasks=2)
    wf = driver.workflow(S("s", name="Step S", description="do s"))
    (a,) = driver.dispatch()
    step = wf.steps["s"]
    assert (step.state, step.attempt, a.attempt_id) == (StepState.ASSIGNED, 1, "wf1.0.1")
    assert agent.held == {a.attempt_id: step}
    started = driver.last(wf.id, E.AGENT_STARTED)
    assert (started.step_id, started.step_name, started.agent_id, started.attempt) == (
        "s",
        "Step S",
        "a",
        1,
    )
    assert (started.task, started.capability) == ("do s", "c")

    driver.now = 2.0
    driver.start(a)
    assert (step.state, step.started_at) == (StepState.RUNNING, 2.0)
    driver.s.on_progress(agent.session_id, a.attempt_id, "half", None, 3.0)
    driver.drain()
    stream = driver.last(wf.id, E.AGENT_STREAM)
    assert (stream.content, stream.data) == ("half", None)

    driver.now = 7.0
    assert driver.complete(a, {"ok": True})
    assert step.state is StepState.COMPLETED and agent.held == {}
    assert (agent.completed, agent.failed, agent.overall.duration) == (1, 0, 5.0)
    done = driver.last(wf.id, E.AGENT_COMPLETED)
    assert done.execution_time == 5.0 and unjs(done.output) == {"ok": True}
    assert wf.state is WorkflowState.COMPLETED


@pytest.mark.parametrize(
    "case",
    ["unknown-attempt", "other-session", "unknown-session", "duplicate", "previous-attempt"],
)
def test_stale_or_foreign_results_are_ignored(driver: Driver, case: str) -> None:
    owner = driver.agent("owner", max_tasks=2)
    other = driver.agent("other", caps=["zzz"], max_tasks=2)
    wf = driver.workflow(S("s", retry_count=3, retry_delay=0.0))
    (a,) = driver.dispatch()
    step = wf.steps["s"]
    out = Blob(JSON_ENCODING, b"1")
    if case == "unknown-attempt":
        assert not driver.s.on_result(owner.session_id, "nope", out, None, 1.0)
    elif case == "other-session":
        assert not driver.s.on_result(other.session_id, a.attempt_id, out, None, 1.0)
    elif case == "unknown-session":
        assert not driver.s.on_result("ghost#9", a.attempt_id, out, None, 1.0)
    elif case == "duplicate":
        assert driver.complete(a, 1)
        assert not driver.complete(a, 2)
        assert not driver.fail(a)
        assert driver.types(wf.id).count(E.AGENT_COMPLETED) == 1
        assert unjs(step.output) == 1 and owner.completed == 1
        return
    else:  # a result for attempt 1 after attempt 2 was assigned
        assert driver.fail(a)
        (a2,) = driver.dispatch()
        assert a2.attempt == 2
        assert not driver.complete(a)
        assert step.state is StepState.ASSIGNED and step.attempt_id == a2.attempt_id
        assert driver.complete(a2)
        assert step.state is StepState.COMPLETED
        return
    driver.drain()
    assert step.state is StepState.ASSIGNED and step.attempt_id == a.attempt_id
    assert a.attempt_id in owner.held
    assert driver.complete(a, 5)
    assert unjs(step.output) == 5


def test_progress_and_started_from_other_session_are_ignored(driver: Driver) -> None:
    driver.agent("owner")
    other = driver.agent("other", caps=["x"])
    wf = driver.workflow(S("s"))
    (a,) = driver.dispatch()
    driver.s.on_started(other.session_id, a.attempt_id, 1.0)
    driver.s.on_progress(other.session_id, a.attempt_id, "x", None, 1.0)
    driver.drain()
    assert wf.steps["s"].state is StepState.ASSIGNED
    assert E.AGENT_STREAM not in driver.types(wf.id)


# -- agents leaving -------------------------------------------------------------------


def test_disconnect_without_lease_requeues_in_flight(driver: Driver) -> None:
    first = driver.agent("first", max_tasks=2)
    wf = driver.workflow(S("x"), S("y"))
    got = driver.dispatch()
    assert {a.agent_id for a in got} == {"first"}
    driver.now = 3.0
    driver.disconnect(first)
    retrying = [e for e in driver.events_of(wf.id) if e.type is E.AGENT_RETRYING]
    assert sorted(e.step_id for e in retrying) == ["x", "y"]
    for e in retrying:
        assert "disconnected" in e.reason and "first" in e.reason
        assert e.next_attempt == 2 and e.delay == 0.0
    assert {wf.steps[s].state for s in "xy"} == {StepState.READY}
    assert driver.dispatch() == []  # no agent left

    second = driver.agent("second", max_tasks=2)
    again = driver.dispatch()
    assert sorted((a.step_id, a.attempt, a.agent_id) for a in again) == [
        ("x", 2, "second"),
        ("y", 2, "second"),
    ]
    # The old session's results are late now.
    assert not driver.s.on_result(first.session_id, got[0].attempt_id, None, None, 4.0)
    for a in again:
        assert driver.complete(a)
    assert wf.state is WorkflowState.COMPLETED
    assert [wf.steps[s].attempt for s in "xy"] == [2, 2]
    assert second.held == {}


def test_lost_attempt_does_not_count_against_retry_count(driver: Driver) -> None:
    a1 = driver.agent("a1")
    wf = driver.workflow(S("s", retry_count=1, retry_delay=0.0))
    (lost,) = driver.dispatch()
    driver.disconnect(a1)
    assert lost.step.state is StepState.READY
    driver.agent("a2")
    (b,) = driver.dispatch()
    driver.fail(b)  # first real failure: one retry left
    assert driver.last(wf.id, E.AGENT_ERROR).will_retry is True
    (c,) = driver.dispatch()
    assert c.attempt == 3
    driver.fail(c)
    assert wf.state is WorkflowState.FAILED


@pytest.mark.parametrize(
    ("reconnect_at", "lists_attempt", "resumed"),
    [
        pytest.param(3.0, True, True, id="reconnect-listing-attempt-resumes"),
        pytest.param(3.0, False, False, id="reconnect-not-listing-requeues-at-lease"),
        pytest.param(None, False, False, id="never-back-requeues-at-lease"),
    ],
)
def test_agent_lease(
    make_driver: Callable[..., Driver],
    reconnect_at: float | None,
    lists_attempt: bool,
    resumed: bool,
) -> None:
    lease = 10.0
    d = make_driver(agent_lease=lease)
    agent = d.agent("a", max_tasks=2)
    wf = d.workflow(S("s"))
    (a,) = d.dispatch()
    step = wf.steps["s"]
    d.start(a)
    d.disconnect(agent)
    assert step.state is StepState.RUNNING
    assert E.AGENT_RETRYING not in d.types(wf.id)
    back = None
    if reconnect_at is not None:
        d.now = reconnect_at
        back = d.agent("a", max_tasks=2, held=[a.attempt_id] if lists_attempt else [])
        assert d.last_connect == (([a.attempt_id], []) if lists_attempt else ([], []))
    assert d.dispatch() == []
    d.now = lease - 0.01
    d.advance(0)
    assert E.AGENT_RETRYING not in d.types(wf.id)
    d.now = lease
    d.advance(0)
    if resumed:
        assert back is not None
        assert E.AGENT_RETRYING not in d.types(wf.id)
        assert step.state is StepState.RUNNING and step.session_id == back.session_id
        assert a.attempt_id in back.held
        assert d.complete(a, session=back)
        assert step.attempt == 1
    else:
        retry = d.last(wf.id, E.AGENT_RETRYING)
        assert "did not come back" in retry.reason
        assert step.state is StepState.READY
        if back is None:
            back = d.agent("a", max_tasks=2, held=[a.attempt_id])
            assert d.last_connect == ([], [a.attempt_id])  # too late: dropped
        (a2,) = d.dispatch()
        assert (a2.attempt, a2.session) == (2, back)
        assert d.complete(a2)
    assert wf.state is WorkflowState.COMPLETED


def test_same_agent_id_reconnecting_replaces_old_session(
    make_driver: Callable[..., Driver],
) -> None:
    d = make_driver(agent_lease=5.0)
    old = d.agent("a", max_tasks=1)
    wf = d.workflow(S("s"))
    (a,) = d.dispatch()
    new = d.agent("a", max_tasks=1, held=[a.attempt_id])  # old stream not noticed closed yet
    assert d.last_connect == ([a.attempt_id], [])
    assert old not in d.s.agents() and d.s.agent("a") is new
    assert not d.complete(a)  # through the old session: foreign now
    assert d.complete(a, session=new)
    assert wf.state is WorkflowState.COMPLETED


def test_stale_lease_timer_does_not_cut_a_later_lease_short(
    make_driver: Callable[..., Driver],
) -> None:
    d = make_driver(agent_lease=10.0)
    first = d.agent("a")
    wf = d.workflow(S("s"))
    (a,) = d.dispatch()
    d.disconnect(first)  # lease until t=10
    d.now = 1.0
    second = d.agent("a", held=[a.attempt_id])
    assert d.last_connect == ([a.attempt_id], [])
    d.now = 5.0
    d.disconnect(second)  # new lease until t=15
    d.now = 10.0
    d.advance(0)
    assert wf.steps["s"].state is StepState.ASSIGNED
    assert E.AGENT_RETRYING not in d.types(wf.id)


# -- retries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "jitter", "rand", "delays"),
    [
        pytest.param({"retry_delay": 1.0}, 0.0, 0.5, [1.0, 2.0], id="doubling"),
        pytest.param(
            {"retry_delay": 2.0, "backoff_coefficient": 3.0}, 0.0, 0.5, [2.0, 6.0], id="coef3"
        ),
        pytest.param(
            {"retry_delay": 4.0, "max_retry_delay": 5.0}, 0.0, 0.5, [4.0, 5.0], id="capped"
        ),
        pytest.param({"retry_delay": 10.0}, 0.1, 0.0, [9.0, 18.0], id="jitter-low"),
        pytest.param({"retry_delay": 10.0}, 0.1, 0.5, [10.0, 20.0], id="jitter-mid"),
    ],
)
def test_retries_with_backoff(
    make_driver: Callable[..., Driver],
    spec: dict[str, float],
    jitter: float,
    rand: float,
    delays: list[float],
) -> None:
    d = make_driver(rand=lambda: rand, retry_jitter=jitter)
    d.agent("a")
    wf = d.workflow(S("s", retry_count=2, **spec))
    step = wf.steps["s"]
    seen = []
    for attempt in (1, 2):
        (a,) = d.dispatch()
        assert a.attempt == attempt
        d.fail(a, f"boom {attempt}")
        err, retry = d.events_of(wf.id)[-2:]
        assert (err.type, retry.type) == (E.AGENT_ERROR, E.AGENT_RETRYING)
        assert err.will_retry is True and err.error.message == f"boom {attempt}"
        assert retry.next_attempt == attempt + 1
        seen.append(retry.delay)
        assert step.state is StepState.RETRY_WAIT
        assert d.dispatch() == []
        failed_at = d.now
        d.advance_to(failed_at + retry.delay - 0.001)
        assert step.state is StepState.RETRY_WAIT
        d.advance_to(failed_at + retry.delay)
        assert step.state is StepState.READY
    assert seen == pytest.approx(delays)
    assert seen[1] >= seen[0]
    (a,) = d.dispatch()
    assert a.attempt == 3
    d.complete(a, "ok")
    assert step.attempt == 3 and step.state is StepState.COMPLETED
    assert wf.state is WorkflowState.COMPLETED


def test_retries_exhausted_fails_workflow(driver: Driver) -> None:
    driver.agent("a")
    wf = driver.workflow(S("s", retry_count=2, retry_delay=0.0))
    for _ in range(3):
        (a,) = driver.dispatch()
        driver.fail(a, "nope", "ValueError")
    errors = [e for e in driver.events_of(wf.id) if e.type is E.AGENT_ERROR]
    assert [e.will_retry for e in errors] == [True, True, False]
    assert errors[-1].error.type == "ValueError"
    assert wf.steps["s"].attempt == 3 and wf.steps["s"].state is StepState.FAILED
    assert wf.state is WorkflowState.FAILED
    assert driver.types(wf.id)[-1] is E.WORKFLOW_FAILED
    assert "nope" in wf.error_message


@pytest.mark.parametrize("retry_count", [0, 1, 5])
def test_non_retryable_error_fails_at_once(driver: Driver, retry_count: int) -> None:
    driver.agent("a")
    wf = driver.workflow(S("s", retry_count=retry_count))
    (a,) = driver.dispatch()
    driver.fail(a, "bad input", "ValidationError", retryable=False)
    err = driver.last(wf.id, E.AGENT_ERROR)
    assert err.error.retryable is False and err.will_retry is False
    assert E.AGENT_RETRYING not in driver.types(wf.id)
    assert wf.steps["s"].attempt == 1
    assert wf.state is WorkflowState.FAILED
    assert driver.dispatch() == []


# -- timeouts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_count", "final"), [(0, WorkflowState.FAILED), (1, WorkflowState.COMPLETED)]
)
def test_step_timeout_cancels_attempt(
    driver: Driver, retry_count: int, final: WorkflowState
) -> None:
    slow = driver.agent("slow")
    wf = driver.workflow(S("s", timeout=5.0, retry_count=retry_count, retry_delay=0.0))
    (a,) = driver.dispatch()
    driver.start(a)
    assert driver.advance_to(4.99).cancels == []
    out = driver.advance_to(5.0)
    assert len(out.cancels) == 1
    session_id, attempt_id, reason = out.cancels[0]
    assert (session_id, attempt_id) == (slow.session_id, a.attempt_id)
    assert "timed out" in reason
    err = driver.last(wf.id, E.AGENT_ERROR)
    assert err.error.type == "Timeout"
    assert err.will_retry is (retry_count > 0)
    # The slot stays taken until the agent says the attempt ended.
    assert slow.held == {a.attempt_id: None}
    if retry_count:
        assert wf.steps["s"].state is StepState.READY
        assert driver.dispatch() == []
        fast = driver.agent("fast")
        (b,) = driver.dispatch()
        assert (b.attempt, b.session) == (2, fast)
        assert driver.complete(b)
    assert not driver.complete(a)  # the late result only frees the slot
    assert slow.held == {}
    assert wf.state is final


def test_timeout_never_fires_after_completion(driver: Driver) -> None:
    driver.agent("a")
    wf = driver.workflow(S("s", timeout=5.0))
    (a,) = driver.dispatch()
    driver.now = 1.0
    driver.complete(a)
    out = driver.advance(100.0)
    assert out.cancels == [] and not out.events
    assert wf.state is WorkflowState.COMPLETED


@pytest.mark.parametrize(
    ("agent_at", "failed"), [(None, True), (9.0, False), (10.5, True)], ids=str
)
def test_schedule_to_start_timeout(driver: Driver, agent_at: float | None, failed: bool) -> None:
    wf = driver.workflow(S("s", cap="gpu", schedule_to_start_timeout=10.0), S("t", "s"))
    if agent_at is not None and agent_at < 10:
        driver.advance(agent_at)
        driver.agent("g", caps=["gpu"])
        assert [a.step_id for a in driver.dispatch()] == ["s"]
    driver.now = 10.0
    driver.advance(0)
    if agent_at is not None and agent_at > 10:
        driver.now = agent_at
        driver.agent("g", caps=["gpu"])
        assert driver.dispatch() == []
    if failed:
        err = driver.last(wf.id, E.AGENT_ERROR)
        assert "no agent with capability 'gpu'" in err.error.message
        assert err.will_retry is False
        assert wf.steps["s"].state is StepState.FAILED
        assert wf.state is WorkflowState.FAILED
        assert "no agent with capability" in wf.error_message
    else:
        assert wf.steps["s"].state is StepState.ASSIGNED
        assert wf.state is WorkflowState.RUNNING


@pytest.mark.parametrize(
    ("spec_timeout", "config_timeout", "fires_at"),
    [(30.0, 0.0, 30.0), (0.0, 20.0, 20.0), (15.0, 60.0, 15.0)],
)
def test_workflow_timeout(
    make_driver: Callable[..., Driver],
    spec_timeout: float,
    config_timeout: float,
    fires_at: float,
) -> None:
    d = make_driver(default_workflow_timeout=config_timeout)
    agent = d.agent("a")
    wf = d.workflow(S("x"), S("y", "x"), default_timeout=spec_timeout or None)
    (a,) = d.dispatch()
    d.advance_to(fires_at - 0.01)
    assert wf.state is WorkflowState.RUNNING
    out = d.advance_to(fires_at)
    assert wf.state is WorkflowState.TIMED_OUT
    assert out.cancels == [(agent.session_id, a.attempt_id, wf.error_message)]
    assert f"workflow exceeded {fires_at:g}s" == wf.error_message
    assert d.types(wf.id)[-1] is E.WORKFLOW_TIMED_OUT
    assert [wf.steps[s].state for s in "xy"] == [StepState.CANCELLED] * 2
    assert d.s.stats().timed_out_workflows == 1 and d.s.stats().active_workflows == 0


def test_workflow_timeout_after_completion_is_a_no_op(driver: Driver) -> None:
    driver.agent("a")
    wf = driver.workflow(S("x"), default_timeout=10.0)
    driver.run_all()
    assert wf.state is WorkflowState.COMPLETED
    assert not driver.advance(50.0).events
    assert wf.state is WorkflowState.COMPLETED


# -- failure and cancel --------------------------------------------------------------------


def test_optional_failure_skips_dependents_and_workflow_completes(driver: Driver) -> None:
    driver.agent("a", max_tasks=4)
    wf = driver.workflow(
        S("opt", optional=True),
        S("child", "opt"),
        S("grandchild", "child"),
        S("other"),
        S("join", "other"),
    )
    got = {a.step_id: a for a in driver.dispatch()}
    assert set(got) == {"opt", "other"}
    driver.fail(got["opt"], "meh", retryable=False)
    skipped = [e for e in driver.events_of(wf.id) if e.type is E.STEP_SKIPPED]
    assert sorted(e.step_id for e in skipped) == ["child", "grandchild"]
    assert all("'opt' did not complete" in e.error.message for e in skipped)
    assert wf.state is WorkflowState.RUNNING
    driver.complete(got["other"])
    driver.run_all()
    assert wf.state is WorkflowState.COMPLETED
    states = {sid: s.state for sid, s in wf.steps.items()}
    assert states == {
        "opt": StepState.FAILED,
        "child": StepState.SKIPPED,
        "grandchild": StepState.SKIPPED,
        "other": StepState.COMPLETED,
        "join": StepState.COMPLETED,
    }
    done = driver.last(wf.id, E.WORKFLOW_COMPLETED)
    assert done.summary.success_rate == pytest.approx(2 / 5) and done.summary.success_rate < 1
    assert (done.summary.failed_steps, done.summary.skipped_steps) == (1, 2)
    assert set(done.summary.results) == {"other", "join"}


def test_required_failure_fails_workflow_and_cancels_siblings(driver: Driver) -> None:
    agent = driver.agent("a", max_tasks=3)
    wf = driver.workflow(S("bad"), S("sib1"), S("sib2"), S("after", "sib1"))
    got = {a.step_id: a for a in driver.dispatch()}
    driver.start(got["sib1"])
    out_before = len(driver.cancels)
    driver.fail(got["bad"], "kaput", retryable=False)
    assert wf.state is WorkflowState.FAILED
    assert wf.error_message == "step 'bad' failed: kaput"
    cancels = driver.cancels[out_before:]
    assert sorted(c[1] for c in cancels) == sorted([got["sib1"].attempt_id, got["sib2"].attempt_id])
    assert all(c[0] == agent.session_id for c in cancels)
    assert [wf.steps[s].state for s in ("sib1", "sib2", "after")] == [StepState.CANCELLED] * 3
    failed = driver.last(wf.id, E.WORKFLOW_FAILED)
    assert failed.summary.error_message == wf.error_message
    assert failed.summary.success_rate == 0.0
    # Cancelled attempts keep their slots until the agent reports; then results are ignored.
    assert len(agent.held) == 2
    assert not driver.complete(got["sib1"])
    assert not driver.fail(got["sib2"])
    assert agent.held == {}
    assert driver.s.stats().failed_workflows == 1


def test_cancel_running_workflow(driver: Driver) -> None:
    agent = driver.agent("a", max_tasks=2)
    wf = driver.workflow(S("x"), S("y"), S("z", "x"))
    got = driver.dispatch()
    assert len(got) == 2
    driver.now = 4.0
    assert driver.s.cancel_workflow(wf.id, driver.now, "user asked")
    out = driver.drain()
    assert wf.state is WorkflowState.CANCELLED
    assert sorted(out.cancels) == sorted(
        (agent.session_id, a.attempt_id, "user asked") for a in got
    )
    assert all(s.state is StepState.CANCELLED for s in wf.order)
    ev = driver.last(wf.id, E.WORKFLOW_CANCELLED)
    assert ev.summary.error_message == "user asked" and ev.state == WorkflowState.CANCELLED
    assert not driver.s.cancel_workflow(wf.id, 5.0)

    # The agent's slots stay taken until it confirms each cancelled attempt ended.
    other = driver.workflow(S("w"))
    assert driver.dispatch() == []
    assert len(agent.held) == 2
    assert not driver.complete(got[0])
    assert len(agent.held) == 1
    (b,) = driver.dispatch()
    assert b.step.wf is other
    assert not driver.fail(got[1])
    assert agent.held == {b.attempt_id: b.step}


def test_cancel_with_default_reason_and_pending_workflow(driver: Driver) -> None:
    wf = driver.workflow(S("x"), start=False)
    assert driver.s.cancel_workflow(wf.id, 1.0)
    driver.drain()
    assert wf.state is WorkflowState.CANCELLED
    assert wf.error_message == "cancelled by request"
    assert driver.s.stats().active_workflows == 0


# -- events and final output ----------------------------------------------------------------


def test_event_seq_has_no_gaps_per_workflow(make_driver: Callable[..., Driver]) -> None:
    d = make_driver(max_concurrent_workflows=2)
    d.agent("a", max_tasks=2)
    wfs = [
        d.workflow(S("x", retry_count=1, retry_delay=0.0), S("y", "x"), S("z", optional=True)),
        d.workflow(S("p", optional=True), S("q", "p")),
        d.workflow(S("only", timeout=3.0)),
    ]
    for _ in range(20):
        batch = d.dispatch()
        d.advance(1.0)
        for a in batch:
            if a.step_id in ("x", "p") and a.attempt == 1:
                d.fail(a)
            elif a.step_id != "only":
                d.complete(a, {"from": a.step_id})
        d.advance(5.0)
        if all(w.state.terminal for w in wfs):
            break
    assert [w.state for w in wfs] == [
        WorkflowState.COMPLETED,
        WorkflowState.COMPLETED,
        WorkflowState.FAILED,
    ]
    for w in wfs:
        evs = d.events_of(w.id)
        assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
        assert evs[-1].type in (E.WORKFLOW_COMPLETED, E.WORKFLOW_FAILED)
        times = [e.time for e in evs]
        assert times == sorted(times)
    assert d.types(wfs[2].id)[0] is E.WORKFLOW_QUEUED
    assert E.STEP_SKIPPED in d.types(wfs[1].id)


def test_final_output(driver: Driver) -> None:
    driver.now = 100.0
    driver.agent("a", max_tasks=2)
    wf = driver.workflow(S("x"), S("y", "x"))
    started = driver.last(wf.id, E.WORKFLOW_STARTED)
    assert started.total_steps == 2 and started.name == wf.id
    driver.run_all(dt=2.5)
    done = driver.last(wf.id, E.WORKFLOW_COMPLETED)
    assert done.summary.success_rate == 1.0
    assert done.summary.total_execution_time == pytest.approx(5.0)
    assert {k: unjs(v) for k, v in done.summary.results.items()} == {
        "x": {"step": "x"},
        "y": {"step": "y"},
    }
    assert (done.summary.completed_steps, done.summary.total_steps) == (2, 2)
    assert driver.finished == [wf]
    assert driver.s.stats().completed_workflows == 1
    assert driver.s.stats().completed_steps == 2


def test_transformations_apply_to_output_on_completion(driver: Driver) -> None:
    driver.agent("a")
    chain = (
        Transformation("filter", {"criteria": {"score": {"gte": 5}}}),
        Transformation("map", {"mapping": {"score": "points"}}),
        Transformation("aggregate", {"aggregate_type": "sum", "field": "points"}),
    )
    wf = driver.workflow(S("x", transformations=chain), S("y", "x"))
    (a,) = driver.dispatch()
    driver.complete(a, [{"score": 1}, {"score": 5}, {"score": 9}])
    assert unjs(wf.steps["x"].output) == {"sum": 14}
    assert unjs(driver.last(wf.id, E.AGENT_COMPLETED).output) == {"sum": 14}
    driver.run_all()
    results = driver.last(wf.id, E.WORKFLOW_COMPLETED).summary.results
    assert unjs(results["x"]) == {"sum": 14}


@pytest.mark.parametrize(
    "output",
    [Blob("application/octet-stream", b"\x01"), Blob(JSON_ENCODING, b"not json"), None],
)
def test_transformation_failure_fails_step_without_retry(
    driver: Driver, output: Blob | None
) -> None:
    driver.agent("a")
    spec = S("x", retry_count=3, transformations=(Transformation("map", {"select": ["a"]}),))
    wf = driver.workflow(spec)
    (a,) = driver.dispatch()
    assert driver.s.on_result(a.session.session_id, a.attempt_id, output, None, 1.0)
    driver.drain()
    err = driver.last(wf.id, E.AGENT_ERROR)
    assert err.error.type == "TransformError" and err.will_retry is False
    assert wf.state is WorkflowState.FAILED


def test_transformation_crash_is_a_step_failure(driver: Driver) -> None:
    driver.agent("a")
    agg = Transformation("aggregate", {"aggregate_type": "sum", "source": "total"})
    wf = driver.workflow(S("x", transformations=(agg,)))
    (a,) = driver.dispatch()
    out = Blob(JSON_ENCODING, b'{"total": 5}')
    assert driver.s.on_result(a.session.session_id, a.attempt_id, out, None, 1.0)
    assert wf.steps["x"].state is StepState.FAILED


def test_error_info_defaults() -> None:
    assert ErrorInfo("m") == ("m", "Error", True)


def test_ended_runs_leave_neither_themselves_nor_their_timers_behind(
    make_driver: Callable[..., Driver],
) -> None:
    """An hour-long workflow timeout (the guide's default) must not keep thousands of
    ended runs, or their timers, in memory for that hour (issue 12's soak)."""
    d = make_driver(default_workflow_timeout=3600.0)
    d.agent("a")
    refs = []
    for _ in range(3000):
        wf = d.workflow(S("x"), S("y", "x"))
        refs.append(weakref.ref(wf))
        d.run_all()
        d.s.forget(wf.id)  # as the runtime does once it keeps no more of it
        del wf
    d.finished.clear(), d.assignments.clear(), d.events.clear()  # the driver's own records
    gc.collect()
    assert sum(r() is not None for r in refs) == 0  # no timer holds an ended run
    late = d.workflow(S("z"), default_timeout=5.0)  # timeouts still fire
    d.advance(6.0)
    assert late.state is WorkflowState.TIMED_OUT


def test_spent_timers_are_swept_as_they_pile_up_and_live_ones_still_fire() -> None:
    spent: set[int] = set()
    queue = TimerQueue(lambda kind, key, token: key not in spent)
    for i in range(100_000):
        queue.schedule(3600.0 + i, Timer.WORKFLOW_TIMEOUT, i)
        if i % 100:
            spent.add(i)  # 99 of 100 runs end long before their timeout
    assert len(queue) < 4 * SWEEP_FROM
    fired = [key for _, key, _ in queue.due(10**9)]
    assert [k for k in fired if k not in spent] == list(range(0, 100_000, 100))
