"""Workflow.get_critical_path: the guide's idiom on the client's dataclasses."""

from __future__ import annotations

import pytest

from dwe.clients import ValidationError, Workflow, WorkflowStep
from tests.support.specs import GUIDE, GUIDE_TIMES


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


def test_cycle_in_workflow_steps_is_a_validation_error() -> None:
    steps = [
        WorkflowStep(step_id="A", name="A", dependencies=["B"]),
        WorkflowStep(step_id="B", name="B", dependencies=["A"]),
    ]
    with pytest.raises(ValidationError, match="A -> B -> A"):
        Workflow(workflow_id="w", name="n", steps=steps).get_critical_path()
