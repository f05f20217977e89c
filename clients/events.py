"""Mapping of dwe.v1 events, statuses, metrics and agents to the guide's dicts.

Pure functions, one per message type. Enum values become lowercase strings,
Durations float seconds, Timestamps float epoch seconds and Payloads their
decoded JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dwe.common.enums import ExecutionMode, StepState, WorkflowPriority, WorkflowState
from dwe.common.wire import decode_payload, duration_seconds, timestamp_seconds
from dwe.v1 import agent_pb2, engine_pb2, enums_pb2, workflow_pb2

__all__ = [
    "DETAILS",
    "EVENT_NAMES",
    "TERMINAL_EVENTS",
    "agent_to_dict",
    "event_name",
    "event_to_dict",
    "metrics_to_dict",
    "status_to_dict",
    "summary_to_dict",
]

EVENT_NAMES: dict[int, str] = {
    number: name.removeprefix("EVENT_TYPE_").lower()
    for name, number in enums_pb2.EventType.items()
    if number != enums_pb2.EVENT_TYPE_UNSPECIFIED
}
"""Proto EventType number -> the guide's event name (``"agent_started"``, ...)."""

TERMINAL_EVENTS = frozenset(
    {"workflow_completed", "workflow_failed", "workflow_cancelled", "workflow_timed_out"}
)

Detail = Callable[[Any], dict[str, Any]]


def event_name(event_type: int) -> str:
    """The guide's name of an EventType number (``"unspecified"`` when unknown)."""
    return EVENT_NAMES.get(event_type, "unspecified")


def _value(member: Any) -> str | None:
    return member.value if member is not None else None


def _opened(d: workflow_pb2.WorkflowStarted | workflow_pb2.WorkflowQueued) -> dict[str, Any]:
    return {
        "name": d.name,
        "session_id": d.session_id,
        "context": decode_payload(d.context) if d.HasField("context") else None,
        "total_steps": d.total_steps,
        "execution_mode": _value(ExecutionMode.from_proto(d.execution_mode)),
        "priority": _value(WorkflowPriority.from_proto(d.priority)),
    }


def _assigned(d: workflow_pb2.StepAssigned) -> dict[str, Any]:
    return {"task": d.task, "capability": d.capability}


def _streamed(d: workflow_pb2.StepStreamed) -> dict[str, Any]:
    return {"content": d.content, "data": decode_payload(d.data) if d.HasField("data") else None}


def _completed(d: workflow_pb2.StepCompleted) -> dict[str, Any]:
    output = decode_payload(d.output) if d.HasField("output") else None
    return {
        "result": output,
        "output": output,
        "execution_time": duration_seconds(d.execution_time),
    }


def _failure(error: Any, will_retry: bool, execution_time: float) -> dict[str, Any]:
    return {
        "error_message": error.message,
        "error_type": error.type,
        "retryable": error.retryable,
        "will_retry": will_retry,
        "execution_time": execution_time,
    }


def _attempt_failed(d: workflow_pb2.StepAttemptFailed) -> dict[str, Any]:
    return _failure(d.error, d.will_retry, duration_seconds(d.execution_time))


def _skipped(d: workflow_pb2.StepSkipped) -> dict[str, Any]:
    return {**_failure(d.error, False, 0.0), "dependency": d.dependency}


def _retrying(d: workflow_pb2.StepRetrying) -> dict[str, Any]:
    return {"next_attempt": d.next_attempt, "delay": duration_seconds(d.delay), "reason": d.reason}


def _adapted(d: workflow_pb2.WorkflowAdapted) -> dict[str, Any]:
    return {"decision": d.decision, "reason": d.reason, "step_ids": list(d.step_ids)}


def _ended(state: WorkflowState) -> Detail:
    def detail(d: Any) -> dict[str, Any]:
        s: workflow_pb2.RunSummary = d.summary
        return {
            "state": state.value,
            "error_message": s.error_message,
            "final_output": {
                "success_rate": s.success_rate,
                "total_execution_time": duration_seconds(s.total_execution_time),
                "results": {k: decode_payload(v) for k, v in s.results.items()},
                "completed_steps": s.completed_steps,
                "failed_steps": s.failed_steps,
                "skipped_steps": s.skipped_steps,
                "cancelled_steps": s.cancelled_steps,
                "total_steps": s.total_steps,
                "omitted_results": list(s.omitted_results),
            },
        }

    return detail


DETAILS: dict[int, tuple[str, Detail]] = {
    enums_pb2.EVENT_TYPE_WORKFLOW_STARTED: ("workflow_started", _opened),
    enums_pb2.EVENT_TYPE_WORKFLOW_QUEUED: ("workflow_queued", _opened),
    enums_pb2.EVENT_TYPE_AGENT_STARTED: ("step_assigned", _assigned),
    enums_pb2.EVENT_TYPE_AGENT_STREAM: ("step_streamed", _streamed),
    enums_pb2.EVENT_TYPE_AGENT_COMPLETED: ("step_completed", _completed),
    enums_pb2.EVENT_TYPE_AGENT_ERROR: ("step_attempt_failed", _attempt_failed),
    enums_pb2.EVENT_TYPE_AGENT_RETRYING: ("step_retrying", _retrying),
    enums_pb2.EVENT_TYPE_STEP_SKIPPED: ("step_skipped", _skipped),
    enums_pb2.EVENT_TYPE_WORKFLOW_ADAPTED: ("workflow_adapted", _adapted),
    enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED: (
        "workflow_completed",
        _ended(WorkflowState.COMPLETED),
    ),
    enums_pb2.EVENT_TYPE_WORKFLOW_FAILED: ("workflow_failed", _ended(WorkflowState.FAILED)),
    enums_pb2.EVENT_TYPE_WORKFLOW_CANCELLED: (
        "workflow_cancelled",
        _ended(WorkflowState.CANCELLED),
    ),
    enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT: (
        "workflow_timed_out",
        _ended(WorkflowState.TIMED_OUT),
    ),
}
"""EventType number -> (the WorkflowEvent.detail field it sets, its mapping to the guide's data)."""


def event_to_dict(ev: workflow_pb2.WorkflowEvent) -> dict[str, Any]:
    """Converts a ``WorkflowEvent`` to the guide's event dict.

    Returns:
        ``{"event", "workflow_id", "seq", "timestamp", "data"}``. ``data``
        always has ``workflow_id``; step events add ``step`` (the step_id),
        ``step_id``, ``step_name``, ``agent_id`` and ``attempt``; the rest
        depends on the event type (see the module docs of the client).
    """
    kind, workflow_id, step_id = ev.type, ev.workflow_id, ev.step_id
    data: dict[str, Any]
    if step_id:
        data = {
            "workflow_id": workflow_id,
            "step": step_id,
            "step_id": step_id,
            "step_name": ev.step_name,
            "agent_id": ev.agent_id,
            "attempt": ev.attempt,
        }
    else:
        data = {"workflow_id": workflow_id}
    found = DETAILS.get(kind)
    if found is not None:
        data.update(found[1](getattr(ev, found[0])))
    time = ev.time
    return {
        "event": EVENT_NAMES.get(kind, "unspecified"),
        "workflow_id": workflow_id,
        "seq": ev.seq,
        "timestamp": time.seconds + time.nanos / 1e9 if time.seconds or time.nanos else None,
        "data": data,
    }


def _step_to_dict(step: workflow_pb2.StepStatus) -> dict[str, Any]:
    return {
        "step_id": step.step_id,
        "name": step.name,
        "state": _value(StepState.from_proto(step.state)),
        "execution_time": duration_seconds(step.execution_time),
        "attempts": step.attempts,
        "agent_id": step.agent_id or None,
        "capability": step.capability,
        "output": decode_payload(step.output) if step.HasField("output") else None,
        "error_message": step.error.message or None,
        "error_type": step.error.type or None,
    }


def status_to_dict(status: workflow_pb2.WorkflowStatus) -> dict[str, Any]:
    """Converts a ``WorkflowStatus`` to the guide's status dict."""
    return {
        "workflow_id": status.workflow_id,
        "namespace": status.namespace,
        "name": status.name,
        "description": status.description,
        "state": _value(WorkflowState.from_proto(status.state)),
        "progress": status.progress,
        "current_step": status.current_step or None,
        "total_execution_time": duration_seconds(status.total_execution_time),
        "steps": [_step_to_dict(s) for s in status.steps],
        "priority": _value(WorkflowPriority.from_proto(status.priority)),
        "execution_mode": _value(ExecutionMode.from_proto(status.execution_mode)),
        "created_at": timestamp_seconds(status.created_at),
        "started_at": timestamp_seconds(status.started_at),
        "finished_at": timestamp_seconds(status.finished_at),
        "last_seq": status.last_seq,
        "error_message": status.error_message or None,
    }


def summary_to_dict(summary: workflow_pb2.WorkflowSummary) -> dict[str, Any]:
    """Converts a ``WorkflowSummary`` (a ListWorkflows row) to a dict."""
    return {
        "workflow_id": summary.workflow_id,
        "namespace": summary.namespace,
        "name": summary.name,
        "state": _value(WorkflowState.from_proto(summary.state)),
        "priority": _value(WorkflowPriority.from_proto(summary.priority)),
        "execution_mode": _value(ExecutionMode.from_proto(summary.execution_mode)),
        "total_steps": summary.total_steps,
        "completed_steps": summary.completed_steps,
        "created_at": timestamp_seconds(summary.created_at),
        "finished_at": timestamp_seconds(summary.finished_at),
    }


def metrics_to_dict(metrics: engine_pb2.EngineMetrics) -> dict[str, Any]:
    """Converts ``EngineMetrics`` to the guide's metrics dict.

    ``performance_metrics`` always holds a ``workflow_count`` series (possibly
    empty), since the guide slices it.
    """
    usage = metrics.resource_usage
    series = {name: list(s.values) for name, s in metrics.performance_metrics.items()}
    series.setdefault("workflow_count", [])
    return {
        "active_workflows": metrics.active_workflows,
        "queued_workflows": metrics.queued_workflows,
        "completed_workflows": metrics.completed_workflows,
        "failed_workflows": metrics.failed_workflows,
        "cancelled_workflows": metrics.cancelled_workflows,
        "timed_out_workflows": metrics.timed_out_workflows,
        "agent_load": dict(metrics.agent_load),
        "resource_usage": {
            "cpu": usage.cpu_percent,
            "memory": usage.memory_mb,
            "cpu_percent": usage.cpu_percent,
            "memory_mb": usage.memory_mb,
        },
        "performance_metrics": series,
        "completed_steps": metrics.completed_steps,
        "failed_steps": metrics.failed_steps,
        "connected_agents": metrics.connected_agents,
        "uptime_seconds": metrics.uptime_seconds,
        "sample_interval_seconds": metrics.sample_interval_seconds,
        "adaptation_rule_errors": metrics.adaptation_rule_errors,
    }


def agent_to_dict(agent: agent_pb2.AgentInfo) -> dict[str, Any]:
    """Converts an ``AgentInfo`` to a dict."""
    return {
        "agent_id": agent.agent_id,
        "agent_type": agent.agent_type,
        "namespace": agent.namespace,
        "capabilities": list(agent.capabilities),
        "max_concurrent_tasks": agent.max_concurrent_tasks,
        "config": decode_payload(agent.config) if agent.HasField("config") else None,
        "connected": agent.connected,
        "registered": agent.registered,
        "current_load": agent.current_load,
        "labels": dict(agent.labels),
        "completed_steps": agent.completed_steps,
        "failed_steps": agent.failed_steps,
        "connected_at": timestamp_seconds(agent.connected_at),
    }
