"""Runs handlers for assignments and turns their outcome into results."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from dwe.agent_sdk import codec, telemetry
from dwe.agent_sdk.errors import error_info, too_large_message
from dwe.agent_sdk.outbox import Outbox
from dwe.agent_sdk.running import RunningAttempt, RunningRegistry
from dwe.agent_sdk.task import Task
from dwe.v1 import agent_pb2, common_pb2

logger = logging.getLogger("dwe.agent_sdk")

HandlerFn = Callable[[Task], Any] | Callable[[Task], Awaitable[Any]]

COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
_SKIPPED: Any = object()


@dataclass(frozen=True, slots=True)
class Handler:
    """A registered handler and whether it is a coroutine function."""

    fn: HandlerFn
    is_async: bool


class Executor:
    """Dispatches assignments to handlers; owns nothing that a reconnect resets."""

    def __init__(
        self,
        *,
        agent_id: str,
        handlers: dict[str, Handler],
        outbox: Outbox,
        registry: RunningRegistry,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        self.agent_id = agent_id
        self.handlers = handlers
        self.outbox = outbox
        self.registry = registry
        self.pool = pool
        self.config: dict[str, Any] = {}
        self.accepting = True
        self._loop = asyncio.get_running_loop()

    def dispatch(self, assignment: agent_pb2.Assignment) -> None:
        """Start the handler for one assignment (ignored while not accepting)."""
        attempt_id = assignment.attempt_id
        if not self.accepting:
            # Unstarted: the server reassigns it when this stream closes.
            logger.debug("not accepting work, ignoring attempt %s", attempt_id)
            return
        if attempt_id in self.registry:
            logger.debug("duplicate assignment of attempt %s ignored", attempt_id)
            return
        handler = self.handlers.get(assignment.capability)
        if handler is None:
            logger.warning(
                "no handler for capability %r (attempt %s, step %s)",
                assignment.capability,
                attempt_id,
                assignment.step_id,
            )
            error = common_pb2.ErrorInfo(
                message=f"agent {self.agent_id} has no handler for {assignment.capability!r}",
                type="UnknownCapability",
                retryable=True,
            )
            self.outbox.add_result(agent_pb2.StepResult(attempt_id=attempt_id, error=error))
            return
        task = Task(
            assignment,
            outbox=self.outbox,
            loop=self._loop,
            config=self.config,
            agent_id=self.agent_id,
        )
        entry = RunningAttempt(task, is_async=handler.is_async)
        self.registry.add(entry)
        entry.runner = self._loop.create_task(self._run(entry, handler))

    async def _run(self, entry: RunningAttempt, handler: Handler) -> None:
        task = entry.task
        try:
            if not telemetry.tracing_enabled():
                await self._execute(task, handler)
                return
            a = task.assignment
            with telemetry.tracer.start_as_current_span(
                f"dwe.handler {task.capability}",
                context=telemetry.parent_context(a.traceparent, a.tracestate),
                kind=SpanKind.CONSUMER,
                attributes={
                    "dwe.workflow_id": task.workflow_id,
                    "dwe.step_id": task.step_id,
                    "dwe.attempt": task.attempt,
                    "dwe.agent_id": self.agent_id,
                    "dwe.capability": task.capability,
                },
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                outcome, exc = await self._execute(task, handler)
                span.set_attribute("dwe.outcome", outcome)
                if exc is not None:
                    span.record_exception(exc)
                    span.set_status(StatusCode.ERROR, str(exc))
        finally:
            self.registry.remove(task.attempt_id)

    async def _execute(self, task: Task, handler: Handler) -> tuple[str, BaseException | None]:
        """Run the handler and queue its result; returns (outcome, exception)."""
        try:
            if handler.is_async:
                self.outbox.add_started(task.attempt_id)
                task.mark_started()
                value = await handler.fn(task)  # type: ignore[misc]
            else:
                ctx = contextvars.copy_context()
                value = await self._loop.run_in_executor(
                    self.pool, ctx.run, self._call_sync, handler.fn, task
                )
        except asyncio.CancelledError:
            if not task.cancelled:
                raise  # the agent itself is aborting
            logger.debug("attempt %s cancelled", task.attempt_id)
            return self._ack_cancel(task), None
        except Exception as exc:
            if task.cancelled:
                return self._ack_cancel(task), None
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("attempt %s failed", task.attempt_id, exc_info=exc)
            err = error_info(exc)
            failed = agent_pb2.StepResult(attempt_id=task.attempt_id, error=err)
            _set_duration(failed, task)
            self.outbox.add_result(failed, len(err.message))
            return FAILED, exc
        if task.cancelled or value is _SKIPPED:
            return self._ack_cancel(task), None
        try:
            data = codec.dumps(value)
        except TypeError as exc:
            err = common_pb2.ErrorInfo(
                message=f"handler output is not JSON-serialisable: {exc}",
                type="TypeError",
                retryable=False,
            )
            self.outbox.add_result(agent_pb2.StepResult(attempt_id=task.attempt_id, error=err))
            return FAILED, exc
        limit = self.outbox.max_payload
        if limit and len(data) > limit:
            err = common_pb2.ErrorInfo(
                message=too_large_message("the handler's output", len(data), limit),
                type="PayloadTooLarge",
                retryable=False,
            )
            self.outbox.add_result(agent_pb2.StepResult(attempt_id=task.attempt_id, error=err))
            return FAILED, None
        result = agent_pb2.StepResult(
            attempt_id=task.attempt_id,
            output=common_pb2.Payload(encoding=codec.JSON_ENCODING, data=data),
        )
        _set_duration(result, task)
        self.outbox.add_result(result, len(data))
        return COMPLETED, None

    def _ack_cancel(self, task: Task) -> str:
        """Tell the server the cancelled handler has ended, so it frees the slot.

        The server ignores the error itself (the attempt is no longer current);
        until this arrives it counts the attempt against max_concurrent_tasks.
        """
        err = common_pb2.ErrorInfo(message="cancelled", type="Cancelled", retryable=False)
        self.outbox.add_result(agent_pb2.StepResult(attempt_id=task.attempt_id, error=err))
        return CANCELLED

    def _call_sync(self, fn: Callable[[Task], Any], task: Task) -> Any:
        """Runs in a pool thread."""
        if task.cancelled:
            return _SKIPPED
        self._loop.call_soon_threadsafe(self.outbox.add_started, task.attempt_id)
        task.mark_started()
        return fn(task)


def _set_duration(result: agent_pb2.StepResult, task: Task) -> None:
    """The handler's own run time, so the server reports it rather than arrival gaps."""
    seconds = task.run_seconds()
    if seconds:
        result.duration.FromNanoseconds(int(seconds * 1e9))
