"""CreateWorkflows and ExecuteWorkflows: many workflows per call, each item on its own.

Each item gets exactly the checks and errors of its single call, but an item's
error is its own: it is answered in the item's place and the rest go on. The
point is cost, not new behaviour: N creates made together wait for one commit
and cross the network as one message; N executions share one stream, one
subscription and one response per batch of events, where N single streams cost
N calls' set-up and a message per workflow per event batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from dwe.v1 import request_response_pb2 as rr

from ..engine.events import Event
from ..runtime.hub import EventHub, Subscription
from .errors import log, status_for
from .handlers import Undecodable
from .limits import MAX_BATCH, quote
from .validation import ValidationError

T = TypeVar("T")


def check_batch(count: int, field: str) -> None:
    """1 to MAX_BATCH items."""
    if count == 0:
        raise ValidationError(f"{field}: at least one is required")
    if count > MAX_BATCH:
        raise ValidationError(f"{field}: {count} exceeds the maximum of {MAX_BATCH}")


def check_distinct(ids: Sequence[str], field: str) -> None:
    """No workflow id twice: a workflow starts once, and its events go to one item."""
    seen: set[str] = set()
    for i, wid in enumerate(ids):
        if wid in seen:
            raise ValidationError(f"{field}[{i}].workflow_id {quote(wid)} is given twice")
        seen.add(wid)


def item_error(exc: BaseException, workflow_id: str = "") -> rr.ItemError:
    """The single call's status for ``exc`` as an item's error, message and all (the
    item's place says which it is); re-raises what is no domain error (a bug is the
    call's, not an item's)."""
    mapped = status_for(exc)
    if mapped is None:
        raise exc
    code, message = mapped
    return rr.ItemError(code=code.value[0], message=message, workflow_id=workflow_id)


async def each(calls: Iterable[Awaitable[T]]) -> list[T | BaseException]:
    """Every call's result or exception, in order; the calls run together (one commit)."""
    return await asyncio.gather(*calls, return_exceptions=True)


def item_budget(budget: int, count: int) -> int:
    """Bytes each of ``count`` statuses may take in one response of ``budget`` bytes."""
    return max(512, budget // count - 64)


class Following:
    """The workflows one ExecuteWorkflows stream follows.

    A workflow is routed to the stream's subscription before it is started, so no
    event falls between the start and the routing; until its start is known to have
    succeeded its events are held (they may be another caller's run, whose start then
    fails here). Once started, its events go out in seq order to its terminal one,
    after which it is unrouted: a stream kept open for hours holds only what runs.
    """

    def __init__(self, hub: EventHub, sub: Subscription) -> None:
        self._hub, self._sub = hub, sub
        self._held: dict[str, list[Event]] = {}  # routed, start outcome not known yet
        self._last: dict[str, int] = {}  # started and not ended: the last seq sent
        self._errors: list[rr.ItemError] = []
        self._ready: list[Event] = []  # held events of workflows that started

    @property
    def following(self) -> bool:
        return bool(self._held or self._last)

    def route(self, ids: Sequence[str]) -> None:
        """Before the starts: each id is new to this stream (else INVALID_ARGUMENT)."""
        for i, wid in enumerate(ids):
            if wid in self._held or wid in self._last:
                raise ValidationError(
                    f"workflows[{i}].workflow_id {quote(wid)} is followed on this stream already"
                )
        self._held.update((wid, []) for wid in ids)
        self._hub.route(self._sub, ids)

    def started(self, ids: Sequence[str], outcomes: Sequence[Any]) -> None:
        """The starts' outcomes: held events of the started go out, the others' are
        dropped with their errors."""
        for wid, outcome in zip(ids, outcomes, strict=True):
            held = self._held.pop(wid)
            if isinstance(outcome, BaseException):
                self._errors.append(item_error(outcome, wid))
                self._hub.unroute(self._sub, wid)
            else:
                self._last[wid] = 0
                self._ready.extend(held)
        self._sub.poke()

    def take_errors(self) -> list[rr.ItemError]:
        errors, self._errors = self._errors, []
        return errors

    def fresh(self, events: list[Event]) -> list[Event]:
        """What of ``events`` (after the released held ones) this stream sends."""
        if self._ready:
            events, self._ready = self._ready + events, []
        out = []
        for e in events:
            wid = e.workflow_id
            last = self._last.get(wid)
            if last is None:
                held = self._held.get(wid)
                if held is not None:
                    held.append(e)
            elif e.seq > last:
                out.append(e)
                if e.terminal:
                    del self._last[wid]
                    self._hub.unroute(self._sub, wid)
                else:
                    self._last[wid] = e.seq
        return out


async def start_each(
    requests: AsyncIterator[Any],
    start: Callable[[rr.ExecuteWorkflowRequest], Coroutine[Any, Any, None]],
    following: Following,
    peer: str,
) -> None:
    """Starts each ExecuteWorkflows message's workflows as it arrives, until the
    caller's side closes.

    The starts of one message run while the next is read: a caller sending a message
    per workflow has them share commits, instead of one commit turn per message.
    """
    running: set[asyncio.Task[None]] = set()
    async for request in requests:
        if isinstance(request, Undecodable):  # one line, as for every other call
            log.warning("ExecuteWorkflows from %s: %s", peer, request.message)
            raise ValidationError(request.message)
        check_batch(len(request.workflows), "workflows")
        ids = [item.workflow_id for item in request.workflows]
        check_distinct(ids, "workflows")
        following.route(ids)  # before the starts, so no event falls in between
        task = asyncio.create_task(_started(ids, [start(i) for i in request.workflows], following))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)


async def _started(
    ids: list[str], starts: list[Coroutine[Any, Any, None]], following: Following
) -> None:
    following.started(ids, await each(starts))


def errors_frame(errors: list[rr.ItemError]) -> bytes:
    """The stream message carrying the items that could not be started."""
    return rr.ExecuteWorkflowsResponse(errors=errors).SerializeToString()


def create_results(
    outcomes: Sequence[rr.CreateWorkflowResponse | BaseException],
) -> rr.CreateWorkflowsResponse:
    out = rr.CreateWorkflowsResponse()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            out.results.add(error=item_error(outcome))
        else:
            out.results.add(created=outcome)
    return out
