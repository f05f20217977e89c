"""Following a workflow's event stream to its end, resuming after broken streams.

The server's contract: if an ExecuteWorkflow or WatchWorkflow stream breaks,
resume with WatchWorkflow(after_seq = last seq seen); events are persisted, so
nothing is lost. :func:`follow_events` does that and drops duplicates by seq.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass

from dwe.clients.errors import UnavailableError
from dwe.clients.events import EVENT_NAMES, TERMINAL_EVENTS
from dwe.clients.typed import DweClient
from dwe.common.backoff import backoff_delay
from dwe.common.enums import WorkflowState
from dwe.v1 import workflow_pb2

__all__ = ["ReconnectPolicy", "follow_events"]

_TERMINAL_TYPES = frozenset(t for t, name in EVENT_NAMES.items() if name in TERMINAL_EVENTS)


@dataclass(frozen=True)
class ReconnectPolicy:
    """How hard to try when an event stream breaks.

    Attributes:
        attempts: Reconnects in a row without a new event before giving up;
            0 disables resuming.
        initial_delay: Seconds before the first reconnect.
        max_delay: Cap of the doubling delay (no jitter: one client, no herd).
    """

    attempts: int = 5
    initial_delay: float = 0.25
    max_delay: float = 5.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before reconnect number ``failures`` (1-based)."""
        return backoff_delay(max(failures, 1), self.initial_delay, 2.0, self.max_delay)


async def follow_events(
    client: DweClient,
    workflow_id: str,
    first: Callable[[], AsyncGenerator[workflow_pb2.WorkflowEvent, None]],
    *,
    after_seq: int = 0,
    policy: ReconnectPolicy = ReconnectPolicy(),
    starts_workflow: bool = False,
) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
    """Yields a workflow's events in seq order until the terminal one.

    Args:
        client: The client to reconnect with.
        workflow_id: The workflow followed.
        first: Opens the initial stream (ExecuteWorkflow or WatchWorkflow).
        after_seq: Events with seq <= this are skipped.
        policy: Reconnect policy for UNAVAILABLE errors and streams that end
            before the terminal event.
        starts_workflow: ``first`` also starts the workflow (ExecuteWorkflow):
            when it breaks before any event and the workflow is still PENDING,
            it is opened again instead of watching.

    Raises:
        UnavailableError: The stream could not be resumed within the policy.
        DweError: Any other error of the stream.
    """
    last = after_seq
    failures = 0
    while True:
        try:
            opener = await _opener(client, workflow_id, first, last, failures, starts_workflow)
            async with aclosing(opener()) as stream:
                async for event in stream:
                    if event.seq and event.seq <= last:
                        continue
                    last = max(last, event.seq)
                    failures = 0
                    yield event
                    if event.type in _TERMINAL_TYPES:
                        return
            problem = UnavailableError(
                f"event stream of workflow {workflow_id} ended before the workflow did"
            )
        except UnavailableError as err:
            problem = err
        failures += 1
        if failures > policy.attempts:
            raise problem
        await asyncio.sleep(policy.delay(failures))


async def _opener(
    client: DweClient,
    workflow_id: str,
    first: Callable[[], AsyncGenerator[workflow_pb2.WorkflowEvent, None]],
    last: int,
    failures: int,
    starts_workflow: bool,
) -> Callable[[], AsyncGenerator[workflow_pb2.WorkflowEvent, None]]:
    """The stream to open: ``first`` at first, then WatchWorkflow after ``last``.

    A start stream that broke before any event is reopened only while the
    workflow is still PENDING, so it is never started twice.
    """
    if failures == 0:
        return first
    if starts_workflow and last == 0:
        status = await client.get_workflow_status(workflow_id)
        if WorkflowState.from_proto(status.state) is WorkflowState.PENDING:
            return first
    return lambda: client.watch_workflow(workflow_id, last)
