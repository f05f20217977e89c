"""Mapping of dwe.v1 events, statuses, metrics and agents to the guide's dicts.

Pure functions, one per message type. Enum values become lowercase strings,
Durations float seconds, Timestamps float epoch seconds and Payloads their
decoded JSON.
"""

from __future__ import annotations

from typing import Any

from dwe.clients.enums import ExecutionMode, StepState, WorkflowPriority, WorkflowState
from dwe.clients.wire import decode_payload, duration_seconds, timestamp_seconds
from dwe.v1 import agent_pb2, engine_pb2, enums_pb2, workflow_pb2

__all__ = [
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

_STEP_EVENTS = frozenset(
    {
        "agent_started",
        "agent_stream",
        "agent_completed",
        "agent_error",
        "agent_retrying",
        "step_skipped",
    }
)


def event_name(event_type: int) -> str:
    """The guide's name of an EventType number (``"unspecified"`` when unknown)."""
    return EVENT_NAMES.get(event_type, "unspecified")


def _value(member: Any) -> str | None:
    return member.value if member is not None else None


def _final_output(fin: workflow_pb2.WorkflowFinished) -> dict[str, Any]:
    return {
        "success_rate": fin.success_rate,
        "total_execution_time": duration_seconds(fin.total_execution_time),
        "results": {k: decode_payload(v) for k, v in fin.results.items()},
        "completed_steps": fin.completed_steps,
        "failed_steps": fin.failed_steps,
        "skipped_steps": fin.skipped_steps,
        "total_steps": fin.total_steps,
    }


def _detail(name: str, ev: workflow_pb2.WorkflowEvent) -> dict[str, Any]:
    if name in ("workflow_started", "workflow_queued"):
        ws = ev.workflow_started
        return {
            "name": ws.name,
            "session_id": ws.session_id,
            "context": decode_payload(ws.context) if ws.HasField("context") else None,
            "total_steps": ws.total_steps,
            "execution_mode": _value(ExecutionMode.from_proto(ws.execution_mode)),
            "priority": _value(WorkflowPriority.from_proto(ws.priority)),
        }
    if name == "agent_started":
        return {"task": ev.step_started.task, "capability": ev.step_started.capability}
    if name == "agent_stream":
        ss = ev.step_stream
        return {
            "content": ss.content,
            "data": decode_payload(ss.data) if ss.HasField("data") else None,
        }
    if name == "agent_completed":
        sc = ev.step_completed
        output = decode_payload(sc.output) if sc.HasField("output") else None
        return {
            "result": output,
            "output": output,
            "execution_time": duration_seconds(sc.execution_time),
        }
    if name in ("agent_error", "step_skipped"):
        sf = ev.step_failed
        return {
            "error_message": sf.error.message,
            "error_type": sf.error.type,
            "retryable": sf.error.retryable,
            "will_retry": sf.will_retry,
            "execution_time": duration_seconds(sf.execution_time),
        }
    if name == "agent_retrying":
        sr = ev.step_retrying
        return {
            "next_attempt": sr.next_attempt,
            "delay": duration_seconds(sr.delay),
            "reason": sr.reason,
        }
    if name == "workflow_adapted":
        wa = ev.workflow_adapted
        return {"decision": wa.decision, "reason": wa.reason, "step_ids": list(wa.step_ids)}
    if name in TERMINAL_EVENTS:
        fin = ev.workflow_finished
        return {
            "state": _value(WorkflowState.from_proto(fin.state)),
            "error_message": fin.error_message,
            "final_output": _final_output(fin),
        }
    return {}


def event_to_dict(ev: workflow_pb2.WorkflowEvent) -> dict[str, Any]:
    """Converts a ``WorkflowEvent`` to the guide's event dict.

    Returns:
        ``{"event", "workflow_id", "seq", "timestamp", "data"}``. ``data``
        always has ``workflow_id``; step events add ``step`` (the step_id),
        ``step_id``, ``step_name``, ``agent_id`` and ``attempt``; the rest
        depends on the event type (see the module docs of the client).
    """
    name = event_name(ev.type)
    data: dict[str, Any] = {"workflow_id": ev.workflow_id}
    if name in _STEP_EVENTS or ev.step_id:
        data.update(
            step=ev.step_id,
            step_id=ev.step_id,
            step_name=ev.step_name,
            agent_id=ev.agent_id,
            attempt=ev.attempt,
        )
    data.update(_detail(name, ev))
    return {
        "event": name,
        "workflow_id": ev.workflow_id,
        "seq": ev.seq,
        "timestamp": timestamp_seconds(ev.time) if ev.HasField("time") else None,
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
