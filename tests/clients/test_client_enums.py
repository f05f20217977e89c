"""Client enums <-> dwe.v1 proto enums."""

from __future__ import annotations

import pytest

from dwe.clients import (
    AgentCapability,
    ExecutionMode,
    StepState,
    ValidationError,
    WorkflowPriority,
    WorkflowState,
)
from dwe.clients.enums import capability_value
from dwe.v1 import enums_pb2

ENUMS = [
    (WorkflowPriority, enums_pb2.WorkflowPriority, "WORKFLOW_PRIORITY_"),
    (ExecutionMode, enums_pb2.ExecutionMode, "EXECUTION_MODE_"),
    (WorkflowState, enums_pb2.WorkflowState, "WORKFLOW_STATE_"),
    (StepState, enums_pb2.StepState, "STEP_STATE_"),
]


@pytest.mark.parametrize(("enum", "proto", "prefix"), ENUMS)
def test_every_proto_value_maps_both_ways(enum, proto, prefix) -> None:  # type: ignore[no-untyped-def]
    for name, number in proto.items():
        member = enum.from_proto(number)
        if name.endswith("_UNSPECIFIED"):
            assert member is None
            continue
        assert member is not None, name
        assert member.name == name.removeprefix(prefix)
        assert member.value == member.name.lower()
        assert member.to_proto() == number
    assert len(enum) == len(proto.items()) - 1


@pytest.mark.parametrize(
    ("enum", "raw", "want"),
    [
        (WorkflowPriority, "high", WorkflowPriority.HIGH),
        (WorkflowPriority, " HIGH ", WorkflowPriority.HIGH),
        (WorkflowPriority, "WORKFLOW_PRIORITY_LOW", WorkflowPriority.LOW),
        (WorkflowPriority, enums_pb2.WORKFLOW_PRIORITY_CRITICAL, WorkflowPriority.CRITICAL),
        (ExecutionMode, ExecutionMode.PIPELINE, ExecutionMode.PIPELINE),
        (ExecutionMode, "adaptive", ExecutionMode.ADAPTIVE),
        (WorkflowState, "timed_out", WorkflowState.TIMED_OUT),
        (StepState, "retry_wait", StepState.RETRY_WAIT),
    ],
)
def test_parse_accepts_values_names_and_numbers(enum, raw, want) -> None:  # type: ignore[no-untyped-def]
    assert enum.parse(raw) is want


@pytest.mark.parametrize(
    ("enum", "raw"),
    [
        (WorkflowPriority, "urgent"),
        (WorkflowPriority, 0),
        (WorkflowPriority, 99),
        (ExecutionMode, None),
        (WorkflowState, True),
        (StepState, ""),
    ],
)
def test_parse_rejects_unknown_values(enum, raw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="expected one of"):
        enum.parse(raw)


def test_enums_are_lowercase_strings() -> None:
    assert WorkflowPriority.HIGH == "high"
    assert f"{ExecutionMode.PARALLEL}" == "parallel"
    assert str(WorkflowState.RUNNING) == "running"
    assert AgentCapability("data_fetch") is AgentCapability.DATA_FETCH
    assert [c.value for c in AgentCapability] == [
        "data_fetch",
        "analysis",
        "memory",
        "recommendation",
        "coordination",
        "validation",
        "transformation",
        "notification",
    ]


def test_terminal_states() -> None:
    terminal = {s for s in WorkflowState if s.is_terminal}
    assert terminal == {
        WorkflowState.COMPLETED,
        WorkflowState.FAILED,
        WorkflowState.CANCELLED,
        WorkflowState.TIMED_OUT,
    }


@pytest.mark.parametrize(
    ("raw", "want"),
    [(AgentCapability.MEMORY, "memory"), ("analysis", "analysis"), (" custom ", "custom")],
)
def test_capability_value(raw: object, want: str) -> None:
    assert capability_value(raw) == want


@pytest.mark.parametrize("raw", ["", "  ", None, 3])
def test_capability_value_rejects_non_strings(raw: object) -> None:
    with pytest.raises(ValidationError):
        capability_value(raw)
