"""Scheduler dispatch: DAG order, modes, routing, agent limits, priorities."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from dwe.common.graph import topological_order
from dwe.server.engine.model import (
    EventType,
    ExecutionMode,
    Priority,
    StepSpec,
    StepState,
    WorkflowState,
)
from tests.support.specs import S

if TYPE_CHECKING:
    from conftest import Driver


def test_diamond_dag_order(driver: Driver) -> None:
    for cap in ("data_fetch", "analysis", "memory", "recommendation"):
        driver.agent(f"agent-{cap}", caps=[cap], max_tasks=2)
    wf = driver.workflow(
        S("fetch", cap="data_fetch"),
        S("analyze", "fetch", cap="analysis"),
        S("history", "fetch", cap="memory"),
        S("recommend", "analyze", "history", cap="recommendation"),
    )
    first = driver.dispatch()
    assert [a.step_id for a in first] == ["fetch"]
    assert driver.dispatch() == []  # nothing else is ready while fetch runs
    assert wf.steps["analyze"].state is StepState.PENDING

    driver.complete(first[0], {"rows": 3})
    second = driver.dispatch()
    assert sorted(a.step_id for a in second) == ["analyze", "history"]
    assert {a.agent_id for a in second} == {"agent-analysis", "agent-memory"}

    by_id = {a.step_id: a for a in second}
    driver.complete(by_id["analyze"])
    assert driver.dispatch() == []  # recommend still waits for history
    assert wf.steps["recommend"].state is StepState.PENDING
    driver.complete(by_id["history"])
    third = driver.dispatch()
    assert [(a.step_id, a.agent_id) for a in third] == [("recommend", "agent-recommendation")]
    driver.complete(third[0])
    assert wf.state is WorkflowState.COMPLETED


def test_inputs_of_dependents_are_completed_outputs(driver: Driver) -> None:
    driver.agent("a", max_tasks=4)
    wf = driver.workflow(S("x"), S("y", "x"))
    (a,) = driver.dispatch()
    driver.complete(a, {"v": 1})
    (b,) = driver.dispatch()
    assert b.step_id == "y"
    assert wf.steps["x"].output is not None and wf.steps["x"].state is StepState.COMPLETED


SEQUENTIAL_GRAPHS = [
    pytest.param([S("a"), S("b"), S("c")], id="independent"),
    pytest.param([S("a"), S("b", "a"), S("c", "b")], id="chain"),
    pytest.param([S("c", "b"), S("b", "a"), S("a")], id="chain-declared-backwards"),
    pytest.param(
        [
            S("fetch"),
            S("analyze", "fetch"),
            S("history", "fetch"),
            S("recommend", "analyze", "history"),
        ],
        id="diamond",
    ),
    pytest.param(
        [S("fetch"), S("analyze", "fetch"), S("history", "fetch"), S("recommend", "analyze")],
        id="dependent-of-first-branch-jumps-sibling",
        marks=(),
    ),
    pytest.param([S("x", "z"), S("y"), S("z", "y"), S("w")], id="mixed"),
    pytest.param([S("a"), S("b"), S("c", "a")], id="tie-dependent-after-earlier", marks=()),
    pytest.param([S("a"), S("b"), S("c"), S("d", "a")], id="dependent-jumps-queue", marks=()),
]


@pytest.mark.parametrize("steps", SEQUENTIAL_GRAPHS)
def test_sequential_runs_one_at_a_time_in_topological_order(
    driver: Driver, steps: list[StepSpec]
) -> None:
    driver.agent("big", max_tasks=10)
    wf = driver.workflow(*steps, mode=ExecutionMode.SEQUENTIAL)
    waves = driver.run_all()
    assert all(len(w) == 1 for w in waves), waves
    assert [w[0] for w in waves] == topological_order({s.step_id: s.dependencies for s in steps})
    assert wf.state is WorkflowState.COMPLETED


@pytest.mark.parametrize(
    ("max_parallel", "mode", "waves"),
    [
        (0, ExecutionMode.PARALLEL, [6]),
        (1, ExecutionMode.PARALLEL, [1, 1, 1, 1, 1, 1]),
        (2, ExecutionMode.PARALLEL, [2, 2, 2]),
        (4, ExecutionMode.PARALLEL, [4, 2]),
        (10, ExecutionMode.PARALLEL, [6]),
        (0, ExecutionMode.SEQUENTIAL, [1, 1, 1, 1, 1, 1]),
        (3, ExecutionMode.SEQUENTIAL, [1, 1, 1, 1, 1, 1]),
    ],
)
def test_parallel_respects_max_parallel_steps(
    driver: Driver, max_parallel: int, mode: ExecutionMode, waves: list[int]
) -> None:
    driver.agent("big", max_tasks=100)
    steps = [S(f"s{i}") for i in range(6)]
    wf = driver.workflow(*steps, mode=mode, max_parallel_steps=max_parallel)
    got = driver.run_all()
    assert [len(w) for w in got] == waves
    assert [sid for w in got for sid in w] == [f"s{i}" for i in range(6)]
    assert wf.state is WorkflowState.COMPLETED


def test_max_parallel_counts_running_steps_not_finished_ones(driver: Driver) -> None:
    driver.agent("big", max_tasks=100)
    driver.workflow(*[S(f"s{i}") for i in range(5)], max_parallel_steps=2)
    first = driver.dispatch()
    assert len(first) == 2
    driver.complete(first[0])
    second = driver.dispatch()
    assert [a.step_id for a in second] == ["s2"]  # one slot freed, one step released
    assert driver.dispatch() == []


@pytest.mark.parametrize(
    ("agent_caps", "step_cap", "chosen"),
    [
        ({"a": ["data_fetch"], "b": ["analysis"]}, "analysis", "b"),
        ({"a": ["data_fetch", "analysis"], "b": ["memory"]}, "analysis", "a"),
        ({"a": ["data_fetch"], "b": ["memory"]}, "analysis", None),
        ({"a": ["custom:vision"]}, "custom:vision", "a"),
        ({"a": ["analysis "]}, "analysis", None),
    ],
)
def test_capability_routing(
    driver: Driver, agent_caps: dict[str, list[str]], step_cap: str, chosen: str | None
) -> None:
    for agent_id, caps in agent_caps.items():
        driver.agent(agent_id, caps=caps, max_tasks=3)
    wf = driver.workflow(S("s", cap=step_cap))
    got = driver.dispatch()
    assert [a.agent_id for a in got] == ([chosen] if chosen else [])
    if chosen is None:
        assert wf.steps["s"].state is StepState.READY
        assert driver.dispatch() == []
        # ... until an agent with the capability connects.
        driver.now += 5
        driver.agent("late", caps=[step_cap])
        (a,) = driver.dispatch()
        assert (a.step_id, a.agent_id) == ("s", "late")


def test_waiting_step_does_not_block_other_capabilities(driver: Driver) -> None:
    driver.agent("f", caps=["data_fetch"])
    wf = driver.workflow(S("needs-gpu", cap="gpu"), S("fetch", cap="data_fetch"))
    assert [a.step_id for a in driver.dispatch()] == ["fetch"]
    assert wf.steps["needs-gpu"].state is StepState.READY


@pytest.mark.parametrize(
    ("wanted", "busy", "chosen"),
    [
        pytest.param("specialist", False, "specialist", id="by-id-when-free"),
        pytest.param("analyst-type", False, "specialist", id="by-type-when-free"),
        pytest.param("specialist", True, "generalist", id="by-id-busy-falls-back"),
        pytest.param("analyst-type", True, "generalist", id="by-type-busy-falls-back"),
        pytest.param("", False, "generalist", id="no-preference-first-connected"),
        pytest.param("unknown", False, "generalist", id="unknown-preference"),
    ],
)
def test_agent_type_preference(driver: Driver, wanted: str, busy: bool, chosen: str) -> None:
    generalist = driver.agent("generalist", caps=["analysis"], max_tasks=5)
    specialist = driver.agent(
        "specialist", caps=["analysis"], max_tasks=1, agent_type="analyst-type"
    )
    if busy:
        driver.workflow(S("blocker", cap="analysis", agent_type="specialist"))
        (b,) = driver.dispatch()
        assert b.session is specialist
    driver.workflow(S("s", cap="analysis", agent_type=wanted))
    (a,) = driver.dispatch()
    assert a.agent_id == chosen
    assert a.session in (generalist, specialist)


@pytest.mark.parametrize(
    ("capacities", "n_steps"),
    [([1], 5), ([1, 2, 3], 20), ([2, 2], 9), ([5], 3), ([1, 1, 1, 1], 13)],
)
def test_max_concurrent_tasks_never_exceeded(
    driver: Driver, capacities: list[int], n_steps: int
) -> None:
    agents = [driver.agent(f"a{i}", max_tasks=m) for i, m in enumerate(capacities)]
    wf = driver.workflow(*[S(f"s{i}") for i in range(n_steps)])
    running: list = []
    done = 0
    while done < n_steps:
        running += driver.dispatch()
        for ag in agents:
            assert len(ag.held) <= ag.max_tasks
        assert len(running) <= sum(capacities)
        assert running, "nothing dispatched although agents are free"
        # Finish the oldest attempt only, so the pool stays saturated.
        driver.now += 1
        assert driver.complete(running.pop(0))
        done += 1
    assert wf.state is WorkflowState.COMPLETED
    assert len(driver.assignments) == n_steps
    assert all(not ag.held for ag in agents)


def test_least_loaded_agent_wins(driver: Driver) -> None:
    a = driver.agent("a", max_tasks=4)
    b = driver.agent("b", max_tasks=2)
    driver.workflow(*[S(f"s{i}") for i in range(3)])
    got = driver.dispatch()
    # a(0/4) -> a(1/4=.25) vs b(0) -> b -> a(.25) vs b(.5) -> a
    assert [x.agent_id for x in got] == ["a", "b", "a"]
    assert (len(a.held), len(b.held)) == (2, 1)


def test_idle_agents_share_the_work_instead_of_the_first_taking_it_all(driver: Driver) -> None:
    """Issue 12's W6: with more idle slots than work, ties of load used to go to the
    first agent of the list every time, and most agents ran nothing."""
    agents = [driver.agent(f"a{i}", max_tasks=2) for i in range(10)]
    for _ in range(30):  # one step at a time, each done before the next
        driver.workflow(S("s"))
        driver.run_all()
    assert sorted(a.completed for a in agents) == [3] * 10


@pytest.mark.parametrize(
    "started",
    [
        [Priority.BACKGROUND, Priority.CRITICAL],
        [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL, Priority.BACKGROUND],
        [Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH],
    ],
)
def test_priority_order_with_one_agent_slot(driver: Driver, started: list[Priority]) -> None:
    wfs = [driver.workflow(S("s"), priority=p) for p in started]
    driver.agent("only", max_tasks=1)
    order = []
    for _ in wfs:
        (a,) = driver.dispatch()
        order.append(a.step.wf)
        driver.now += 1
        driver.complete(a)
    expected = sorted(wfs, key=lambda w: (w.spec.priority, wfs.index(w)))
    assert order == expected
    assert order[0].spec.priority is min(started)


def test_priority_order_across_capabilities_of_one_agent(
    make_driver: Callable[..., Driver],
) -> None:
    wrong = []
    for n in range(24):
        d = make_driver()
        low_cap, high_cap = f"cap-{n}-x", f"cap-{n}-y"
        d.workflow(S("bg", cap=low_cap), priority=Priority.BACKGROUND)
        d.workflow(S("urgent", cap=high_cap), priority=Priority.CRITICAL)
        d.agent("both", caps=[low_cap, high_cap], max_tasks=1)
        (a,) = d.dispatch()
        if a.step_id != "urgent":
            wrong.append(n)
    assert wrong == []


def test_max_concurrent_workflows_queues_and_starts_by_priority(
    make_driver: Callable[..., Driver],
) -> None:
    d = make_driver(max_concurrent_workflows=1)
    d.agent("only", max_tasks=5)
    first = d.workflow(S("s"), priority=Priority.LOW)
    bg = d.workflow(S("s"), priority=Priority.BACKGROUND)
    crit = d.workflow(S("s"), priority=Priority.CRITICAL)
    high = d.workflow(S("s"), priority=Priority.HIGH)
    assert first.state is WorkflowState.RUNNING
    assert [w.state for w in (bg, crit, high)] == [WorkflowState.QUEUED] * 3
    assert d.types(bg.id) == [EventType.WORKFLOW_QUEUED]
    order = []
    for _ in range(4):
        (a,) = d.dispatch()
        order.append(a.step.wf)
        running = [w for w in (first, bg, crit, high) if w.state is WorkflowState.RUNNING]
        assert running == [a.step.wf]
        d.now += 1
        d.complete(a)
    assert order == [first, crit, high, bg]
    assert d.types(bg.id)[:2] == [EventType.WORKFLOW_QUEUED, EventType.WORKFLOW_STARTED]
    assert d.s.stats().active_workflows == 0


def test_cancelling_a_queued_workflow_frees_nothing_and_is_skipped(
    make_driver: Callable[..., Driver],
) -> None:
    d = make_driver(max_concurrent_workflows=1)
    d.agent("only")
    running = d.workflow(S("s"))
    queued = d.workflow(S("s"))
    later = d.workflow(S("s"))
    assert d.s.cancel_workflow(queued.id, d.now)
    d.drain()
    assert queued.state is WorkflowState.CANCELLED and d.s.stats().active_workflows == 1
    (a,) = d.dispatch()
    d.complete(a)
    assert later.state is WorkflowState.RUNNING
    assert queued.state is WorkflowState.CANCELLED
    assert running.state is WorkflowState.COMPLETED


def test_background_does_not_starve_under_steady_critical_load(driver: Driver) -> None:
    driver.agent("only", max_tasks=1)
    bg = driver.workflow(S("s"), priority=Priority.BACKGROUND)
    driver.workflow(S("s"), priority=Priority.CRITICAL)
    for _ in range(600):  # ten simulated minutes, one CRITICAL step per second
        driver.workflow(S("s"), priority=Priority.CRITICAL)
        (a,) = driver.dispatch()
        if a.step.wf is bg:
            return
        driver.now += 1
        driver.complete(a)
    raise AssertionError("BACKGROUND workflow never got the agent in 600 s")


@pytest.mark.parametrize(
    ("priority", "aging", "waited", "first"),
    [
        # One level per aging period waited: BACKGROUND needs 4 to reach CRITICAL.
        (Priority.BACKGROUND, 10.0, 39.0, "newer-critical"),
        (Priority.BACKGROUND, 10.0, 40.0, "older"),  # tied at CRITICAL: the older goes
        (Priority.LOW, 10.0, 29.0, "newer-critical"),
        (Priority.LOW, 10.0, 30.0, "older"),
        (Priority.HIGH, 10.0, 9.9, "newer-critical"),
        (Priority.HIGH, 10.0, 10.0, "older"),
        (Priority.BACKGROUND, 0.0, 1e6, "newer-critical"),  # 0 disables aging
    ],
)
def test_waiting_lifts_priority_one_level_per_aging_period(
    make_driver: Callable[..., Driver],
    priority: Priority,
    aging: float,
    waited: float,
    first: str,
) -> None:
    d = make_driver(priority_aging=aging)
    older = d.workflow(S("s"), priority=priority)
    d.now += waited
    newer = d.workflow(S("s"), priority=Priority.CRITICAL)
    d.agent("only", max_tasks=1)
    (a,) = d.dispatch()
    assert a.step.wf is {"older": older, "newer-critical": newer}[first]
