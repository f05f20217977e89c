"""Pure conversion of the guide's workflow and step dicts to dwe.v1 protobuf specs.

Everything here is checked client-side before a request is sent: unknown keys,
wrong types and unknown enum values raise :class:`ValidationError` naming the
step and the key. Graph checks (duplicate ids, unknown dependencies, cycles)
and transformation semantics are the server's job, so there is one source of
truth for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from dwe.common.enums import ExecutionMode, WorkflowPriority, capability_value
from dwe.common.errors import ValidationError
from dwe.common.wire import duration_from_seconds, encode_json
from dwe.v1 import enums_pb2, workflow_pb2

__all__ = [
    "DEFAULT_MAX_TASKS",
    "STEP_KEYS",
    "WORKFLOW_KEYS",
    "build_step_spec",
    "build_workflow_spec",
    "workflow_spec_from_dict",
]

#: An agent's max_concurrent_tasks when its registration gives none (the guide's default).
DEFAULT_MAX_TASKS = 5

# Step keys whose value is a number of seconds -> the StepSpec Duration field.
_DURATION_KEYS = {
    "timeout_seconds": "timeout",
    "retry_delay": "retry_delay",
    "max_retry_delay": "max_retry_delay",
    "estimated_duration": "estimated_duration",
    "schedule_to_start_timeout": "schedule_to_start_timeout",
}
_STRING_KEYS = ("step_id", "name", "description", "agent_type")
_COUNT_KEYS = ("retry_count", "pipeline_batch_size")

STEP_KEYS = frozenset(
    {
        *_STRING_KEYS,
        *_DURATION_KEYS,
        *_COUNT_KEYS,
        "agent_capability",
        "dependencies",
        "backoff_coefficient",
        "data_transformations",
        "optional",
    }
)

WORKFLOW_KEYS = frozenset(
    {
        "name",
        "description",
        "steps",
        "priority",
        "execution_mode",
        "context",
        "max_parallel_steps",
        "default_timeout",
        "labels",
    }
)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{where} must be an integer >= 0, got {value!r}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a string, got {value!r}")
    return value


def _transformation(item: Any, where: str) -> workflow_pb2.DataTransformation:
    if not isinstance(item, Mapping):
        raise ValidationError(f"{where} must be a dict with a 'type', got {item!r}")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValidationError(f"{where} needs a non-empty string 'type'")
    params = {k: v for k, v in item.items() if k != "type"}
    return workflow_pb2.DataTransformation(
        type=kind, params=encode_json(params, where=f"{where} params")
    )


def build_step_spec(step: Mapping[str, Any], index: int = 0) -> workflow_pb2.StepSpec:
    """Converts one guide step dict to a ``StepSpec``.

    Args:
        step: A dict with the keys in :data:`STEP_KEYS`. Durations are seconds
            (int, float or ``timedelta``); ``agent_capability`` is a string or an
            :class:`AgentCapability`; each ``data_transformations`` item is a dict
            with a ``type`` whose other keys become the transformation's params.
        index: The step's position, used in error messages when it has no id.

    Raises:
        ValidationError: Unknown keys, wrong types or bad values.
    """
    if not isinstance(step, Mapping):
        raise ValidationError(f"step #{index} must be a dict, got {type(step).__name__}")
    step_id = step.get("step_id")
    label = f"step {step_id!r}" if isinstance(step_id, str) and step_id else f"step #{index}"
    _check_keys(step, label)
    spec = workflow_pb2.StepSpec()
    _set_scalars(spec, step, label)
    _set_dependencies(spec, step.get("dependencies"), label)
    _set_backoff_coefficient(spec, step.get("backoff_coefficient"), label)
    _set_transformations(spec, step.get("data_transformations"), label)
    optional = step.get("optional")
    if optional is not None:
        if not isinstance(optional, bool):
            raise ValidationError(f"{label}: optional must be true or false")
        spec.optional = optional
    return spec


def _check_keys(step: Mapping[str, Any], label: str) -> None:
    unknown = sorted(str(k) for k in step if k not in STEP_KEYS)
    if unknown:
        raise ValidationError(
            f"{label}: unknown key {unknown[0]!r}"
            + (f" (and {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else "")
            + f"; allowed keys: {', '.join(sorted(STEP_KEYS))}"
        )


def _set_scalars(spec: workflow_pb2.StepSpec, step: Mapping[str, Any], label: str) -> None:
    """Strings, the capability, durations and counts: the keys that map one to one."""
    for key in _STRING_KEYS:
        if step.get(key) is not None:
            setattr(spec, key, _string(step[key], f"{label}: {key}"))
    if step.get("agent_capability") is not None:
        spec.capability = capability_value(
            step["agent_capability"], where=f"{label}: agent_capability"
        )
    for key, field in _DURATION_KEYS.items():
        if step.get(key) is not None:
            getattr(spec, field).CopyFrom(duration_from_seconds(step[key], where=f"{label}: {key}"))
    for key in _COUNT_KEYS:
        if step.get(key) is not None:
            setattr(spec, key, _count(step[key], f"{label}: {key}"))


def _set_dependencies(spec: workflow_pb2.StepSpec, deps: Any, label: str) -> None:
    if deps is None:
        return
    if isinstance(deps, str) or not isinstance(deps, Sequence):
        raise ValidationError(f"{label}: dependencies must be a list of step ids")
    spec.dependencies.extend(_string(d, f"{label}: dependency") for d in deps)


def _set_backoff_coefficient(spec: workflow_pb2.StepSpec, coefficient: Any, label: str) -> None:
    if coefficient is None:
        return
    if isinstance(coefficient, bool) or not isinstance(coefficient, int | float):
        raise ValidationError(f"{label}: backoff_coefficient must be a number")
    if coefficient != 0 and coefficient < 1:
        raise ValidationError(f"{label}: backoff_coefficient must be >= 1, got {coefficient}")
    spec.backoff_coefficient = float(coefficient)


def _set_transformations(spec: workflow_pb2.StepSpec, transformations: Any, label: str) -> None:
    if transformations is None:
        return
    if isinstance(transformations, str | Mapping) or not isinstance(transformations, Sequence):
        raise ValidationError(f"{label}: data_transformations must be a list of dicts")
    spec.data_transformations.extend(
        _transformation(t, f"{label}: data_transformations[{i}]")
        for i, t in enumerate(transformations)
    )


def build_workflow_spec(
    name: str,
    steps: Sequence[Mapping[str, Any]],
    *,
    description: str = "",
    priority: object = WorkflowPriority.MEDIUM,
    execution_mode: object = ExecutionMode.PARALLEL,
    context: Mapping[str, Any] | None = None,
    max_parallel_steps: int = 0,
    default_timeout: float | None = None,
    labels: Mapping[str, str] | None = None,
) -> workflow_pb2.WorkflowSpec:
    """Builds a ``WorkflowSpec`` from the guide's ``create_workflow`` arguments.

    Args:
        name: Display name of the workflow.
        steps: Guide step dicts (see :func:`build_step_spec`).
        description: Free text.
        priority: A :class:`WorkflowPriority` or its name (``"high"``).
        execution_mode: An :class:`ExecutionMode` or its name (``"parallel"``).
        context: JSON object handed to every step.
        max_parallel_steps: Steps running at once; 0 means no limit.
        default_timeout: Seconds bounding the whole run; None for the server's.
        labels: Free-form string key/values.

    Raises:
        ValidationError: A bad argument or step.
    """
    spec = workflow_pb2.WorkflowSpec(
        name=_string(name, "workflow name"),
        description=_string(description or "", "workflow description"),
        # Enum fields take plain numbers; the generated stubs only name the enum type.
        priority=cast(enums_pb2.WorkflowPriority, WorkflowPriority.parse(priority).to_proto()),
        execution_mode=cast(
            enums_pb2.ExecutionMode, ExecutionMode.parse(execution_mode).to_proto()
        ),
        max_parallel_steps=_count(max_parallel_steps or 0, "max_parallel_steps"),
    )
    if isinstance(steps, str | Mapping) or not isinstance(steps, Sequence):
        raise ValidationError("steps must be a list of step dicts")
    spec.steps.extend(build_step_spec(step, i) for i, step in enumerate(steps))
    if context is not None:
        if not isinstance(context, Mapping):
            raise ValidationError("context must be a dict (a JSON object)")
        spec.context.CopyFrom(encode_json(dict(context), where="context"))
    if default_timeout is not None:
        timeout = duration_from_seconds(default_timeout, where="default_timeout")
        spec.default_timeout.CopyFrom(timeout)
    for key, value in (labels or {}).items():
        spec.labels[_string(key, "label key")] = _string(value, f"label {key!r}")
    return spec


def workflow_spec_from_dict(data: Mapping[str, Any]) -> workflow_pb2.WorkflowSpec:
    """Builds a ``WorkflowSpec`` from a whole-workflow dict, e.g. a JSON or YAML file.

    Args:
        data: A dict with the keys in :data:`WORKFLOW_KEYS`; ``name`` and
            ``steps`` are required.

    Raises:
        ValidationError: Unknown or missing keys, or a bad value.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("a workflow must be a JSON/YAML object")
    unknown = sorted(str(k) for k in data if k not in WORKFLOW_KEYS)
    if unknown:
        raise ValidationError(
            f"workflow: unknown key {unknown[0]!r}; "
            f"allowed keys: {', '.join(sorted(WORKFLOW_KEYS))}"
        )
    for required in ("name", "steps"):
        if required not in data:
            raise ValidationError(f"workflow: missing key {required!r}")
    return build_workflow_spec(
        data["name"],
        data["steps"],
        description=data.get("description") or "",
        priority=data.get("priority") or WorkflowPriority.MEDIUM,
        execution_mode=data.get("execution_mode") or ExecutionMode.PARALLEL,
        context=data.get("context"),
        max_parallel_steps=data.get("max_parallel_steps") or 0,
        default_timeout=data.get("default_timeout"),
        labels=data.get("labels"),
    )
