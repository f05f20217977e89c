"""Typed domain events -> dwe.v1.WorkflowEvent bytes: one writer per event type.

Each event is encoded once; the bytes are cached on the event and reused for
the events table and every subscriber's stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dwe.v1 import common_pb2, enums_pb2, workflow_pb2

from ..engine import events as ev
from ..engine.model import ErrorInfo, EventType
from .handlers import frame
from .wire import MODES_OUT, PRIORITIES_OUT, set_duration, set_payload, set_time

EVENT_TYPES: dict[EventType, int] = {
    t: enums_pb2.EventType.Value(f"EVENT_TYPE_{t.name}") for t in EventType
}
EVENT_TYPES_IN = {v: k for k, v in EVENT_TYPES.items()}

Writer = Callable[[workflow_pb2.WorkflowEvent, Any], None]


def _error(msg: common_pb2.ErrorInfo, err: ErrorInfo) -> None:
    msg.message = err.message
    msg.type = err.type
    msg.retryable = err.retryable


def _opened(detail: Any, e: ev.WorkflowStarted | ev.WorkflowQueued) -> None:
    detail.name = e.name
    detail.session_id = e.session_id
    set_payload(detail.context, e.context)
    detail.total_steps = e.total_steps
    detail.execution_mode = MODES_OUT[e.mode]
    detail.priority = PRIORITIES_OUT[e.priority]
    detail.namespace = e.namespace


def _started(msg: workflow_pb2.WorkflowEvent, e: ev.WorkflowStarted) -> None:
    _opened(msg.workflow_started, e)


def _queued(msg: workflow_pb2.WorkflowEvent, e: ev.WorkflowQueued) -> None:
    _opened(msg.workflow_queued, e)


def _assigned(msg: workflow_pb2.WorkflowEvent, e: ev.StepAssigned) -> None:
    msg.step_assigned.task = e.task
    msg.step_assigned.capability = e.capability


def _streamed(msg: workflow_pb2.WorkflowEvent, e: ev.StepStreamed) -> None:
    msg.step_streamed.content = e.content
    if e.data is not None:
        set_payload(msg.step_streamed.data, e.data)


def _completed(msg: workflow_pb2.WorkflowEvent, e: ev.StepCompleted) -> None:
    detail = msg.step_completed
    if e.output is not None:
        set_payload(detail.output, e.output)
    set_duration(detail.execution_time, e.execution_time)


def _attempt_failed(msg: workflow_pb2.WorkflowEvent, e: ev.StepAttemptFailed) -> None:
    detail = msg.step_attempt_failed
    _error(detail.error, e.error)
    detail.will_retry = e.will_retry
    set_duration(detail.execution_time, e.execution_time)


def _retrying(msg: workflow_pb2.WorkflowEvent, e: ev.StepRetrying) -> None:
    detail = msg.step_retrying
    detail.next_attempt = e.next_attempt
    detail.reason = e.reason
    set_duration(detail.delay, e.delay)


def _skipped(msg: workflow_pb2.WorkflowEvent, e: ev.StepSkipped) -> None:
    _error(msg.step_skipped.error, e.error)
    msg.step_skipped.dependency = e.dependency


def _adapted(msg: workflow_pb2.WorkflowEvent, e: ev.WorkflowAdapted) -> None:
    detail = msg.workflow_adapted
    detail.decision = e.decision
    detail.reason = e.reason
    detail.step_ids.extend(e.step_ids)


def _summary(msg: workflow_pb2.RunSummary, s: ev.RunSummary) -> None:
    msg.success_rate = s.success_rate
    set_duration(msg.total_execution_time, s.total_execution_time)
    results = msg.results
    for step_id, out in s.results.items():
        slot = results[step_id]  # an empty payload stands for a step that returned nothing
        if out is not None:
            set_payload(slot, out)
    msg.omitted_results.extend(s.omitted_results)
    msg.completed_steps = s.completed_steps
    msg.failed_steps = s.failed_steps
    msg.skipped_steps = s.skipped_steps
    msg.cancelled_steps = s.cancelled_steps
    msg.total_steps = s.total_steps
    msg.error_message = s.error_message


def _ended(field: str) -> Writer:
    def write(msg: workflow_pb2.WorkflowEvent, e: ev.RunEnded) -> None:
        _summary(getattr(msg, field).summary, e.summary)

    return write


WRITERS: dict[type[ev.Event], Writer] = {
    ev.WorkflowStarted: _started,
    ev.WorkflowQueued: _queued,
    ev.StepAssigned: _assigned,
    ev.StepStreamed: _streamed,
    ev.StepCompleted: _completed,
    ev.StepAttemptFailed: _attempt_failed,
    ev.StepRetrying: _retrying,
    ev.StepSkipped: _skipped,
    ev.WorkflowAdapted: _adapted,
    ev.WorkflowCompleted: _ended("workflow_completed"),
    ev.WorkflowFailed: _ended("workflow_failed"),
    ev.WorkflowCancelled: _ended("workflow_cancelled"),
    ev.WorkflowTimedOut: _ended("workflow_timed_out"),
}


def event_to_proto(e: ev.Event) -> workflow_pb2.WorkflowEvent:
    """The event as a protobuf message."""
    msg = workflow_pb2.WorkflowEvent(
        workflow_id=e.workflow_id, seq=e.seq, type=EVENT_TYPES[e.type], position=e.position
    )
    set_time(msg.time, e.time)
    if isinstance(e, ev.StepEvent):
        msg.step_id = e.step_id
        msg.step_name = e.step_name
        msg.attempt = e.attempt
        msg.agent_id = e.agent_id
    WRITERS[type(e)](msg, e)
    return msg


def event_bytes(e: ev.Event) -> bytes:
    """The event as a serialised WorkflowEvent: encoded once, then cached on it."""
    if e.wire is None:
        e.wire = event_to_proto(e).SerializeToString()
    return e.wire


def event_frame(e: ev.Event) -> bytes:
    """The event as one framed entry of a stream response."""
    return frame(event_bytes(e))
