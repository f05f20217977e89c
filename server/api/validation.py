"""CreateWorkflow input -> domain spec, rejecting bad input with messages that say where."""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf.duration_pb2 import Duration

from dwe.common.graph import GraphError, check_steps
from dwe.v1 import common_pb2, workflow_pb2

from ..engine.model import JSON_ENCODING, StepSpec, Transformation, WorkflowSpec
from ..engine.transforms import TransformError, check_transformation
from .limits import (
    MAX_BACKOFF_COEFFICIENT,
    MAX_DURATION,
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_LABEL_KEY_LENGTH,
    MAX_LABEL_VALUE_LENGTH,
    MAX_LABELS,
    MAX_NAME_LENGTH,
    MAX_PIPELINE_BATCH,
    MAX_RETRIES,
    MAX_STEPS,
    MAX_TEXT_LENGTH,
    MAX_TRANSFORMATIONS,
    cycle_path,
    quote,
    size_text,
)
from .wire import MODES_IN, PRIORITIES_IN

_NS = 1_000_000_000


class ValidationError(ValueError):
    """Bad input; the message names the field or step. Maps to INVALID_ARGUMENT."""


class TooLarge(ValidationError):
    """A payload over the server's payload limit. Maps to RESOURCE_EXHAUSTED."""


def check_payload_size(payload: common_pb2.Payload, where: str, max_bytes: int) -> None:
    """Refuse a payload whose data is over ``max_bytes`` (0: no limit)."""
    size = len(payload.data)
    if max_bytes and size > max_bytes:
        raise TooLarge(
            f"{where} is {size_text(size)} ({size} bytes), over the payload limit of"
            f" {size_text(max_bytes)} ({max_bytes} bytes, --max-payload-bytes)"
        )


def check_length(value: str, field: str, limit: int = MAX_ID_LENGTH, where: str = "") -> None:
    """Reject a string longer than ``limit`` characters, quoting its start."""
    if len(value) > limit:
        prefix = f"{where}: " if where else ""
        raise ValidationError(f"{prefix}{field} is longer than {limit} characters: {quote(value)}")


def check_id(value: str, field: str, where: str = "") -> None:
    """An id: at most MAX_ID_LENGTH characters and no control characters."""
    check_length(value, field, MAX_ID_LENGTH, where)
    if not value.isprintable() and any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        prefix = f"{where}: " if where else ""
        raise ValidationError(f"{prefix}{field} contains a control character: {quote(value)}")


def check_count(value: int, field: str, limit: int, where: str = "") -> None:
    """A count from 0 to ``limit``."""
    if 0 <= value <= limit:
        return
    prefix = f"{where}: " if where else ""  # only now: ``where`` may format lazily
    if value < 0:
        raise ValidationError(f"{prefix}{field} {value} must not be negative")
    raise ValidationError(f"{prefix}{field} {value} exceeds the maximum of {limit}")


def check_labels(labels: Any, field: str, where: str = "") -> dict[str, str]:
    """A label map: at most MAX_LABELS entries, keys and values of bounded length."""
    prefix = f"{where}: " if where else ""
    if len(labels) > MAX_LABELS:
        raise ValidationError(
            f"{prefix}{field}: {len(labels)} labels exceed the maximum of {MAX_LABELS}"
        )
    for key, value in labels.items():
        if not key:
            raise ValidationError(f"{prefix}{field}: a label key is empty")
        check_length(key, f"{field} key", MAX_LABEL_KEY_LENGTH, where)
        check_length(value, f"{field}[{quote(key)}]", MAX_LABEL_VALUE_LENGTH, where)
    return dict(labels)


def duration_seconds(d: Duration, where: str, limit: float = MAX_DURATION) -> float:
    """A Duration from 0 to ``limit`` seconds; ``where`` names the field."""
    if not -_NS < d.nanos < _NS or (d.seconds > 0 > d.nanos) or (d.seconds < 0 < d.nanos):
        raise ValidationError(
            f"{where} is not a valid Duration (seconds={d.seconds}, nanos={d.nanos}):"
            " nanos must be within ±999,999,999 and have the sign of seconds"
        )
    if d.seconds < 0 or d.nanos < 0:
        raise ValidationError(f"{where} must not be negative")
    value = d.seconds + d.nanos / _NS
    if value > limit:
        raise ValidationError(
            f"{where} of {value:.0f} s exceeds the maximum of {limit:.0f} s"
            f" ({limit / 86400:g} days)"
        )
    return value


def decode_json_object(
    payload: common_pb2.Payload, where: str, max_bytes: int = 0
) -> dict[str, Any]:
    """A json/plain payload holding an object (empty means {}) of at most ``max_bytes``."""
    check_payload_size(payload, where, max_bytes)
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
    # Only a value with more brackets than the limit can be nested that deep.
    brackets = payload.data.count(b"{") + payload.data.count(b"[")
    if brackets > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise ValidationError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Levels of nested objects and arrays (iterative: any depth orjson reads)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _seconds(msg: Any, field: str, where: str) -> float | None:
    if not msg.HasField(field):
        return None
    return duration_seconds(getattr(msg, field), f"{where}: {field}")


def _enum(table: dict[int, Any], value: int, enum_name: str, where: str) -> Any:
    try:
        return table[value]
    except KeyError:
        raise ValidationError(f"{where}: unknown {enum_name} value {value}") from None


def _check_step(msg: workflow_pb2.StepSpec, where: str) -> None:
    check_id(msg.step_id, "step_id", where)
    check_length(msg.name, "name", MAX_NAME_LENGTH, where)
    check_length(msg.description, "description", MAX_TEXT_LENGTH, where)
    check_id(msg.agent_type, "agent_type", where)
    if not msg.capability:
        raise ValidationError(f"{where}: agent_capability is empty (StepSpec.capability)")
    check_id(msg.capability, "capability", where)
    for d_index, dep in enumerate(msg.dependencies):
        check_id(dep, f"dependencies[{d_index}]", where)
    if msg.retry_count < 0:
        raise ValidationError(f"{where}: retry_count {msg.retry_count} must not be negative")
    if msg.retry_count > MAX_RETRIES:
        raise ValidationError(f"{where}: retry_count {msg.retry_count} exceeds {MAX_RETRIES}")
    check_count(msg.pipeline_batch_size, "pipeline_batch_size", MAX_PIPELINE_BATCH, where)
    coefficient = msg.backoff_coefficient
    if not (coefficient == 0 or 1 <= coefficient <= MAX_BACKOFF_COEFFICIENT):  # NaN fails both
        raise ValidationError(
            f"{where}: backoff_coefficient {coefficient} must be 0 (default 2.0)"
            f" or from 1 to {MAX_BACKOFF_COEFFICIENT:g}"
        )
    check_count(
        len(msg.data_transformations), "number of data_transformations", MAX_TRANSFORMATIONS, where
    )


def _transformations(msg: workflow_pb2.StepSpec, where: str) -> tuple[Transformation, ...]:
    out = []
    for t_index, t in enumerate(msg.data_transformations):
        t_where = f"{where}: data_transformations[{t_index}]"
        check_id(t.type, "type", t_where)
        params = decode_json_object(t.params, t_where)
        try:
            check_transformation(t.type, params)
        except TransformError as exc:
            raise ValidationError(f"{t_where}: {exc}") from None
        out.append(Transformation(t.type, params))
    return tuple(out)


class _Where:
    """``steps[i] ('id')``, made only when an error message needs it (most steps pass)."""

    __slots__ = ("index", "msg")

    def __init__(self, msg: workflow_pb2.StepSpec, index: int) -> None:
        self.msg, self.index = msg, index

    def __format__(self, spec: str) -> str:
        step_id = self.msg.step_id
        return f"steps[{self.index}]" + (f" ({quote(step_id)})" if step_id else "")

    def __str__(self) -> str:
        return self.__format__("")


def step_from_proto(msg: workflow_pb2.StepSpec, index: int) -> StepSpec:
    where: Any = _Where(msg, index)
    step_id, capability, dependencies = msg.step_id, msg.capability, tuple(msg.dependencies)
    if not _plain_step(msg, step_id, capability, dependencies):
        _check_step(msg, where)  # raises for what the plain check doubted, naming it
    transformations = _transformations(msg, where) if msg.data_transformations else ()
    retry_delay = _seconds(msg, "retry_delay", where)
    timeout = _seconds(msg, "timeout", where)
    return StepSpec(
        step_id=step_id,
        name=msg.name or step_id,
        description=msg.description,
        agent_type=msg.agent_type,
        capability=capability,
        dependencies=dependencies,
        timeout=timeout or None,
        retry_count=msg.retry_count,
        retry_delay=1.0 if retry_delay is None else retry_delay,
        backoff_coefficient=msg.backoff_coefficient or 2.0,
        max_retry_delay=_seconds(msg, "max_retry_delay", where),
        estimated_duration=_seconds(msg, "estimated_duration", where) or 0.0,
        transformations=transformations,
        optional=msg.optional,
        schedule_to_start_timeout=_seconds(msg, "schedule_to_start_timeout", where) or None,
        pipeline_batch_size=msg.pipeline_batch_size,
    )


def _plain_step(
    msg: workflow_pb2.StepSpec, step_id: str, capability: str, dependencies: tuple[str, ...]
) -> bool:
    """True when every check of ``_check_step`` surely passes (the common case, at C
    speed); False sends the step through ``_check_step``, which names the problem."""
    ids = step_id + capability + msg.agent_type
    longest = max(len(step_id), len(capability), len(msg.agent_type))
    if dependencies:
        ids += "".join(dependencies)
        longest = max(longest, max(map(len, dependencies)))
    coefficient = msg.backoff_coefficient
    return (
        longest <= MAX_ID_LENGTH
        and bool(capability)
        and ids.isprintable()
        and len(msg.name) <= MAX_NAME_LENGTH
        and len(msg.description) <= MAX_TEXT_LENGTH
        and 0 <= msg.retry_count <= MAX_RETRIES
        and 0 <= msg.pipeline_batch_size <= MAX_PIPELINE_BATCH
        and (coefficient == 0 or 1 <= coefficient <= MAX_BACKOFF_COEFFICIENT)
        and len(msg.data_transformations) <= MAX_TRANSFORMATIONS
    )


def spec_from_proto(
    msg: workflow_pb2.WorkflowSpec, default_timeout: float = 0.0, max_payload: int = 0
) -> WorkflowSpec:
    """Validate a WorkflowSpec completely; raise ValidationError on the first problem
    (TooLarge for a context over ``max_payload`` bytes)."""
    if not msg.name.strip():
        raise ValidationError("spec.name is empty")
    check_length(msg.name, "spec.name", MAX_NAME_LENGTH)
    check_length(msg.description, "spec.description", MAX_TEXT_LENGTH)
    if len(msg.steps) > MAX_STEPS:
        raise ValidationError(f"spec.steps: {len(msg.steps)} steps exceed the limit of {MAX_STEPS}")
    check_count(msg.max_parallel_steps, "spec.max_parallel_steps", MAX_STEPS)
    labels = check_labels(msg.labels, "spec.labels")
    priority = _enum(PRIORITIES_IN, msg.priority, "WorkflowPriority", "spec.priority")
    mode = _enum(MODES_IN, msg.execution_mode, "ExecutionMode", "spec.execution_mode")
    context = decode_json_object(msg.context, "spec.context", max_payload)
    steps = tuple(step_from_proto(s, i) for i, s in enumerate(msg.steps))
    check_graph(steps)
    own = (
        duration_seconds(msg.default_timeout, "spec.default_timeout")
        if msg.HasField("default_timeout")
        else 0.0
    )
    timeout = own or default_timeout or None
    return WorkflowSpec(
        name=msg.name,
        description=msg.description,
        steps=steps,
        priority=priority,
        mode=mode,
        context=context,
        max_parallel_steps=msg.max_parallel_steps,
        default_timeout=timeout,
        labels=labels,
    )


def check_graph(steps: tuple[StepSpec, ...]) -> None:
    """No steps, empty or duplicate ids, unknown, self or repeated dependencies, cycles,
    with every id quoted short (``dwe.common.graph.check_steps``)."""
    try:
        check_steps([(s.step_id, s.dependencies) for s in steps], quote, cycle_path)
    except GraphError as exc:
        raise ValidationError(str(exc)) from None
