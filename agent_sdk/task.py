"""The Task a handler receives: one step attempt, its data and its stream."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dwe.agent_sdk import codec
from dwe.agent_sdk.errors import PayloadTooLarge, too_large_message
from dwe.v1 import agent_pb2

if TYPE_CHECKING:
    from dwe.agent_sdk.outbox import Outbox

logger = logging.getLogger("dwe.agent_sdk")

_SENTINEL: Any = object()


class TaskLogAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes messages with the workflow, step and attempt ids."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = self.extra or {}
        return (
            f"[workflow={extra['workflow_id']} step={extra['step_id']} "
            f"attempt={extra['attempt_id']}] {msg}",
            {**kwargs, "extra": {**extra, **kwargs.get("extra", {})}},
        )


class Task:
    """One step attempt as a handler sees it.

    Attributes:
        attempt_id: Unique id of this attempt.
        workflow_id: The workflow run the step belongs to.
        step_id: The step's id in the workflow spec.
        step_name: Human-readable step name.
        description: The step's description.
        capability: The capability that selected the handler.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        config: The registry config for this agent, from Welcome (``{}`` if none).
    """

    __slots__ = (
        "_assignment",
        "_cancelled",
        "_context",
        "_deadline",
        "_inputs",
        "_log",
        "_loop",
        "_outbox",
        "_sent",
        "_started",
        "agent_id",
        "attempt",
        "attempt_id",
        "capability",
        "config",
        "step_id",
        "workflow_id",
    )

    def __init__(
        self,
        assignment: agent_pb2.Assignment,
        *,
        outbox: Outbox,
        loop: asyncio.AbstractEventLoop,
        config: dict[str, Any],
        agent_id: str = "",
    ) -> None:
        self._started = 0.0  # monotonic time the handler began, for the result
        self._assignment = assignment
        self._outbox = outbox
        self._sent = 0  # progress items numbered so far (StepProgress.index)
        self._loop = loop
        self._cancelled = False
        self._context: Any = _SENTINEL
        self._inputs: dict[str, Any] | None = None
        self._deadline: Any = _SENTINEL
        self._log: TaskLogAdapter | None = None
        self.attempt_id: str = assignment.attempt_id
        self.workflow_id: str = assignment.workflow_id
        self.step_id: str = assignment.step_id
        self.capability: str = assignment.capability
        self.attempt: int = assignment.attempt
        self.config = config
        self.agent_id = agent_id

    @property
    def step_name(self) -> str:
        """Human-readable step name."""
        return self._assignment.step_name

    @property
    def description(self) -> str:
        """The step's description."""
        return self._assignment.description

    @property
    def context(self) -> dict[str, Any]:
        """The workflow's effective context, decoded (``{}`` when empty)."""
        if self._context is _SENTINEL:
            self._context = codec.decode(self._assignment.context, {})
        return self._context  # type: ignore[no-any-return]

    @property
    def inputs(self) -> dict[str, Any]:
        """Dependency outputs by step_id (``None`` when empty): a plain dict, decoded when
        first read, that a handler may return or serialise as it is."""
        if self._inputs is None:
            self._inputs = codec.decode_inputs(self._assignment.inputs)
        return self._inputs

    @property
    def deadline(self) -> datetime | None:
        """When the server fails the attempt (UTC), or None when unbounded."""
        if self._deadline is _SENTINEL:
            a = self._assignment
            self._deadline = a.deadline.ToDatetime(tzinfo=UTC) if a.HasField("deadline") else None
        return self._deadline  # type: ignore[no-any-return]

    @property
    def cancelled(self) -> bool:
        """True once the server has cancelled this attempt (poll it in sync handlers)."""
        return self._cancelled

    @property
    def assignment(self) -> agent_pb2.Assignment:
        """The Assignment this task runs, as the server sent it."""
        return self._assignment

    def mark_started(self) -> None:
        """The handler begins now (the SDK calls this; it times the handler)."""
        self._started = time.monotonic()

    def run_seconds(self) -> float:
        """How long the handler has run; 0 before it began."""
        return time.monotonic() - self._started if self._started else 0.0

    def mark_cancelled(self) -> bool:
        """Record the server's cancel (the SDK calls this); False when it already was."""
        if self._cancelled:
            return False
        self._cancelled = True
        return True

    @property
    def log(self) -> logging.LoggerAdapter:  # type: ignore[type-arg]
        """Logger adapter that tags lines with this attempt's ids."""
        if self._log is None:
            self._log = TaskLogAdapter(
                logger,
                {
                    "workflow_id": self.workflow_id,
                    "step_id": self.step_id,
                    "attempt_id": self.attempt_id,
                    "agent_id": self.agent_id,
                },
            )
        return self._log

    def _progress(
        self, content: str, data: Any, has_data: bool
    ) -> tuple[agent_pb2.StepProgress, int]:
        limit = self._outbox.max_payload
        payload = codec.encode(data) if has_data else None
        size = len(content) + (len(payload.data) if payload is not None else 0)
        if limit and size > limit:
            raise PayloadTooLarge(too_large_message("progress", size, limit))
        self._sent += 1
        item = agent_pb2.StepProgress(
            attempt_id=self.attempt_id, content=content, data=payload, index=self._sent
        )
        return item, size

    async def stream(self, content: str, data: Any = None) -> None:
        """Send progress to watchers (an ``agent_stream`` event).

        Waits only when the outgoing buffer is past its high-water mark. Raises
        PayloadTooLarge when content and data are over the server's payload limit.

        Args:
            content: Text for humans.
            data: Optional JSON-able structured data (None sends none).
        """
        item, size = self._progress(content, data, data is not None)
        self._outbox.add_progress(item, size)
        await self._outbox.wait_progress_room()

    async def emit(self, record: Any) -> None:
        """Emit one JSON-able record on the stream (pipeline mode reads these)."""
        item, size = self._progress("", record, True)
        self._outbox.add_progress(item, size)
        await self._outbox.wait_progress_room()

    def stream_sync(self, content: str, data: Any = None) -> None:
        """Thread-safe :meth:`stream` for sync handlers; does not wait."""
        item, size = self._progress(content, data, data is not None)
        self._loop.call_soon_threadsafe(self._outbox.add_progress, item, size)

    def emit_sync(self, record: Any) -> None:
        """Thread-safe :meth:`emit` for sync handlers; does not wait."""
        item, size = self._progress("", record, True)
        self._loop.call_soon_threadsafe(self._outbox.add_progress, item, size)

    def __repr__(self) -> str:
        return (
            f"Task(attempt_id={self.attempt_id!r}, workflow_id={self.workflow_id!r}, "
            f"step_id={self.step_id!r}, capability={self.capability!r}, attempt={self.attempt})"
        )
