"""Read models and dispatches -> protobuf messages (events are in event_codec.py)."""

from __future__ import annotations

from typing import Any

from dwe.v1 import agent_pb2, workflow_pb2

from ..engine.model import Blob, Dispatch
from ..runtime.views import AgentView, StatusView, StepStatusView
from .wire import (
    MODES_OUT,
    PRIORITIES_OUT,
    STEP_STATES,
    WORKFLOW_STATES,
    error_info,
    json_payload,
    set_duration,
    set_payload,
    set_time,
)


def fill_assignment(msg: agent_pb2.Assignment, d: Dispatch) -> None:
    """Write a dispatch into an Assignment in place (``msg.assignments.add()``),
    so a batch is built without copying each message into the response."""
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
    set_payload(msg.context, d.context)
    inputs = msg.inputs
    for step_id, out in d.inputs.items():
        slot = inputs[step_id]  # an empty payload stands for a dependency that returned nothing
        if out is not None:
            set_payload(slot, out)
    if d.deadline is not None:
        set_time(msg.deadline, d.deadline)


def assignment_size_bound(d: Dispatch) -> int:
    """An upper bound of the encoded size of ``d``'s Assignment in a response (cheap:
    it runs for every assignment sent)."""
    texts = len(d.attempt_id) + len(d.workflow_id) + len(d.step_id) + len(d.step_name)
    texts += len(d.description) + len(d.capability) + len(d.traceparent) + len(d.tracestate)
    context = d.context
    size = 288 + 4 * texts + len(context.data) + len(context.encoding)
    if context.metadata:
        size += _meta_bound(context)
    for step_id, out in d.inputs.items():
        size += 48 + 4 * len(step_id)
        if out is not None:
            size += len(out.data) + len(out.encoding)
            if out.metadata:
                size += _meta_bound(out)
    return size


def _meta_bound(b: Blob) -> int:
    return sum(16 + 4 * (len(k) + len(v)) for k, v in b.metadata)


def status_to_proto(v: StatusView, budget: int = 0) -> workflow_pb2.WorkflowStatus:
    """The status as a message of at most ``budget`` bytes (0: no limit).

    When every step does not fit, outputs are left out first (``output_omitted``),
    then the last steps (``omitted_steps``); a caller asks for those by step_ids.
    """
    msg = workflow_pb2.WorkflowStatus(
        workflow_id=v.workflow_id,
        namespace=v.namespace,
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
    set_duration(msg.total_execution_time, v.total_execution_time)
    set_time(msg.created_at, v.created_at)
    if v.started_at:
        set_time(msg.started_at, v.started_at)
    if v.finished_at:
        set_time(msg.finished_at, v.finished_at)
    steps = v.steps
    if not budget or _fits(steps, budget - msg.ByteSize()):
        for s in steps:
            _add_step(msg.steps, s)
        return msg
    room = budget - msg.ByteSize() - 16  # omitted_steps
    for i, s in enumerate(steps):
        step = _add_step(msg.steps, s)
        size = step.ByteSize() + _FIELD_OVERHEAD
        if size > room and s.output is not None:
            step.ClearField("output")
            step.output_omitted = True
            size = step.ByteSize() + _FIELD_OVERHEAD
        if size > room:
            del msg.steps[-1]
            msg.omitted_steps = len(steps) - i
            break
        room -= size
    return msg


# A repeated entry's tag and length prefix, at most.
_FIELD_OVERHEAD = 6
# A step's fixed fields (state, attempts, time, tags) stay below this.
_STEP_FIXED = 64


def _fits(steps: list[StepStatusView], room: int) -> bool:
    """A cheap upper bound: True when every step surely fits in ``room`` bytes."""
    total = 0
    for s in steps:
        total += _STEP_FIXED + 4 * (len(s.step_id) + len(s.name) + len(s.agent_id))
        total += 4 * len(s.capability) + sum(4 * len(d) + 2 for d in s.dependencies)
        if s.output is not None:
            total += len(s.output.data) + 64 + sum(len(k) + len(m) for k, m in s.output.metadata)
        if s.error is not None:
            total += 4 * (len(s.error.message) + len(s.error.type)) + 16
        if total > room:
            return False
    return True


def _add_step(steps: Any, s: StepStatusView) -> workflow_pb2.StepStatus:
    step: workflow_pb2.StepStatus = steps.add(
        step_id=s.step_id,
        name=s.name,
        state=STEP_STATES[s.state],
        attempts=s.attempts,
        agent_id=s.agent_id,
        capability=s.capability,
        dependencies=s.dependencies,
    )
    if s.execution_time > 0:  # unset reads as zero: a step that has not run costs nothing
        set_duration(step.execution_time, s.execution_time)
    if s.output is not None:
        set_payload(step.output, s.output)
    if s.error is not None:
        step.error.CopyFrom(error_info(s.error))
    return step


def summary_to_proto(v: StatusView) -> workflow_pb2.WorkflowSummary:
    msg = workflow_pb2.WorkflowSummary(
        workflow_id=v.workflow_id,
        namespace=v.namespace,
        name=v.name,
        state=WORKFLOW_STATES[v.state],
        priority=PRIORITIES_OUT[v.priority],
        execution_mode=MODES_OUT[v.mode],
        total_steps=v.total_steps,
        completed_steps=v.completed_steps,
    )
    set_time(msg.created_at, v.created_at)
    if v.finished_at:
        set_time(msg.finished_at, v.finished_at)
    return msg


def agent_to_proto(v: AgentView) -> agent_pb2.AgentInfo:
    """A registry entry and/or live session as AgentInfo."""
    info = agent_pb2.AgentInfo(
        agent_id=v.agent_id,
        namespace=v.namespace,
        agent_type=v.agent_type,
        capabilities=v.capabilities,
        max_concurrent_tasks=v.max_concurrent_tasks,
        connected=v.connected,
        registered=v.registered,
        current_load=v.current_load,
        labels=v.labels,
        completed_steps=v.completed_steps,
        failed_steps=v.failed_steps,
        failure_rate=v.failure_rate,
    )
    if v.mean_seconds:
        info.mean_duration.FromNanoseconds(round(v.mean_seconds * 1e9))
    if v.config:
        info.config.CopyFrom(json_payload(v.config))
    if v.connected_at:
        set_time(info.connected_at, v.connected_at)
    return info
