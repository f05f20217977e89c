"""The ExecuteWorkflows stream a client keeps while it follows workflows, and the
single ExecuteWorkflow call a lone execution uses, behind one interface.

Each follower (one ``execute_workflow`` caller) has a queue; the stream puts into
it, in order: the stream itself, then lists of its workflow's events, then an
error to raise or None when the stream is over (the follower then resumes with
WatchWorkflow after the last seq it saw). A shared stream stays open while it has
followers: each turn's new executions go out as one message on it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import TypeAlias

from dwe.clients.errors import from_status
from dwe.clients.typed import DweClient
from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import workflow_pb2

__all__ = ["Follower", "Inbox", "Item", "Stream"]

#: What a follower's queue receives (see the module's doc).
Item: TypeAlias = "Stream | list[workflow_pb2.WorkflowEvent] | BaseException | None"
#: A follower's request and queue.
Follower: TypeAlias = "tuple[rr.ExecuteWorkflowRequest, Inbox]"
#: One message of a stream: the errors of items that did not start, and events.
Message = tuple[Sequence[rr.ItemError], Sequence[workflow_pb2.WorkflowEvent]]


class Inbox:
    """A follower's queue: items in order and at most one reader waiting.

    Each execution has one, so it is lighter than ``asyncio.Queue`` (which makes
    three deques and an Event): a deque and, while its reader waits, one future.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Item) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Item:
        """The next item, waiting for one."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def drain(self) -> list[Item]:
        """Every item not read yet, taken out."""
        items = list(self._items)
        self._items.clear()
        return items


class Stream:
    """One call routing its events to each workflow's follower."""

    def __init__(self, client: DweClient, single: bool = False) -> None:
        self._client = client
        self.single = single  # ExecuteWorkflow for one follower, else ExecuteWorkflows
        self.open = True  # takes more followers (a shared stream only)
        self._queues: dict[str, Inbox] = {}
        self._outbox: asyncio.Queue[list[rr.ExecuteWorkflowRequest]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def follows(self, workflow_id: str) -> bool:
        return workflow_id in self._queues

    def add(self, followers: dict[str, Follower]) -> None:
        """Start and follow these workflows on this stream (one message)."""
        assert self.open, "a closed stream takes no followers"
        self._queues.update((wid, queue) for wid, (_, queue) in followers.items())
        self._outbox.put_nowait([request for request, _ in followers.values()])

    def leave(self, workflow_id: str) -> None:
        """A follower is done; the call ends once none is left."""
        self._queues.pop(workflow_id, None)
        if not self._queues:
            self.open = False
            if self._task is not None and not self._task.done():
                self._task.cancel()

    async def run(self) -> None:
        self._task = asyncio.current_task()
        queues = self._queues
        ended: BaseException | None = None  # None: followers resume from their last seq
        try:
            async for errors, events in self._messages():
                for err in errors:
                    queue = queues.get(err.workflow_id)
                    if queue is not None:
                        queue.put_nowait(from_status(err.code, err.message))
                for wid, mine in _by_workflow(events).items():
                    queue = queues.get(wid)
                    if queue is not None:
                        queue.put_nowait(mine)
        except asyncio.CancelledError:
            ended = None  # every follower left (or the loop is closing)
        except Exception as exc:  # the call failed: each follower raises it (or resumes)
            ended = exc
        self.open = False
        for queue in list(queues.values()):
            queue.put_nowait(ended)

    async def _messages(self) -> AsyncGenerator[Message, None]:
        if self.single:  # any server has the single call
            (request,) = await self._outbox.get()
            context = request.context if request.HasField("context") else None
            single = self._client.execute_workflow(request.workflow_id, context, request.session_id)
            async with aclosing(single) as events:
                async for event in events:
                    yield (), (event,)
            return
        responses = self._client.execute_workflows(self._requests())
        async with aclosing(responses):
            async for response in responses:
                yield response.errors, response.events

    async def _requests(self) -> AsyncGenerator[list[rr.ExecuteWorkflowRequest], None]:
        while True:
            yield await self._outbox.get()


def _by_workflow(
    events: Sequence[workflow_pb2.WorkflowEvent],
) -> dict[str, list[workflow_pb2.WorkflowEvent]]:
    grouped: dict[str, list[workflow_pb2.WorkflowEvent]] = {}
    for event in events:
        wid = event.workflow_id
        found = grouped.get(wid)
        if found is None:
            grouped[wid] = [event]
        else:
            found.append(event)
    return grouped
