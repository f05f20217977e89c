"""Critical path, topological order and cycle detection."""

from __future__ import annotations

import pytest

from dwe.clients import ValidationError, Workflow, WorkflowStep
from dwe.clients.graph import critical_path, find_cycle, topological_order

GUIDE = {
    "fetch_account_data": [],
    "analyze_risk": ["fetch_account_data"],
    "get_historical_context": ["fetch_account_data"],
    "generate_recommendations": ["analyze_risk", "get_historical_context"],
}
GUIDE_TIMES = {
    "fetch_account_data": 5.0,
    "analyze_risk": 3.0,
    "get_historical_context": 2.0,
    "generate_recommendations": 4.0,
}


@pytest.mark.parametrize(
    ("deps", "durations", "want"),
    [
        ({}, {}, []),
        ({"a": []}, {"a": 1.0}, ["a"]),
        (GUIDE, GUIDE_TIMES, ["fetch_account_data", "analyze_risk", "generate_recommendations"]),
        # the longer branch wins even with fewer steps
        ({"a": [], "b": ["a"], "c": ["b"], "d": []}, {"a": 1, "b": 1, "c": 1, "d": 5}, ["d"]),
        # ties go to the step declared first
        ({"x": [], "y": []}, {"x": 2, "y": 2}, ["x"]),
        ({"a": [], "b": [], "c": ["a", "b"]}, {"a": 1, "b": 1, "c": 1}, ["a", "c"]),
        # no estimates: the longest chain by count is still a valid answer
        ({"a": [], "b": ["a"]}, {}, ["a", "b"]),
        # unknown dependencies are ignored
        ({"a": ["ghost"]}, {"a": 1}, ["a"]),
    ],
)
def test_critical_path(deps, durations, want) -> None:  # type: ignore[no-untyped-def]
    assert critical_path(deps, durations) == want


@pytest.mark.parametrize(
    ("deps", "want"),
    [
        ({"a": [], "b": ["a"]}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"A": ["C"], "B": ["A"], "C": ["B"]}, ["A", "B", "C", "A"]),
        ({"x": [], "A": ["B"], "B": ["A"]}, ["A", "B", "A"]),
    ],
)
def test_find_cycle(deps, want) -> None:  # type: ignore[no-untyped-def]
    assert find_cycle(deps) == want


def test_topological_order_keeps_declaration_order_for_ties() -> None:
    deps = {"c": [], "b": ["c"], "a": [], "d": ["a", "b"]}
    assert topological_order(deps) == ["c", "b", "a", "d"]


def test_cycle_is_named() -> None:
    with pytest.raises(ValidationError, match="A -> B -> C -> A"):
        critical_path({"A": ["C"], "B": ["A"], "C": ["B"]}, {})


def test_workflow_get_critical_path_returns_steps() -> None:
    steps = [
        WorkflowStep(step_id=s, name=s, dependencies=d, estimated_duration=GUIDE_TIMES[s])
        for s, d in GUIDE.items()
    ]
    wf = Workflow(workflow_id="w", name="n", steps=steps)
    path = wf.get_critical_path()
    assert [s.step_id for s in path] == [
        "fetch_account_data",
        "analyze_risk",
        "generate_recommendations",
    ]
    assert path[0] is steps[0]
    # the guide's adaptation-rule idiom
    for step in steps:
        if step in path:
            step.priority_boost += 20
    assert [s.priority_boost for s in steps] == [20, 20, 0, 20]
