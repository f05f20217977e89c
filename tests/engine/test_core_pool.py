"""choose_agent and the agent moving averages, without a scheduler."""

from __future__ import annotations

import pytest

from dwe.server.engine.model import StepSpec, WorkflowSpec
from dwe.server.engine.pool import EWMA_ALPHA, AgentSession, choose_agent
from dwe.server.engine.runs import StepRun, WorkflowRun


def step(agent_type: str = "") -> StepRun:
    wf = WorkflowRun("w", WorkflowSpec("w", (StepSpec("s", agent_type=agent_type),)), 0.0)
    return wf.steps["s"]


def agent(
    agent_id: str, max_tasks: int = 2, held: int = 0, agent_type: str = "generic", fail: float = 0
) -> AgentSession:
    a = AgentSession(f"{agent_id}#1", agent_id, agent_type, frozenset({"c"}), max_tasks, 0.0)
    a.held = {f"{agent_id}.{i}": None for i in range(held)}
    a.overall.failure = fail
    return a


@pytest.mark.parametrize(
    ("wanted", "agents", "chosen"),
    [
        pytest.param("", [], None, id="no-candidates"),
        pytest.param("", [agent("a", 1, 1), agent("b", 2, 2)], None, id="all-full"),
        pytest.param("", [agent("a", 4, 2), agent("b", 4, 1)], "b", id="least-held"),
        pytest.param("", [agent("a", 2, 1), agent("b", 10, 2)], "b", id="least-load-ratio"),
        pytest.param("", [agent("a"), agent("b")], "a", id="tie-first"),
        pytest.param("", [agent("a", fail=0.5), agent("b", fail=0.1)], "b", id="tie-fewer-fail"),
        pytest.param("b", [agent("a"), agent("b", 4, 3)], "b", id="preferred-by-id-loaded"),
        pytest.param(
            "gpu", [agent("a"), agent("b", 4, 3, agent_type="gpu")], "b", id="preferred-by-type"
        ),
        pytest.param("b", [agent("a"), agent("b", 1, 1)], "a", id="preferred-full-falls-back"),
        pytest.param(
            "gpu",
            [agent("a", 4, 2, "gpu"), agent("b", 4, 1, "gpu"), agent("c")],
            "b",
            id="least-loaded-among-preferred",
        ),
        pytest.param("nobody", [agent("a", 2, 1), agent("b")], "b", id="unmatched-preference"),
        pytest.param("", [agent("a", 0), agent("b", 1)], "b", id="zero-capacity-skipped"),
    ],
)
def test_choose_agent(wanted: str, agents: list[AgentSession], chosen: str | None) -> None:
    got = choose_agent(step(wanted), agents)
    assert (got.agent_id if got else None) == chosen


@pytest.mark.parametrize(
    ("outcomes", "duration", "failure"),
    [
        ([(5.0, False)], 5.0, 0.0),
        ([(5.0, False), (10.0, False)], 5.0 * (1 - EWMA_ALPHA) + 10.0 * EWMA_ALPHA, 0.0),
        ([(5.0, True)], 0.0, EWMA_ALPHA),
        ([(5.0, True), (3.0, False)], 3.0, EWMA_ALPHA * (1 - EWMA_ALPHA)),
    ],
)
def test_observe(outcomes: list[tuple[float, bool]], duration: float, failure: float) -> None:
    a = agent("a")
    for d, failed in outcomes:
        a.observe("c", d, failed)
    for stats in (a.overall, a.by_capability["c"]):
        assert stats.duration == pytest.approx(duration)
        assert stats.failure == pytest.approx(failure)
        assert stats.samples == len(outcomes)


def test_free_and_load() -> None:
    a = agent("a", 4, 1)
    assert (a.free, a.load) == (3, 0.25)
