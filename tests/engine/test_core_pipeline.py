"""PIPELINE mode in the core: records flow to streamed dependents as they are emitted."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from dwe.server.engine.model import EventType, ExecutionMode, StepSpec, StepState, WorkflowState
from dwe.server.engine.runs import WorkflowRun
from tests.support.specs import Row, S, WorkflowRow, js, unjs

if TYPE_CHECKING:
    from conftest import Assigned, Driver


def emit(d: Driver, a: Assigned, record: object) -> None:
    d.s.on_progress(a.session.session_id, a.attempt_id, "", js(record), d.now)
    d.drain()


def inputs_of(a: Assigned) -> dict:
    assert a.inputs is not None
    return {k: unjs(v) for k, v in a.inputs.items()}


def test_records_reach_the_next_stage_while_the_first_still_runs(driver: Driver) -> None:
    for cap in ("a", "b"):
        driver.agent(f"agent-{cap}", caps=[cap])
    wf = driver.workflow(
        S("src", cap="a"), S("double", "src", cap="b"), mode=ExecutionMode.PIPELINE
    )
    (src,) = driver.dispatch()
    emit(driver, src, 1)
    (first,) = driver.dispatch()  # src has not finished, yet its record is being processed
    assert (first.step_id, inputs_of(first)) == ("double", {"src": 1})
    emit(driver, src, 2)
    assert driver.dispatch() == []  # one invocation at a time keeps order
    driver.complete(first, 2)
    (second,) = driver.dispatch()
    assert inputs_of(second) == {"src": 2}
    driver.complete(src, {"emitted": 2})
    driver.complete(second, 4)
    assert wf.state is WorkflowState.COMPLETED
    assert unjs(wf.steps["double"].output) == [2, 4]
    assert unjs(wf.steps["src"].output) == {"emitted": 2}
    starts = [e for e in driver.events if e.type is EventType.AGENT_STARTED]
    done = [e for e in driver.events if e.type is EventType.AGENT_COMPLETED]
    assert [(e.step_id, e.attempt) for e in starts] == [("src", 1), ("double", 1), ("double", 2)]
    assert len(done) == 3  # one per invocation; the stage's list is its stored output


def test_return_values_become_records_for_the_stage_after(driver: Driver) -> None:
    driver.agent("worker", caps=["c"], max_tasks=3)
    wf = driver.workflow(S("a"), S("b", "a"), S("c", "b"), mode=ExecutionMode.PIPELINE)
    (a,) = driver.dispatch()
    for i in range(3):
        emit(driver, a, i)
    driver.complete(a)
    results = []
    while not wf.state.terminal:
        for x in driver.dispatch():
            (value,) = inputs_of(x).values()
            results.append((x.step_id, value))
            driver.complete(x, value * 10 if x.step_id == "b" else value + 1)
    assert unjs(wf.steps["b"].output) == [0, 10, 20]
    assert unjs(wf.steps["c"].output) == [1, 11, 21]
    assert [v for s, v in results if s == "c"] == [0, 10, 20]


@pytest.mark.parametrize(
    ("n", "batch", "calls"), [(5, 2, [[0, 1], [2, 3], [4]]), (3, 3, [[0, 1, 2]])]
)
def test_batches_of_records(driver: Driver, n: int, batch: int, calls: list) -> None:
    driver.agent("src", caps=["a"])
    driver.agent("sink", caps=["b"])
    wf = driver.workflow(
        S("src", cap="a"), S("sink", "src", cap="b", batch=batch), mode=ExecutionMode.PIPELINE
    )
    (src,) = driver.dispatch()
    for i in range(n):
        emit(driver, src, i)
    driver.complete(src)
    seen = []
    while not wf.state.terminal:
        for x in driver.dispatch():
            seen.append(inputs_of(x)["src"])
            driver.complete(x, len(seen))
    assert seen == calls


def test_plain_upstream_output_is_a_single_record(driver: Driver) -> None:
    driver.agent("worker", caps=["c"])
    wf = driver.workflow(S("a"), S("b", "a"), mode=ExecutionMode.PIPELINE)
    (a,) = driver.dispatch()
    driver.complete(a, {"rows": 3})
    (b,) = driver.dispatch()
    assert inputs_of(b) == {"a": {"rows": 3}}
    driver.complete(b, "ok")
    assert unjs(wf.steps["b"].output) == ["ok"]


def test_failed_invocation_is_retried_with_the_same_record(make_driver) -> None:
    d = make_driver()
    d.agent("worker", caps=["c"])
    wf = d.workflow(
        S("a"),
        StepSpec("b", capability="c", dependencies=("a",), retry_count=1, retry_delay=0.0),
        mode=ExecutionMode.PIPELINE,
    )
    (a,) = d.dispatch()
    emit(d, a, "r1")
    d.complete(a)
    (b1,) = d.dispatch()
    d.fail(b1, "flaky")
    (b2,) = d.dispatch()
    assert (b2.attempt, inputs_of(b2)) == (2, {"a": "r1"})
    d.complete(b2, "done")
    assert wf.state is WorkflowState.COMPLETED
    assert wf.steps["b"].state is StepState.COMPLETED


def _simulate(d: Driver, mode: ExecutionMode, n: int, k: int) -> float:
    """One slot per stage, 1.0 time unit per record. The source emits a record per
    unit while it runs (PIPELINE) or returns all n at once (PARALLEL); a PARALLEL
    stage then spends n units on its whole list, a PIPELINE stage 1 unit per record."""
    for i in range(k):
        d.agent(f"stage{i}", caps=[f"s{i}"])
    steps = [S("s0", cap="s0")] + [S(f"s{i}", f"s{i - 1}", cap=f"s{i}") for i in range(1, k)]
    wf = d.workflow(*steps, mode=mode)
    timeline: list[tuple[float, int, str, Assigned]] = []
    seq = 0

    def at(t: float, kind: str, x: Assigned) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(timeline, (t, seq, kind, x))

    while not wf.state.terminal:
        for x in d.dispatch():
            if x.step_id == "s0":
                if mode is ExecutionMode.PIPELINE:
                    for r in range(n):
                        at(d.now + r + 1, "emit", x)
                at(d.now + n, "done", x)
            else:
                at(d.now + (1.0 if mode is ExecutionMode.PIPELINE else n), "done", x)
        d.now, _, kind, x = heapq.heappop(timeline)
        if kind == "emit":
            emit(d, x, "record")
        else:
            d.complete(x, None if x.step_id == "s0" and mode is ExecutionMode.PIPELINE else "r")
    return d.now


@pytest.mark.parametrize(("n", "k"), [(10, 3), (50, 3), (5, 5)])
def test_n_records_through_k_stages_take_n_plus_k_minus_1_stage_times(
    make_driver, n: int, k: int
) -> None:
    assert _simulate(make_driver(), ExecutionMode.PARALLEL, n, k) == pytest.approx(n * k)
    assert _simulate(make_driver(), ExecutionMode.PIPELINE, n, k) == pytest.approx(n + k - 1)


def _stored(d: Driver, wf: WorkflowRun) -> WorkflowRow:
    """What the store holds of a run: step rows with their PIPELINE counters, and records."""
    steps = [
        Row(
            s.spec.step_id,
            str(s.state),
            s.attempt,
            s.agent_id,
            s.attempt_id,
            s.assigned_at,
            s.started_at,
            s.finished_at,
            s.output,
            pipe=d.pipe_states.get((wf.id, s.spec.step_id), ""),
        )
        for s in wf.order
    ]
    return WorkflowRow(wf.id, wf.spec, steps, last_seq=wf.seq, records=list(d.pipe_records))


@pytest.mark.parametrize("batch", [0, 2])
def test_streaming_run_resumes_from_what_the_store_holds(
    make_driver: Callable[..., Driver], batch: int
) -> None:
    d = make_driver(restart_lease=5.0)
    for cap in ("a", "b"):
        d.agent(f"agent-{cap}", caps=[cap])
    wf = d.workflow(
        S("src", cap="a"), S("double", "src", cap="b", batch=batch), mode=ExecutionMode.PIPELINE
    )
    (src,) = d.dispatch()
    for record in (1, 2, 3, 4, 5):
        emit(d, src, record)
    (first,) = d.dispatch()  # the first invocation is out; the other records wait
    first_input = inputs_of(first)
    row = _stored(d, wf)

    # A new server: the same rows; both agents come back holding their attempts.
    after = make_driver(restart_lease=5.0)
    resumed = after.s.restore(row, 10.0)
    after.drain()
    back_a = after.agent("agent-a", caps=["a"], held=[src.attempt_id])
    back_b = after.agent("agent-b", caps=["b"], held=[first.attempt_id])
    assert after.last_connect[0] == [first.attempt_id]
    assert resumed.steps["double"].state is StepState.ASSIGNED
    after.s.on_result(back_b.session_id, first.attempt_id, js(sum_of(first_input)), None, 11.0)
    after.drain()
    after.s.on_result(back_a.session_id, src.attempt_id, None, None, 12.0)
    after.drain()
    outputs = [sum_of(first_input)]
    while batch_ := after.dispatch():
        (a,) = batch_
        outputs.append(sum_of(inputs_of(a)))
        after.complete(a, outputs[-1])
    assert resumed.state is WorkflowState.COMPLETED
    assert unjs(resumed.steps["double"].output) == outputs
    assert outputs == ([1, 2, 3, 4, 5] if not batch else [3, 7, 5])
    seqs = [e.seq for e in after.events_of(wf.id)]
    assert seqs == list(range(row.last_seq + 1, row.last_seq + 1 + len(seqs)))


def sum_of(inputs: dict) -> int:
    (value,) = inputs.values()
    return sum(value) if isinstance(value, list) else value


def test_a_retried_source_skips_the_records_it_already_fed(driver: Driver) -> None:
    """An attempt that failed after feeding records runs again from its start: the
    records it repeats (by position) were fed already and are not fed twice."""
    for cap in ("a", "b"):
        driver.agent(f"agent-{cap}", caps=[cap], max_tasks=2)
    wf = driver.workflow(
        S("src", cap="a", retry_count=1),
        S("sink", "src", cap="b", batch=10),
        mode=ExecutionMode.PIPELINE,
    )
    (src,) = driver.dispatch()
    emit(driver, src, 0)
    emit(driver, src, 1)
    driver.fail(src, "lost its connection")
    driver.advance(60)
    (again,) = [a for a in driver.dispatch() if a.step_id == "src"]
    assert again.attempt == 2
    for record in (0, 1, 2):
        emit(driver, again, record)
    driver.complete(again, None)
    (sink,) = driver.dispatch()
    assert inputs_of(sink) == {"src": [0, 1, 2]}
    driver.complete(sink, "ok")
    assert wf.state is WorkflowState.COMPLETED
    fed = [(i, unjs(b)) for s, k, i, b in driver.pipe_records if (s, k) == ("sink", "in")]
    assert fed == [(0, 0), (1, 1), (2, 2)]
