"""ADAPTIVE mode: critical-path ordering, adaptation rules, performance-aware agent choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dwe.server.engine.model import EventType, ExecutionMode, WorkflowSpec
from dwe.server.engine.pool import AgentSession, choose_adaptive
from dwe.server.engine.runs import StepRun, WorkflowRun
from tests.support.specs import S

if TYPE_CHECKING:
    from conftest import Driver


# One long chain declared after many short side steps (the acceptance graph).
CHAIN_AND_SIDES = [
    *(S(f"side{i}", est=0.1) for i in range(5)),
    S("c1", est=1.0),
    S("c2", "c1", est=1.0, cap="d"),
    S("c3", "c2", est=1.0, cap="d"),
]


@pytest.mark.parametrize(
    ("mode", "first"),
    [(ExecutionMode.ADAPTIVE, "c1"), (ExecutionMode.PARALLEL, "side0")],
)
def test_long_chain_starts_first_only_in_adaptive(
    driver: Driver, mode: ExecutionMode, first: str
) -> None:
    driver.agent("only", caps=("c",), max_tasks=1)
    driver.agent("other", caps=("d",), max_tasks=1)
    driver.workflow(*CHAIN_AND_SIDES, mode=mode)
    (a,) = driver.dispatch()
    assert a.step_id == first


def test_adaptive_finishes_sooner_than_fifo(make_driver) -> None:
    spans = {}
    for mode in (ExecutionMode.PARALLEL, ExecutionMode.ADAPTIVE):
        d = make_driver()
        d.agent("only", caps=("c",), max_tasks=1)
        d.agent("other", caps=("d",), max_tasks=1)
        wf = d.workflow(*CHAIN_AND_SIDES, mode=mode)
        # Event-driven simulation: each running attempt ends after its estimate.
        running: list[tuple[float, object]] = []
        while not wf.state.terminal:
            for a in d.dispatch():
                running.append((d.now + a.step.spec.estimated_duration, a))
            running.sort(key=lambda r: r[0])
            end, a = running.pop(0)
            d.now = end
            d.complete(a)  # type: ignore[arg-type]
        spans[mode] = d.now
    # FIFO: sides (0.5) then c1 then c2, c3 = 3.5; ADAPTIVE overlaps sides with c2, c3 = 3.0.
    assert spans[ExecutionMode.PARALLEL] == pytest.approx(3.5)
    assert spans[ExecutionMode.ADAPTIVE] == pytest.approx(3.0)


def test_reordering_is_announced(driver: Driver) -> None:
    driver.agent("only", caps=("c", "d"), max_tasks=1)
    driver.workflow(*CHAIN_AND_SIDES, mode=ExecutionMode.ADAPTIVE)
    adapted = [e for e in driver.events if e.type is EventType.WORKFLOW_ADAPTED]
    assert len(adapted) == 1
    assert adapted[0].decision == "reordered"
    assert adapted[0].step_ids[0] == "c1"
    assert "critical path" in adapted[0].reason


def test_no_event_when_order_is_unchanged(driver: Driver) -> None:
    driver.agent("only", max_tasks=1)
    driver.workflow(S("a", est=3.0), S("b", est=1.0), mode=ExecutionMode.ADAPTIVE)
    assert not [e for e in driver.events if e.type is EventType.WORKFLOW_ADAPTED]


def test_rule_boost_changes_order_and_rule_sees_critical_path(driver: Driver) -> None:
    seen: list[list[str]] = []

    def prefer_b(workflow: WorkflowRun, ready: list[StepRun]) -> None:
        seen.append([s.step_id for s in workflow.get_critical_path()])
        for step in ready:
            if step.step_id == "b":
                step.priority_boost += 20

    driver.s.add_rule(prefer_b)
    driver.agent("only", max_tasks=1)
    driver.workflow(S("a", est=3.0), S("b", est=1.0), mode=ExecutionMode.ADAPTIVE)
    (first,) = driver.dispatch()
    assert first.step_id == "b"
    assert seen == [["a"]]
    (adapted,) = [e for e in driver.events if e.type is EventType.WORKFLOW_ADAPTED]
    assert "priority boosts" in adapted.reason


def test_failing_rule_is_counted_and_skipped(driver: Driver) -> None:
    def broken(workflow: WorkflowRun, ready: list[StepRun]) -> None:
        raise RuntimeError("rule bug")

    driver.s.add_rule(broken)
    driver.agent("only", max_tasks=1)
    driver.workflow(S("a", est=3.0), S("b", est=1.0), mode=ExecutionMode.ADAPTIVE, start=False)
    driver.s.start_workflow("wf1", driver.now)
    out = driver.drain()
    assert out.rule_errors == [
        (
            "wf1",
            "test_failing_rule_is_counted_and_skipped.<locals>.broken",
            "RuntimeError: rule bug",
        )
    ]
    assert driver.s.stats().rule_errors == 1
    (a,) = driver.dispatch()  # the run goes on in critical-path order
    assert a.step_id == "a"


def test_rules_run_only_for_adaptive_workflows(driver: Driver) -> None:
    calls = []
    driver.s.add_rule(lambda wf, ready: calls.append(wf.id))
    driver.agent("only", max_tasks=1)
    driver.workflow(S("a"), mode=ExecutionMode.PARALLEL)
    driver.workflow(S("a"), mode=ExecutionMode.ADAPTIVE, wid="adaptive")
    assert calls == ["adaptive"]


def _agent_with(d: Driver, agent_id: str, duration: float, failures: int = 0) -> AgentSession:
    a = d.agent(agent_id, max_tasks=4)
    for _ in range(5):
        a.observe("c", duration, False)
    for _ in range(failures):
        a.observe("c", duration, True)
    return a


def test_adaptive_agent_choice_avoids_slow_and_failing_agents(driver: Driver) -> None:
    slow = _agent_with(driver, "slow", 2.0)
    fast = _agent_with(driver, "fast", 0.1)
    flaky = _agent_with(driver, "flaky", 0.01, failures=6)
    wf = WorkflowRun("w", WorkflowSpec("w", (S("x"),)), 0.0)
    chosen = choose_adaptive(wf.steps["x"], [slow, flaky, fast])
    assert chosen is fast


def test_adaptive_agent_choice_is_announced(driver: Driver) -> None:
    _agent_with(driver, "slow", 2.0)
    _agent_with(driver, "fast", 0.1)
    driver.workflow(S("x"), mode=ExecutionMode.ADAPTIVE)
    (a,) = driver.dispatch()
    assert a.agent_id == "fast"
    adapted = [e for e in driver.events if e.type is EventType.WORKFLOW_ADAPTED]
    assert [e.decision for e in adapted] == ["agent_selected"]
    assert "fast" in adapted[0].reason


def test_parallel_mode_keeps_least_loaded_choice(driver: Driver) -> None:
    _agent_with(driver, "slow", 2.0)
    _agent_with(driver, "fast", 0.1)
    driver.workflow(S("x"), mode=ExecutionMode.PARALLEL)
    (a,) = driver.dispatch()
    assert a.agent_id == "slow"  # first of equally loaded agents
    assert not [e for e in driver.events if e.type is EventType.WORKFLOW_ADAPTED]
