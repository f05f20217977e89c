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
from collections.abc import AsyncGenerator, Coroutine
from typing import Any

from dwe.clients.errors import DweError
from dwe.clients.multiplex import Follower, Inbox, Stream
from dwe.clients.typed import DweClient
from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import workflow_pb2

__all__ = ["Batcher", "batcher"]

#: The servers' bound on items per batch call.
MAX_BATCH = 1_000
#: Create calls in flight at once; creates made meanwhile wait for one to return and
#: then go together: under a steady stream of creates the batches grow with the load,
#: while a lone create still goes at the end of its turn.
CREATES_IN_FLIGHT = 2

Create = tuple[rr.CreateWorkflowRequest, "asyncio.Future[rr.CreateWorkflowResponse]"]

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
        self._creating = 0  # create calls in flight
        self._executes: dict[str, Follower] = {}
        self._shared: Stream | None = None  # the open ExecuteWorkflows stream, if any
        self._tasks: set[asyncio.Task[None]] = set()  # strong references while they run

    async def create(self, request: rr.CreateWorkflowRequest) -> rr.CreateWorkflowResponse:
        """CreateWorkflow's answer for ``request``, sent with the creates of this turn."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[rr.CreateWorkflowResponse] = loop.create_future()
        self._creates.append((request, fut))
        if len(self._creates) >= MAX_BATCH:
            self._send_creates()
        elif len(self._creates) == 1 and self._creating < CREATES_IN_FLIGHT:
            loop.call_soon(self._send_creates)
        # else: it goes when a call in flight returns, with those that came meanwhile
        return await fut

    def execute(
        self, request: rr.ExecuteWorkflowRequest
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """ExecuteWorkflow's events for ``request``, on the stream of this turn's executions."""
        return self._follow(request)

    async def _follow(
        self, request: rr.ExecuteWorkflowRequest
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        queue = Inbox()
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
                stream = next((i for i in queue.drain() if isinstance(i, Stream)), None)
            if stream is not None:
                stream.leave(request.workflow_id)
            elif self._executes.get(request.workflow_id, (None, None))[1] is queue:
                del self._executes[request.workflow_id]  # not sent yet: leave the batch

    def _send_creates(self) -> None:
        batch, self._creates = self._creates, []
        if batch:
            self._creating += 1
            self._spawn(self._create_batch(batch))

    def _create_returned(self) -> None:
        self._creating -= 1
        if self._creates and self._creating < CREATES_IN_FLIGHT:
            self._send_creates()

    def _send_executes(self) -> None:
        batch, self._executes = self._executes, {}
        if not batch:
            return
        shared = self._shared if self._shared is not None and self._shared.open else None
        if shared is None and len(batch) == 1:
            self._ride(Stream(self._client, single=True), batch)  # a lone call: the single RPC
            return
        for wid in [w for w in batch if shared is not None and shared.follows(w)]:
            # Followed on the shared stream already (another caller's execution of the
            # same workflow): its own call, which fails as two single calls would.
            self._ride(Stream(self._client, single=True), {wid: batch.pop(wid)})
        if batch:
            if shared is None:
                shared = self._shared = Stream(self._client)
                self._spawn(shared.run())
            self._ride(shared, batch)

    def _ride(self, stream: Stream, followers: dict[str, Follower]) -> None:
        for _, queue in followers.values():
            queue.put_nowait(stream)
        if stream.single:
            self._spawn(stream.run())
        stream.add(followers)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _create_batch(self, batch: list[Create]) -> None:
        try:
            await self._create_calls(batch)
        finally:
            self._create_returned()

    async def _create_calls(self, batch: list[Create]) -> None:
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
