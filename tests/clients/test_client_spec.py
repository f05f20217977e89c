"""Guide step dicts -> dwe.v1 StepSpec / WorkflowSpec."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from dwe.clients import AgentCapability, ExecutionMode, ValidationError, WorkflowPriority
from dwe.clients.spec import build_step_spec, build_workflow_spec, workflow_spec_from_dict
from dwe.v1 import enums_pb2


def test_guide_step_converts_every_field() -> None:
    spec = build_step_spec(
        {
            "step_id": "fetch",
            "name": "Fetch",
            "description": "Retrieve account information",
            "agent_type": "zoho_scout",
            "agent_capability": AgentCapability.DATA_FETCH,
            "dependencies": ["a", "b"],
            "timeout_seconds": 30,
            "retry_count": 3,
            "retry_delay": 2.5,
            "backoff_coefficient": 3,
            "max_retry_delay": timedelta(minutes=1),
            "estimated_duration": 0.25,
            "optional": True,
            "schedule_to_start_timeout": 10,
            "pipeline_batch_size": 4,
            "data_transformations": [
                {"type": "filter", "criteria": {"status": {"equals": "active"}}},
                {"type": "aggregate", "aggregate_type": "sum"},
            ],
        }
    )
    assert (spec.step_id, spec.name, spec.agent_type) == ("fetch", "Fetch", "zoho_scout")
    assert spec.description == "Retrieve account information"
    assert spec.capability == "data_fetch"
    assert list(spec.dependencies) == ["a", "b"]
    assert spec.timeout.ToTimedelta() == timedelta(seconds=30)
    assert spec.retry_count == 3
    assert spec.retry_delay.ToNanoseconds() == 2_500_000_000
    assert spec.backoff_coefficient == 3.0
    assert spec.max_retry_delay.seconds == 60
    assert spec.estimated_duration.ToMilliseconds() == 250
    assert spec.optional is True
    assert spec.schedule_to_start_timeout.seconds == 10
    assert spec.pipeline_batch_size == 4
    first, second = spec.data_transformations
    assert first.type == "filter"
    assert first.params.encoding == "json/plain"
    assert orjson.loads(first.params.data) == {"criteria": {"status": {"equals": "active"}}}
    assert second.type == "aggregate"
    assert orjson.loads(second.params.data) == {"aggregate_type": "sum"}


def test_minimal_step_leaves_optional_fields_unset() -> None:
    spec = build_step_spec({"step_id": "s", "agent_capability": "custom_cap"})
    assert spec.capability == "custom_cap"
    assert not spec.HasField("timeout")
    assert not spec.HasField("retry_delay")
    assert spec.retry_count == 0
    assert not spec.data_transformations


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"step_id": "s", "retries": 3}, "step 's': unknown key 'retries'"),
        ({"step_id": "s", "b": 1, "a": 2}, "unknown key 'a' (and 'b')"),
        ({"name": "x", "bogus": 1}, "step #0: unknown key 'bogus'"),
        ({"step_id": "s", "timeout_seconds": "30"}, "timeout_seconds must be a number"),
        ({"step_id": "s", "timeout_seconds": -1}, "timeout_seconds must be a finite number >= 0"),
        ({"step_id": "s", "retry_delay": float("nan")}, "retry_delay must be a finite"),
        ({"step_id": "s", "retry_count": -1}, "retry_count must be an integer >= 0"),
        ({"step_id": "s", "retry_count": 1.5}, "retry_count must be an integer >= 0"),
        ({"step_id": "s", "retry_count": True}, "retry_count must be an integer >= 0"),
        ({"step_id": "s", "dependencies": "a"}, "dependencies must be a list"),
        ({"step_id": "s", "dependencies": [1]}, "dependency must be a string"),
        ({"step_id": "s", "agent_capability": ""}, "agent_capability must be a non-empty"),
        ({"step_id": "s", "agent_capability": 3}, "agent_capability must be a non-empty"),
        ({"step_id": "s", "name": 3}, "name must be a string"),
        ({"step_id": "s", "optional": "yes"}, "optional must be true or false"),
        ({"step_id": "s", "backoff_coefficient": 0.5}, "backoff_coefficient must be >= 1"),
        ({"step_id": "s", "data_transformations": {"type": "map"}}, "must be a list of dicts"),
        ({"step_id": "s", "data_transformations": ["map"]}, "data_transformations[0] must be"),
        ({"step_id": "s", "data_transformations": [{"mapping": {}}]}, "needs a non-empty"),
        (
            {"step_id": "s", "data_transformations": [{"type": "map", "f": {1, 2}}]},
            "params is not JSON-serialisable",
        ),
    ],
)
def test_bad_step_is_rejected_naming_step_and_key(step: dict[str, Any], message: str) -> None:
    with pytest.raises(
        ValidationError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ) as info:
        build_step_spec(step)
    assert info.value.code.name == "INVALID_ARGUMENT"


def test_step_that_is_not_a_dict_is_rejected() -> None:
    with pytest.raises(ValidationError, match="step #2 must be a dict"):
        build_step_spec(["x"], 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("priority", "mode", "want_priority", "want_mode"),
    [
        (
            WorkflowPriority.HIGH,
            ExecutionMode.ADAPTIVE,
            enums_pb2.WORKFLOW_PRIORITY_HIGH,
            enums_pb2.EXECUTION_MODE_ADAPTIVE,
        ),
        (
            "critical",
            "pipeline",
            enums_pb2.WORKFLOW_PRIORITY_CRITICAL,
            enums_pb2.EXECUTION_MODE_PIPELINE,
        ),
        (
            "BACKGROUND",
            "SEQUENTIAL",
            enums_pb2.WORKFLOW_PRIORITY_BACKGROUND,
            enums_pb2.EXECUTION_MODE_SEQUENTIAL,
        ),
    ],
)
def test_workflow_spec_maps_enums(
    priority: Any, mode: Any, want_priority: int, want_mode: int
) -> None:
    spec = build_workflow_spec("wf", [{"step_id": "a"}], priority=priority, execution_mode=mode)
    assert spec.priority == want_priority
    assert spec.execution_mode == want_mode


def test_workflow_spec_carries_context_limits_and_labels() -> None:
    spec = build_workflow_spec(
        "wf",
        [{"step_id": "a"}, {"step_id": "b", "dependencies": ["a"]}],
        description="d",
        context={"account_id": "ACC-1"},
        max_parallel_steps=5,
        default_timeout=90,
        labels={"team": "risk"},
    )
    assert (spec.name, spec.description, len(spec.steps)) == ("wf", "d", 2)
    assert orjson.loads(spec.context.data) == {"account_id": "ACC-1"}
    assert spec.max_parallel_steps == 5
    assert spec.default_timeout.seconds == 90
    assert dict(spec.labels) == {"team": "risk"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"priority": "urgent"}, "unknown workflow priority 'urgent'"),
        ({"execution_mode": "fast"}, "unknown execution mode 'fast'"),
        ({"context": ["a"]}, "context must be a dict"),
        ({"context": {"x": object()}}, "context is not JSON-serialisable"),
        ({"max_parallel_steps": -1}, "max_parallel_steps must be an integer"),
        ({"default_timeout": "1h"}, "default_timeout must be a number"),
    ],
)
def test_bad_workflow_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_workflow_spec("wf", [{"step_id": "a"}], **kwargs)


def test_steps_must_be_a_list() -> None:
    with pytest.raises(ValidationError, match="steps must be a list"):
        build_workflow_spec("wf", {"step_id": "a"})  # type: ignore[arg-type]


def test_workflow_file_dict_converts() -> None:
    spec = workflow_spec_from_dict(
        {
            "name": "wf",
            "priority": "high",
            "execution_mode": "parallel",
            "steps": [{"step_id": "a", "agent_capability": "analysis"}],
            "context": {"k": 1},
        }
    )
    assert spec.priority == enums_pb2.WORKFLOW_PRIORITY_HIGH
    assert spec.steps[0].capability == "analysis"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "wf", "steps": [], "stepz": []}, "workflow: unknown key 'stepz'"),
        ({"steps": []}, "missing key 'name'"),
        ({"name": "wf"}, "missing key 'steps'"),
        ([1], "must be a JSON/YAML object"),
    ],
)
def test_bad_workflow_file_is_rejected(data: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        workflow_spec_from_dict(data)
