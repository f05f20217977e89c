"""The guide's enums as lowercase string enums, with mappings to the dwe.v1 protos.

Each enum accepts its value (``"high"``), its name in any case (``"HIGH"``), the
proto name (``"WORKFLOW_PRIORITY_HIGH"``) or the proto number via :meth:`parse`.
"""

from __future__ import annotations

import functools
from enum import Enum, StrEnum
from typing import Any, Self

from dwe.common.errors import ValidationError
from dwe.v1 import enums_pb2

__all__ = [
    "AgentCapability",
    "ExecutionMode",
    "StepState",
    "WorkflowPriority",
    "WorkflowState",
    "capability_value",
]


@functools.cache
def _numbers(cls: type[_ProtoEnum]) -> tuple[dict[Any, int], dict[int, Any]]:
    """(member -> proto number, proto number -> member) of an enum, made once: the
    guide API converts several per workflow and per event."""
    proto, prefix = cls._proto_enum(), cls._proto_prefix()
    out = {m: int(proto.Value(prefix + m.name)) for m in cls}
    return out, {n: m for m, n in out.items()}


class _ProtoEnum(StrEnum):
    """A str enum whose members map one to one to a proto enum's values."""

    @classmethod
    def _proto_prefix(cls) -> str:
        raise NotImplementedError

    @classmethod
    def _proto_enum(cls) -> Any:
        raise NotImplementedError

    def to_proto(self) -> int:
        """Returns the proto enum number of this member."""
        return _numbers(type(self))[0][self]

    @classmethod
    def from_proto(cls, number: int) -> Self | None:
        """Maps a proto enum number to a member; None for UNSPECIFIED or unknown numbers."""
        return _numbers(cls)[1].get(number)

    @classmethod
    def parse(cls, value: object) -> Self:
        """Converts a member, its value or name (any case), or a proto number.

        Raises:
            ValidationError: The value names no member of this enum.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            member = cls.from_proto(value)
            if member is not None:
                return member
        elif isinstance(value, str):
            key = value.strip().upper().removeprefix(cls._proto_prefix())
            if key in cls.__members__:
                return cls.__members__[key]
        allowed = ", ".join(m.value for m in cls)
        raise ValidationError(f"unknown {cls._label()} {value!r}; expected one of: {allowed}")

    @classmethod
    def _label(cls) -> str:
        return "".join(f" {c.lower()}" if c.isupper() else c for c in cls.__name__).strip()


class WorkflowPriority(_ProtoEnum):
    """Dispatch order across workflows when agents are scarce."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    BACKGROUND = "background"

    @classmethod
    def _proto_prefix(cls) -> str:
        return "WORKFLOW_PRIORITY_"

    @classmethod
    def _proto_enum(cls) -> Any:
        return enums_pb2.WorkflowPriority


class ExecutionMode(_ProtoEnum):
    """How a workflow's ready steps are released to agents."""

    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    ADAPTIVE = "adaptive"
    PIPELINE = "pipeline"

    @classmethod
    def _proto_prefix(cls) -> str:
        return "EXECUTION_MODE_"

    @classmethod
    def _proto_enum(cls) -> Any:
        return enums_pb2.ExecutionMode


class WorkflowState(_ProtoEnum):
    """Lifecycle of a workflow run."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        """True for COMPLETED, FAILED, CANCELLED and TIMED_OUT."""
        return self in _TERMINAL

    @classmethod
    def _proto_prefix(cls) -> str:
        return "WORKFLOW_STATE_"

    @classmethod
    def _proto_enum(cls) -> Any:
        return enums_pb2.WorkflowState


_TERMINAL = frozenset(
    {
        WorkflowState.COMPLETED,
        WorkflowState.FAILED,
        WorkflowState.CANCELLED,
        WorkflowState.TIMED_OUT,
    }
)


class StepState(_ProtoEnum):
    """Lifecycle of one step; RETRY_WAIT sits between attempts."""

    PENDING = "pending"
    READY = "ready"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    RETRY_WAIT = "retry_wait"

    @classmethod
    def _proto_prefix(cls) -> str:
        return "STEP_STATE_"

    @classmethod
    def _proto_enum(cls) -> Any:
        return enums_pb2.StepState


class AgentCapability(StrEnum):
    """The well-known capabilities; custom capability strings are allowed too."""

    DATA_FETCH = "data_fetch"
    ANALYSIS = "analysis"
    MEMORY = "memory"
    RECOMMENDATION = "recommendation"
    COORDINATION = "coordination"
    VALIDATION = "validation"
    TRANSFORMATION = "transformation"
    NOTIFICATION = "notification"


def capability_value(value: object, *, where: str = "capability") -> str:
    """Returns the wire string of a capability given as an enum member or a string.

    Args:
        value: An :class:`AgentCapability` or a non-empty string (custom
            capabilities are allowed).
        where: Names the field in error messages.

    Raises:
        ValidationError: The value is not a string or is empty.
    """
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where} must be a non-empty string, got {value!r}")
    return value.strip()
