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
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import Any, TypeVar

from dwe.v1 import request_response_pb2 as rr

from ..engine.events import Event
from ..runtime.hub import Subscription
from .errors import status_for
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


async def follow_all(sub: Subscription, started: set[str]) -> AsyncIterator[list[Event]]:
    """Live events of the ``started`` workflows until each has sent its terminal one.

    Events of the subscription's other workflows (items that failed to start,
    perhaps because another caller runs them) are not this stream's.
    """
    waiting = set(started)
    last: dict[str, int] = {}
    while waiting:
        batch = await sub.next_batch()
        if not batch:
            return
        fresh = []
        for e in batch:
            wid = e.workflow_id
            if wid in waiting and e.seq > last.get(wid, 0):
                last[wid] = e.seq
                fresh.append(e)
                if e.terminal:
                    waiting.discard(wid)
        if fresh:
            yield fresh


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


def start_errors(
    ids: Sequence[str], outcomes: Sequence[Any]
) -> tuple[set[str], list[rr.ItemError]]:
    """The ids that started, and the errors of the others."""
    started: set[str] = set()
    errors: list[rr.ItemError] = []
    for wid, outcome in zip(ids, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            errors.append(item_error(outcome, wid))
        else:
            started.add(wid)
    return started, errors
