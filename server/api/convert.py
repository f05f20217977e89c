"""Domain objects -> protobuf messages. The only place below the servicers that knows protobuf."""

from __future__ import annotations

from typing import Any

import orjson

from dwe.v1 import agent_pb2, common_pb2, enums_pb2, workflow_pb2

from ..engine.model import (
    JSON_ENCODING,
    Blob,
    Dispatch,
    ErrorInfo,
    Event,
    EventType,
    ExecutionMode,
    Priority,
    StepState,
    WorkflowState,
)
from ..views import StatusView
from .handlers import frame
from .validation import MODES, PRIORITIES

_NS = 1_000_000_000

WORKFLOW_STATES = {
    WorkflowState.PENDING: enums_pb2.WORKFLOW_STATE_PENDING,
    WorkflowState.QUEUED: enums_pb2.WORKFLOW_STATE_QUEUED,
    WorkflowState.RUNNING: enums_pb2.WORKFLOW_STATE_RUNNING,
    WorkflowState.COMPLETED: enums_pb2.WORKFLOW_STATE_COMPLETED,
    WorkflowState.FAILED: enums_pb2.WORKFLOW_STATE_FAILED,
    WorkflowState.CANCELLED: enums_pb2.WORKFLOW_STATE_CANCELLED,
    WorkflowState.TIMED_OUT: enums_pb2.WORKFLOW_STATE_TIMED_OUT,
}
WORKFLOW_STATES_IN = {v: k for k, v in WORKFLOW_STATES.items()}
STEP_STATES = {s: getattr(enums_pb2, f"STEP_STATE_{s.name}") for s in StepState}
EVENT_TYPES = {t: getattr(enums_pb2, f"EVENT_TYPE_{t.name}") for t in EventType}
EVENT_TYPES_IN = {v: k for k, v in EVENT_TYPES.items()}
PRIORITIES_OUT = {v: k for k, v in PRIORITIES.items() if k}
MODES_OUT = {v: k for k, v in MODES.items() if k}


def payload(blob: Blob | None) -> common_pb2.Payload | None:
    if blob is None:
        return None
    return common_pb2.Payload(encoding=blob.encoding or JSON_ENCODING, data=blob.data)


def json_payload(value: Any) -> common_pb2.Payload:
    return common_pb2.Payload(encoding=JSON_ENCODING, data=orjson.dumps(value))


def blob(msg: common_pb2.Payload) -> Blob:
    return Blob(msg.encoding or JSON_ENCODING, msg.data)


def _set_time(ts: Any, seconds: float) -> None:
    ts.FromNanoseconds(int(seconds * _NS))


def _set_duration(d: Any, seconds: float) -> None:
    d.FromNanoseconds(int(max(seconds, 0.0) * _NS))


def error_info(err: ErrorInfo | None) -> common_pb2.ErrorInfo | None:
    if err is None:
        return None
    return common_pb2.ErrorInfo(message=err.message, type=err.type, retryable=err.retryable)


def _step_failed(data: dict[str, Any]) -> workflow_pb2.StepFailed:
    msg = workflow_pb2.StepFailed(
        error=common_pb2.ErrorInfo(
            message=data.get("error_message", ""),
            type=data.get("error_type", ""),
            retryable=bool(data.get("retryable", False)),
        ),
        will_retry=bool(data.get("will_retry", False)),
    )
    _set_duration(msg.execution_time, data.get("execution_time", 0.0))
    return msg


def event_bytes(e: Event) -> bytes:
    """The event as a serialised WorkflowEvent: encoded once, then cached on it.

    The same bytes are stored (events table) and streamed, so an event is
    never encoded twice.
    """
    if e.wire is None:
        e.wire = event_to_proto(e).SerializeToString()
    return e.wire


def event_frame(e: Event) -> bytes:
    """The event as one framed entry of a stream response."""
    return frame(event_bytes(e))


def event_to_proto(e: Event) -> workflow_pb2.WorkflowEvent:
    """The event as a protobuf message."""
    msg = workflow_pb2.WorkflowEvent(
        workflow_id=e.workflow_id,
        seq=e.seq,
        type=EVENT_TYPES[e.type],
        step_id=e.step_id,
        step_name=e.step_name,
        attempt=e.attempt,
        agent_id=e.agent_id,
    )
    _set_time(msg.time, e.time)
    d, t = e.data, e.type
    if t is EventType.AGENT_STARTED:
        msg.step_started.task = d.get("task", "")
        msg.step_started.capability = d.get("capability", "")
    elif t is EventType.AGENT_COMPLETED:
        detail = msg.step_completed
        out = d.get("output")
        if out is not None:
            detail.output.encoding = out.encoding or JSON_ENCODING
            detail.output.data = out.data
        _set_duration(detail.execution_time, d.get("execution_time", 0.0))
    elif t is EventType.AGENT_STREAM:
        msg.step_stream.content = d.get("content", "")
        data = d.get("data")
        if data is not None:
            msg.step_stream.data.CopyFrom(payload(data))
    elif t in (EventType.AGENT_ERROR, EventType.STEP_SKIPPED):
        msg.step_failed.CopyFrom(_step_failed(d))
    elif t is EventType.AGENT_RETRYING:
        msg.step_retrying.next_attempt = d.get("next_attempt", 0)
        msg.step_retrying.reason = d.get("reason", "")
        _set_duration(msg.step_retrying.delay, d.get("delay", 0.0))
    elif t in (EventType.WORKFLOW_STARTED, EventType.WORKFLOW_QUEUED):
        detail = msg.workflow_started
        detail.name = d.get("name", "")
        detail.session_id = d.get("session_id", "")
        detail.context.CopyFrom(json_payload(d.get("context", {})))
        detail.total_steps = d.get("total_steps", 0)
        detail.execution_mode = MODES_OUT.get(ExecutionMode(d["execution_mode"]), 0)
        detail.priority = PRIORITIES_OUT.get(Priority(d["priority"]), 0)
    elif t is EventType.WORKFLOW_ADAPTED:
        msg.workflow_adapted.decision = d.get("decision", "")
        msg.workflow_adapted.reason = d.get("reason", "")
        msg.workflow_adapted.step_ids.extend(d.get("step_ids", ()))
    else:  # terminal workflow events
        detail = msg.workflow_finished
        detail.state = WORKFLOW_STATES[WorkflowState(d["state"])]
        detail.success_rate = d.get("success_rate", 0.0)
        _set_duration(detail.total_execution_time, d.get("total_execution_time", 0.0))
        for step_id, out in d.get("results", {}).items():
            if out is not None:
                detail.results[step_id].encoding = out.encoding or JSON_ENCODING
                detail.results[step_id].data = out.data
        detail.completed_steps = d.get("completed_steps", 0)
        detail.failed_steps = d.get("failed_steps", 0)
        detail.skipped_steps = d.get("skipped_steps", 0)
        detail.total_steps = d.get("total_steps", 0)
        detail.error_message = d.get("error_message", "")
    return msg


def fill_assignment(msg: agent_pb2.Assignment, d: Dispatch) -> None:
    """Write a dispatch into an Assignment in place (``msg.assignments.add()``),
    so a batch is built without copying each message into the ServerMessage."""
    msg.attempt_id = d.attempt_id
    msg.workflow_id = d.workflow_id
    msg.step_id = d.step_id
    msg.step_name = d.step_name
    msg.description = d.description
    msg.capability = d.capability
    msg.attempt = d.attempt
    if d.traceparent:
        msg.traceparent = d.traceparent
        msg.tracestate = d.tracestate
    msg.context.encoding = d.context.encoding
    msg.context.data = d.context.data
    inputs = msg.inputs
    for step_id, out in d.inputs.items():
        slot = inputs[step_id]
        if out is not None:
            slot.encoding = out.encoding
            slot.data = out.data
    if d.deadline is not None:
        _set_time(msg.deadline, d.deadline)


def status_to_proto(v: StatusView) -> workflow_pb2.WorkflowStatus:
    msg = workflow_pb2.WorkflowStatus(
        workflow_id=v.workflow_id,
        name=v.name,
        description=v.description,
        state=WORKFLOW_STATES[v.state],
        progress=v.progress,
        current_step=v.current_step,
        priority=PRIORITIES_OUT[v.priority],
        execution_mode=MODES_OUT[v.mode],
        last_seq=v.last_seq,
        error_message=v.error_message,
    )
    _set_duration(msg.total_execution_time, v.total_execution_time)
    _set_time(msg.created_at, v.created_at)
    if v.started_at:
        _set_time(msg.started_at, v.started_at)
    if v.finished_at:
        _set_time(msg.finished_at, v.finished_at)
    for s in v.steps:
        step = msg.steps.add(
            step_id=s.step_id,
            name=s.name,
            state=STEP_STATES[s.state],
            attempts=s.attempts,
            agent_id=s.agent_id,
            capability=s.capability,
        )
        _set_duration(step.execution_time, s.execution_time)
        if s.output is not None:
            step.output.CopyFrom(payload(s.output))
        if s.error is not None:
            step.error.CopyFrom(error_info(s.error))
    return msg


def summary_to_proto(v: StatusView) -> workflow_pb2.WorkflowSummary:
    msg = workflow_pb2.WorkflowSummary(
        workflow_id=v.workflow_id,
        name=v.name,
        state=WORKFLOW_STATES[v.state],
        priority=PRIORITIES_OUT[v.priority],
        execution_mode=MODES_OUT[v.mode],
        total_steps=v.total_steps,
        completed_steps=v.completed_steps,
    )
    _set_time(msg.created_at, v.created_at)
    if v.finished_at:
        _set_time(msg.finished_at, v.finished_at)
    return msg
