"""CreateWorkflow input -> domain spec, rejecting bad input with messages that say where."""

from __future__ import annotations

import math
from typing import Any

import orjson
from google.protobuf.duration_pb2 import Duration

from dwe.common.graph import find_cycle
from dwe.v1 import common_pb2, workflow_pb2

from ..engine.model import JSON_ENCODING, StepSpec, Transformation, WorkflowSpec
from ..engine.transforms import TransformError, check_transformation
from .limits import cycle_path, quote
from .wire import MODES_IN, PRIORITIES_IN

MAX_STEPS = 100_000
MAX_RETRIES = 100
MAX_ID_LENGTH = 200


class ValidationError(ValueError):
    """Bad input; the message names the field or step. Maps to INVALID_ARGUMENT."""


def check_length(value: str, field: str, limit: int = MAX_ID_LENGTH, where: str = "") -> None:
    """Reject a string longer than ``limit`` characters, quoting its start."""
    if len(value) > limit:
        prefix = f"{where}: " if where else ""
        raise ValidationError(f"{prefix}{field} is longer than {limit} characters: {quote(value)}")


def decode_json_object(payload: common_pb2.Payload, where: str) -> dict[str, Any]:
    """A json/plain payload holding an object (empty means {})."""
    if payload.encoding not in ("", JSON_ENCODING):
        raise ValidationError(
            f"{where}: encoding {quote(payload.encoding)} is not supported here"
            f" (use {JSON_ENCODING!r})"
        )
    if not payload.data:
        return {}
    try:
        value = orjson.loads(payload.data)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: must be a JSON object, got {type(value).__name__}")
    return value


def _seconds(msg: Any, field: str, where: str) -> float | None:
    if not msg.HasField(field):
        return None
    d: Duration = getattr(msg, field)
    value = d.seconds + d.nanos / 1e9
    if value < 0 or math.isinf(value):
        raise ValidationError(f"{where}: {field} must not be negative")
    return value


def _enum(table: dict[int, Any], value: int, enum_name: str, where: str) -> Any:
    try:
        return table[value]
    except KeyError:
        raise ValidationError(f"{where}: unknown {enum_name} value {value}") from None


def step_from_proto(msg: workflow_pb2.StepSpec, index: int) -> StepSpec:
    where = f"steps[{index}]" + (f" ({quote(msg.step_id)})" if msg.step_id else "")
    check_length(msg.step_id, "step_id", where=where)
    for d_index, dep in enumerate(msg.dependencies):
        check_length(dep, f"dependencies[{d_index}]", where=where)
    if not msg.capability:
        raise ValidationError(f"{where}: agent_capability is empty (StepSpec.capability)")
    if msg.retry_count < 0:
        raise ValidationError(f"{where}: retry_count {msg.retry_count} must not be negative")
    if msg.retry_count > MAX_RETRIES:
        raise ValidationError(f"{where}: retry_count {msg.retry_count} exceeds {MAX_RETRIES}")
    if msg.pipeline_batch_size < 0:
        raise ValidationError(f"{where}: pipeline_batch_size must not be negative")
    coefficient = msg.backoff_coefficient
    if math.isnan(coefficient) or math.isinf(coefficient) or (coefficient != 0 and coefficient < 1):
        raise ValidationError(f"{where}: backoff_coefficient must be 0 (default 2.0) or at least 1")
    transformations = []
    for t_index, t in enumerate(msg.data_transformations):
        t_where = f"{where}: data_transformations[{t_index}]"
        params = decode_json_object(t.params, t_where)
        try:
            check_transformation(t.type, params)
        except TransformError as exc:
            raise ValidationError(f"{t_where}: {exc}") from None
        transformations.append(Transformation(t.type, params))
    retry_delay = _seconds(msg, "retry_delay", where)
    timeout = _seconds(msg, "timeout", where)
    return StepSpec(
        step_id=msg.step_id,
        name=msg.name or msg.step_id,
        description=msg.description,
        agent_type=msg.agent_type,
        capability=msg.capability,
        dependencies=tuple(msg.dependencies),
        timeout=timeout or None,
        retry_count=msg.retry_count,
        retry_delay=1.0 if retry_delay is None else retry_delay,
        backoff_coefficient=msg.backoff_coefficient or 2.0,
        max_retry_delay=_seconds(msg, "max_retry_delay", where),
        estimated_duration=_seconds(msg, "estimated_duration", where) or 0.0,
        transformations=tuple(transformations),
        optional=msg.optional,
        schedule_to_start_timeout=_seconds(msg, "schedule_to_start_timeout", where) or None,
        pipeline_batch_size=msg.pipeline_batch_size,
    )


def spec_from_proto(msg: workflow_pb2.WorkflowSpec, default_timeout: float = 0.0) -> WorkflowSpec:
    """Validate a WorkflowSpec completely; raise ValidationError on the first problem."""
    if not msg.name.strip():
        raise ValidationError("spec.name is empty")
    if len(msg.steps) > MAX_STEPS:
        raise ValidationError(f"spec.steps: {len(msg.steps)} steps exceed the limit of {MAX_STEPS}")
    if msg.max_parallel_steps < 0:
        raise ValidationError("spec.max_parallel_steps must not be negative")
    priority = _enum(PRIORITIES_IN, msg.priority, "WorkflowPriority", "spec.priority")
    mode = _enum(MODES_IN, msg.execution_mode, "ExecutionMode", "spec.execution_mode")
    context = decode_json_object(msg.context, "spec.context")
    steps = tuple(step_from_proto(s, i) for i, s in enumerate(msg.steps))
    check_graph(steps)
    timeout = _seconds(msg, "default_timeout", "spec") or default_timeout or None
    return WorkflowSpec(
        name=msg.name,
        description=msg.description,
        steps=steps,
        priority=priority,
        mode=mode,
        context=context,
        max_parallel_steps=msg.max_parallel_steps,
        default_timeout=timeout,
        labels=dict(msg.labels),
    )


def check_graph(steps: tuple[StepSpec, ...]) -> None:
    """No steps, empty or duplicate ids, unknown, self or repeated dependencies, cycles.

    The checks of ``dwe.common.graph.check_steps``, with every id quoted short.
    """
    if not steps:
        raise ValidationError("workflow has no steps")
    seen: dict[str, int] = {}
    for index, step in enumerate(steps):
        if not step.step_id:
            raise ValidationError(f"steps[{index}]: step_id is empty")
        first = seen.setdefault(step.step_id, index)
        if first != index:
            raise ValidationError(
                f"steps[{index}]: duplicate step_id {quote(step.step_id)} (first at steps[{first}])"
            )
    for step in steps:
        where = f"step {quote(step.step_id)}"
        for dep in step.dependencies:
            if dep not in seen:
                raise ValidationError(f"{where}: unknown dependency {quote(dep)}")
            if dep == step.step_id:
                raise ValidationError(f"{where} depends on itself")
        if len(set(step.dependencies)) != len(step.dependencies):
            raise ValidationError(f"{where}: dependency listed twice")
    cycle = find_cycle({s.step_id: s.dependencies for s in steps})
    if cycle:
        raise ValidationError("dependency cycle: " + cycle_path(cycle))
