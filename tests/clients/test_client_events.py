"""dwe.v1 events, statuses and metrics -> the guide's dicts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from dwe.clients.events import (
    EVENT_NAMES,
    agent_to_dict,
    event_to_dict,
    metrics_to_dict,
    status_to_dict,
    summary_to_dict,
)
from dwe.v1 import agent_pb2, common_pb2, engine_pb2, enums_pb2, workflow_pb2


def js(obj: Any) -> common_pb2.Payload:
    return common_pb2.Payload(encoding="json/plain", data=orjson.dumps(obj))


def secs(s: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(int(s * 1e9))
    return d


def step_event(type_: int, **detail: Any) -> workflow_pb2.WorkflowEvent:
    return workflow_pb2.WorkflowEvent(
        workflow_id="wf-1",
        seq=7,
        type=type_,
        time=Timestamp(seconds=1700000000, nanos=500000000),
        step_id="fetch",
        step_name="Fetch",
        attempt=2,
        agent_id="zoho_scout",
        **detail,
    )


STEP_KEYS = {
    "workflow_id": "wf-1",
    "step": "fetch",
    "step_id": "fetch",
    "step_name": "Fetch",
    "agent_id": "zoho_scout",
    "attempt": 2,
}


def test_event_names_cover_the_guide() -> None:
    assert set(EVENT_NAMES.values()) == {
        "workflow_started",
        "workflow_queued",
        "agent_started",
        "agent_stream",
        "agent_completed",
        "agent_error",
        "agent_retrying",
        "workflow_adapted",
        "step_skipped",
        "workflow_completed",
        "workflow_failed",
        "workflow_cancelled",
        "workflow_timed_out",
    }


def test_envelope() -> None:
    event = event_to_dict(
        step_event(
            enums_pb2.EVENT_TYPE_AGENT_STARTED, step_assigned=workflow_pb2.StepAssigned(task="t")
        )
    )
    assert event["event"] == "agent_started"
    assert (event["workflow_id"], event["seq"]) == ("wf-1", 7)
    assert event["timestamp"] == pytest.approx(1700000000.5)


def test_missing_time_gives_none() -> None:
    ev = workflow_pb2.WorkflowEvent(workflow_id="w", seq=1, type=enums_pb2.EVENT_TYPE_AGENT_STREAM)
    assert event_to_dict(ev)["timestamp"] is None


@pytest.mark.parametrize(
    ("type_", "detail", "want"),
    [
        (
            enums_pb2.EVENT_TYPE_AGENT_STARTED,
            {"step_assigned": workflow_pb2.StepAssigned(task="Retrieve", capability="data_fetch")},
            {"task": "Retrieve", "capability": "data_fetch"},
        ),
        (
            enums_pb2.EVENT_TYPE_AGENT_STREAM,
            {"step_streamed": workflow_pb2.StepStreamed(content="50%", data=js({"row": 1}))},
            {"content": "50%", "data": {"row": 1}},
        ),
        (
            enums_pb2.EVENT_TYPE_AGENT_STREAM,
            {"step_streamed": workflow_pb2.StepStreamed(content="hi")},
            {"content": "hi", "data": None},
        ),
        (
            enums_pb2.EVENT_TYPE_AGENT_COMPLETED,
            {
                "step_completed": workflow_pb2.StepCompleted(
                    output=js({"n": 3}), execution_time=secs(1.25)
                )
            },
            {"result": {"n": 3}, "output": {"n": 3}, "execution_time": 1.25},
        ),
        (
            enums_pb2.EVENT_TYPE_AGENT_ERROR,
            {
                "step_attempt_failed": workflow_pb2.StepAttemptFailed(
                    error=common_pb2.ErrorInfo(message="boom", type="ValueError", retryable=True),
                    will_retry=True,
                    execution_time=secs(0.5),
                )
            },
            {
                "error_message": "boom",
                "error_type": "ValueError",
                "retryable": True,
                "will_retry": True,
                "execution_time": 0.5,
            },
        ),
        (
            enums_pb2.EVENT_TYPE_STEP_SKIPPED,
            {
                "step_skipped": workflow_pb2.StepSkipped(
                    error=common_pb2.ErrorInfo(message="dependency fetch failed", type="Skipped"),
                    dependency="fetch",
                )
            },
            {
                "error_message": "dependency fetch failed",
                "error_type": "Skipped",
                "retryable": False,
                "will_retry": False,
                "execution_time": 0.0,
                "dependency": "fetch",
            },
        ),
        (
            enums_pb2.EVENT_TYPE_AGENT_RETRYING,
            {
                "step_retrying": workflow_pb2.StepRetrying(
                    next_attempt=3, delay=secs(2), reason="boom"
                )
            },
            {"next_attempt": 3, "delay": 2.0, "reason": "boom"},
        ),
    ],
)
def test_step_events(type_: int, detail: dict[str, Any], want: dict[str, Any]) -> None:
    assert event_to_dict(step_event(type_, **detail))["data"] == {**STEP_KEYS, **want}


@pytest.mark.parametrize(
    ("type_", "name", "detail"),
    [
        (enums_pb2.EVENT_TYPE_WORKFLOW_STARTED, "workflow_started", workflow_pb2.WorkflowStarted),
        (enums_pb2.EVENT_TYPE_WORKFLOW_QUEUED, "workflow_queued", workflow_pb2.WorkflowQueued),
    ],
)
def test_workflow_started_and_queued(type_: int, name: str, detail: Any) -> None:
    fields = detail(
        name="Account Analysis",
        session_id="s-1",
        context=js({"account_id": "A"}),
        total_steps=4,
        execution_mode=enums_pb2.EXECUTION_MODE_ADAPTIVE,
        priority=enums_pb2.WORKFLOW_PRIORITY_HIGH,
    )
    ev = workflow_pb2.WorkflowEvent(workflow_id="wf-1", seq=1, type=type_, **{name: fields})
    event = event_to_dict(ev)
    assert event["event"] == name
    assert event["data"] == {
        "workflow_id": "wf-1",
        "name": "Account Analysis",
        "session_id": "s-1",
        "context": {"account_id": "A"},
        "total_steps": 4,
        "execution_mode": "adaptive",
        "priority": "high",
    }


def test_workflow_adapted() -> None:
    ev = workflow_pb2.WorkflowEvent(
        workflow_id="wf-1",
        seq=5,
        type=enums_pb2.EVENT_TYPE_WORKFLOW_ADAPTED,
        workflow_adapted=workflow_pb2.WorkflowAdapted(
            decision="reordered", reason="critical path", step_ids=["b", "a"]
        ),
    )
    assert event_to_dict(ev)["data"] == {
        "workflow_id": "wf-1",
        "decision": "reordered",
        "reason": "critical path",
        "step_ids": ["b", "a"],
    }


@pytest.mark.parametrize(
    ("type_", "state", "name"),
    [
        (
            enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED,
            enums_pb2.WORKFLOW_STATE_COMPLETED,
            "workflow_completed",
        ),
        (enums_pb2.EVENT_TYPE_WORKFLOW_FAILED, enums_pb2.WORKFLOW_STATE_FAILED, "workflow_failed"),
        (
            enums_pb2.EVENT_TYPE_WORKFLOW_CANCELLED,
            enums_pb2.WORKFLOW_STATE_CANCELLED,
            "workflow_cancelled",
        ),
        (
            enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT,
            enums_pb2.WORKFLOW_STATE_TIMED_OUT,
            "workflow_timed_out",
        ),
    ],
)
def test_terminal_events(type_: int, state: int, name: str) -> None:
    ev = workflow_pb2.WorkflowEvent(
        workflow_id="wf-1",
        seq=9,
        type=type_,
        **{
            name: {
                "summary": workflow_pb2.RunSummary(
                    success_rate=0.75,
                    total_execution_time=secs(3.5),
                    results={"a": js([1, 2])},
                    completed_steps=3,
                    failed_steps=1,
                    skipped_steps=0,
                    total_steps=4,
                    error_message="x",
                )
            }
        },
    )
    event = event_to_dict(ev)
    assert event["event"] == name
    assert event["data"] == {
        "workflow_id": "wf-1",
        "state": name.removeprefix("workflow_"),
        "error_message": "x",
        "final_output": {
            "success_rate": 0.75,
            "total_execution_time": 3.5,
            "results": {"a": [1, 2]},
            "completed_steps": 3,
            "failed_steps": 1,
            "skipped_steps": 0,
            "cancelled_steps": 0,
            "total_steps": 4,
            "omitted_results": [],
        },
    }


def test_non_json_payload_comes_back_as_raw_bytes() -> None:
    ev = step_event(
        enums_pb2.EVENT_TYPE_AGENT_COMPLETED,
        step_completed=workflow_pb2.StepCompleted(
            output=common_pb2.Payload(encoding="binary/zstd", data=b"\x00\x01")
        ),
    )
    result = event_to_dict(ev)["data"]["result"]
    assert result == b"\x00\x01"
    assert result.encoding == "binary/zstd"


def test_status_to_dict() -> None:
    status = workflow_pb2.WorkflowStatus(
        workflow_id="wf-1",
        name="n",
        state=enums_pb2.WORKFLOW_STATE_RUNNING,
        progress=0.5,
        current_step="b",
        total_execution_time=secs(2),
        created_at=Timestamp(seconds=10),
        last_seq=12,
        priority=enums_pb2.WORKFLOW_PRIORITY_LOW,
        execution_mode=enums_pb2.EXECUTION_MODE_SEQUENTIAL,
        steps=[
            workflow_pb2.StepStatus(
                step_id="a",
                name="A",
                state=enums_pb2.STEP_STATE_COMPLETED,
                attempts=1,
                agent_id="x",
                execution_time=secs(1.5),
                output=js({"ok": True}),
            ),
            workflow_pb2.StepStatus(
                step_id="b",
                name="B",
                state=enums_pb2.STEP_STATE_RETRY_WAIT,
                attempts=2,
                error=common_pb2.ErrorInfo(message="boom"),
            ),
        ],
    )
    got = status_to_dict(status)
    assert got["state"] == "running"
    assert got["progress"] == 0.5
    assert got["current_step"] == "b"
    assert got["total_execution_time"] == 2.0
    assert (got["created_at"], got["started_at"], got["finished_at"]) == (10.0, None, None)
    assert (got["last_seq"], got["priority"], got["execution_mode"]) == (12, "low", "sequential")
    a, b = got["steps"]
    assert a == {
        "step_id": "a",
        "name": "A",
        "state": "completed",
        "execution_time": 1.5,
        "attempts": 1,
        "agent_id": "x",
        "capability": "",
        "output": {"ok": True},
        "error_message": None,
        "error_type": None,
    }
    assert (b["state"], b["attempts"], b["error_message"], b["output"]) == (
        "retry_wait",
        2,
        "boom",
        None,
    )


def test_status_without_current_step() -> None:
    got = status_to_dict(workflow_pb2.WorkflowStatus(workflow_id="w"))
    assert got["current_step"] is None
    assert got["state"] is None
    assert got["steps"] == []


def test_metrics_to_dict() -> None:
    metrics = engine_pb2.EngineMetrics(
        active_workflows=2,
        queued_workflows=1,
        completed_workflows=5,
        failed_workflows=1,
        cancelled_workflows=1,
        agent_load={"a": 3},
        resource_usage=engine_pb2.ResourceUsage(cpu_percent=12.5, memory_mb=80.0),
        performance_metrics={"steps_per_second": engine_pb2.MetricSeries(values=[1.0, 2.0])},
        completed_steps=40,
        connected_agents=2,
        uptime_seconds=9.5,
    )
    got = metrics_to_dict(metrics)
    assert (got["active_workflows"], got["queued_workflows"], got["completed_workflows"]) == (
        2,
        1,
        5,
    )
    assert got["agent_load"] == {"a": 3}
    assert got["resource_usage"] == {
        "cpu": 12.5,
        "memory": 80.0,
        "cpu_percent": 12.5,
        "memory_mb": 80.0,
    }
    assert got["performance_metrics"] == {"steps_per_second": [1.0, 2.0], "workflow_count": []}
    assert got["performance_metrics"]["workflow_count"][-10:] == []
    assert (got["completed_steps"], got["connected_agents"], got["uptime_seconds"]) == (40, 2, 9.5)


def test_agent_and_summary_to_dict() -> None:
    agent = agent_to_dict(
        agent_pb2.AgentInfo(
            agent_id="a",
            agent_type="T",
            capabilities=["analysis"],
            max_concurrent_tasks=2,
            config=js({"model": "x"}),
            connected=True,
            current_load=1,
        )
    )
    assert agent["config"] == {"model": "x"}
    assert (agent["capabilities"], agent["connected"], agent["connected_at"]) == (
        ["analysis"],
        True,
        None,
    )
    row = summary_to_dict(
        workflow_pb2.WorkflowSummary(
            workflow_id="w",
            name="n",
            state=enums_pb2.WORKFLOW_STATE_FAILED,
            total_steps=3,
            completed_steps=1,
        )
    )
    assert (row["state"], row["total_steps"], row["completed_steps"]) == ("failed", 3, 1)
