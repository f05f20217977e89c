"""Numbered progress and results put in order (engine.gate): each index applied once,
gaps and held results answered with a request to send again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dwe.server.engine.model import EventType, ExecutionMode, StepState
from tests.support.specs import Row, S, WorkflowRow, js, unjs

if TYPE_CHECKING:
    from conftest import Assigned, Driver

STREAMED = EventType.AGENT_STREAM


def _progress(driver: Driver, a: Assigned, index: int, record: object = None) -> dict:
    return _report(driver, a.session.session_id, a.attempt_id, index, record)


def _report(driver: Driver, sid: str, attempt_id: str, index: int, record: object = None) -> dict:
    data = None if record is None else js(record)
    driver.s.on_progress(sid, attempt_id, f"p{index}", data, driver.now, index)
    out = driver.drain()
    return {s.spec.step_id: v for s, v in out.progress.items()}


def _one(driver: Driver) -> Assigned:
    driver.agent("ag")
    wf = driver.workflow(S("a", retry_count=1))
    (a,) = driver.dispatch()
    assert wf.steps["a"].in_flight
    return a


def test_each_index_is_applied_once_in_order_and_acknowledged(driver: Driver) -> None:
    a = _one(driver)
    assert _progress(driver, a, 1) == {"a": (a.session.session_id, a.attempt_id, 1, False)}
    assert _progress(driver, a, 2)["a"][2:] == (2, False)
    assert _progress(driver, a, 2)["a"][2:] == (2, False)  # a repeat: acknowledged, dropped
    assert _progress(driver, a, 1)["a"][2:] == (2, False)
    streamed = [e.content for e in driver.events if e.type is STREAMED]
    assert streamed == ["p1", "p2"]


def test_an_index_past_a_missing_one_is_dropped_with_a_resend_request(driver: Driver) -> None:
    a = _one(driver)
    _progress(driver, a, 1)
    assert _progress(driver, a, 3)["a"][2:] == (1, True)  # 2 is missing: send after 1 again
    assert _progress(driver, a, 2)["a"][2:] == (2, False)
    assert _progress(driver, a, 3)["a"][2:] == (3, False)
    assert [e.content for e in driver.events if e.type is STREAMED] == ["p1", "p2", "p3"]


def test_a_result_waits_for_the_progress_it_follows(driver: Driver) -> None:
    a = _one(driver)
    _progress(driver, a, 1)
    sid = a.session.session_id
    assert driver.s.on_result(sid, a.attempt_id, js("done"), None, driver.now, 0.0, 3)
    out = driver.drain()
    (step,) = out.progress
    assert out.progress[step][2:] == (1, True)  # progress 2 and 3 are asked for again
    assert step.state is StepState.ASSIGNED and step.pending is not None
    _progress(driver, a, 2)
    assert step.state is StepState.ASSIGNED
    _progress(driver, a, 3)
    assert step.state is StepState.COMPLETED and unjs(step.output) == "done"
    types = [e.type for e in driver.events if getattr(e, "step_id", "") == "a"]
    assert types[-4:] == [STREAMED, STREAMED, STREAMED, EventType.AGENT_COMPLETED]


def test_a_new_attempt_starts_counting_again(driver: Driver) -> None:
    a = _one(driver)
    _progress(driver, a, 1)
    driver.fail(a)  # retryable: a second attempt after the retry delay
    driver.advance(60)
    (again,) = driver.dispatch()
    assert again.attempt_id != a.attempt_id
    assert _progress(driver, again, 1)["a"][1:] == (again.attempt_id, 1, False)


def test_a_restored_attempt_keeps_its_stored_index(
    driver: Driver, make_driver: Callable[..., Driver]
) -> None:
    """After a restart the stored index decides: the agent's repeat of 1 and 2 is
    dropped, 3 is applied (and, in PIPELINE mode, fed once)."""
    source = S("src", cap="a")
    sink = S("sink", "src", cap="b")
    wf = make_driver().workflow(source, sink, wid="w", mode=ExecutionMode.PIPELINE, start=True)
    stored = WorkflowRow(
        "w",
        wf.spec,
        [
            Row("src", "running", 1, "old", "w.0.1", 1.0, 1.5, progress=2),
            Row("sink", "running", pipe='{"fed":2,"taken":0,"first":0,"done":0,"busy":0}'),
        ],
        last_seq=5,
        records=[("sink", "in", 0, js(0)), ("sink", "in", 1, js(1))],
    )
    driver.s.restore(stored, driver.now)
    driver.drain()
    session = driver.agent("old", caps=("a",), held=["w.0.1"])
    assert driver.last_connect == (["w.0.1"], [])
    assert driver.s.attempt("w.0.1").progress_index == 2  # type: ignore[union-attr]
    for index in (1, 2, 3):
        _report(driver, session.session_id, "w.0.1", index, record=index - 1)
    assert [(k, i, unjs(b)) for s, k, i, b in driver.pipe_records if s == "sink"] == [("in", 2, 2)]
