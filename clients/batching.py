"""Many guide calls, few RPCs: creates made together share one CreateWorkflows call,
executions started together share one ExecuteWorkflows stream.

A call joins the batch gathered during the current turn of the event loop; the
batch goes out at the end of that turn (``call_soon``), so a lone call waits for
nothing and 200 callers started together make one call. Each caller still sees
exactly its own call: its own response or error, its own workflow's events. A
batch of one uses the single RPC, so a server without the batch RPCs (or a
caller that makes one call at a time) sees the calls it always did.

Why: each RPC costs the server and the client a call set-up in gRPC's core, and
a stream per workflow a message per workflow per event batch. For many small
workflows each followed by its caller (W2 in bench/), those costs dominate.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Coroutine, Sequence
from contextlib import aclosing
from typing import Any, TypeAlias

from dwe.clients.errors import DweError, from_status
from dwe.clients.typed import DweClient
from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import workflow_pb2

__all__ = ["Batcher", "Stream", "batcher"]

#: The servers' bound on items per batch call.
MAX_BATCH = 1_000

Create = tuple[rr.CreateWorkflowRequest, "asyncio.Future[rr.CreateWorkflowResponse]"]
#: What a follower's queue receives: its stream first, then events, then an error to
#: raise or None (the stream is over).
Item: TypeAlias = "Stream | list[workflow_pb2.WorkflowEvent] | BaseException | None"
#: One message of a stream: the errors of items that did not start, and events.
Message = tuple[Sequence[rr.ItemError], Sequence[workflow_pb2.WorkflowEvent]]

_BATCHERS: weakref.WeakKeyDictionary[DweClient, Batcher] = weakref.WeakKeyDictionary()


def batcher(client: DweClient) -> Batcher:
    """The batcher of ``client`` (one per client, made on first use)."""
    found = _BATCHERS.get(client)
    if found is None:
        found = _BATCHERS[client] = Batcher(client)
    return found


class Batcher:
    """Gathers one client's concurrent creates and executions into batch calls."""

    def __init__(self, client: DweClient) -> None:
        self._client = client
        self._creates: list[Create] = []
        self._executes: dict[str, tuple[rr.ExecuteWorkflowRequest, asyncio.Queue[Item]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # strong references while they run

    async def create(self, request: rr.CreateWorkflowRequest) -> rr.CreateWorkflowResponse:
        """CreateWorkflow's answer for ``request``, sent with the creates of this turn."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[rr.CreateWorkflowResponse] = loop.create_future()
        self._creates.append((request, fut))
        if len(self._creates) == 1:
            loop.call_soon(self._send_creates)
        elif len(self._creates) >= MAX_BATCH:
            self._send_creates()
        return await fut

    def execute(
        self, request: rr.ExecuteWorkflowRequest
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """ExecuteWorkflow's events for ``request``, on the stream of this turn's executions."""
        return self._follow(request)

    async def _follow(
        self, request: rr.ExecuteWorkflowRequest
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        while request.workflow_id in self._executes:  # one id per stream: wait for the next
            await asyncio.sleep(0)
        self._executes[request.workflow_id] = (request, queue)
        if len(self._executes) == 1:
            asyncio.get_running_loop().call_soon(self._send_executes)
        elif len(self._executes) >= MAX_BATCH:
            self._send_executes()
        stream: Stream | None = None
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, Stream):
                    stream = item  # the stream this follower rides on
                    continue
                if isinstance(item, BaseException):
                    raise item
                for event in item:
                    yield event
        finally:
            if stream is None:  # closed before it read its stream: the stream may be out
                stream = next((i for i in _drain(queue) if isinstance(i, Stream)), None)
            if stream is not None:
                stream.leave(request.workflow_id)
            elif self._executes.get(request.workflow_id, (None, None))[1] is queue:
                del self._executes[request.workflow_id]  # not sent yet: leave the batch

    def _send_creates(self) -> None:
        batch, self._creates = self._creates, []
        if batch:
            self._spawn(self._create_batch(batch))

    def _send_executes(self) -> None:
        batch, self._executes = self._executes, {}
        if batch:
            stream = Stream(self._client, batch)
            for _, queue in batch.values():
                queue.put_nowait(stream)
            self._spawn(stream.run())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _create_batch(self, batch: list[Create]) -> None:
        try:
            if len(batch) == 1:
                request, fut = batch[0]
                outcomes: list[rr.CreateWorkflowResponse | DweError] = [
                    await self._client.create_workflow(
                        request.spec, request.request_id, request.namespace
                    )
                ]
            else:
                outcomes = await self._client.create_workflows([r for r, _ in batch])
        except asyncio.CancelledError:
            for _, fut in batch:
                fut.cancel()
            raise
        except Exception as exc:  # the call failed: every item did
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), outcome in zip(batch, outcomes, strict=True):
            if fut.done():
                continue  # its caller gave up waiting
            if isinstance(outcome, DweError):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)


class Stream:
    """One ExecuteWorkflows call: routes its events to each workflow's follower."""

    def __init__(
        self,
        client: DweClient,
        followers: dict[str, tuple[rr.ExecuteWorkflowRequest, asyncio.Queue[Item]]],
    ) -> None:
        self._client = client
        self._requests = [request for request, _ in followers.values()]
        self._queues = {wid: queue for wid, (_, queue) in followers.items()}
        self._task: asyncio.Task[None] | None = None

    def leave(self, workflow_id: str) -> None:
        """A follower is done; the call ends once none is left."""
        self._queues.pop(workflow_id, None)
        if not self._queues and self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(self) -> None:
        self._task = asyncio.current_task()
        queues = self._queues
        ended: BaseException | None = None  # None: followers resume from their last seq
        try:
            async for errors, events in self._open():
                for err in errors:
                    queue = queues.get(err.workflow_id)
                    if queue is not None:
                        queue.put_nowait(from_status(err.code, err.message))
                for wid, mine in _by_workflow(events).items():
                    queue = queues.get(wid)
                    if queue is not None:
                        queue.put_nowait(mine)
        except asyncio.CancelledError:
            return  # every follower left
        except Exception as exc:  # the call failed: each follower raises it (or resumes)
            ended = exc
        for queue in list(queues.values()):
            queue.put_nowait(ended)

    async def _open(self) -> AsyncGenerator[Message, None]:
        if len(self._requests) == 1:  # the single call: any server has it
            request = self._requests[0]
            context = request.context if request.HasField("context") else None
            single = self._client.execute_workflow(request.workflow_id, context, request.session_id)
            async with aclosing(single) as events:
                async for event in events:
                    yield (), (event,)
            return
        async with aclosing(self._client.execute_workflows(self._requests)) as responses:
            async for response in responses:
                yield response.errors, response.events


def _drain(queue: asyncio.Queue[Item]) -> list[Item]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


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
