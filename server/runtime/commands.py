"""Workflow commands: create (idempotent by request id), start and cancel.

The store's unique request_id is the source of truth. A create does not read
the store first: it inserts, and the store skips a row whose request_id is
already stored (``CommitLoop.skipped``); only then is the earlier workflow
looked up. The idempotency cache, bounded by size, answers recent repeats
without a write. A create not committed yet stays in ``_pending`` (never
evicted), and a concurrent repeat waits for its outcome. Keys are unique within a
namespace: the same request id in two namespaces makes two workflows.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from ..engine.config import SchedulerError, UnknownWorkflow
from ..engine.model import DEFAULT_NAMESPACE, WorkflowSpec, WorkflowState
from ..engine.runs import WorkflowRun
from ..engine.scheduler import Scheduler
from .commit import CommitLoop

#: Request ids remembered in memory; older ones are looked up in the store.
IDEMPOTENCY_CACHE = 10_000


def request_key(namespace: str, request_id: str) -> str:
    """The cache key of a request id in a namespace (namespace names hold no NUL)."""
    return f"{namespace}\0{request_id}"


class IdempotencyCache:
    """request_id -> workflow_id, the most recent ``size`` of them (LRU)."""

    __slots__ = ("_ids", "_size")

    def __init__(self, size: int = IDEMPOTENCY_CACHE) -> None:
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def get(self, request_id: str) -> str | None:
        found = self._ids.get(request_id)
        if found is not None:
            self._ids.move_to_end(request_id)
        return found

    def put(self, request_id: str, workflow_id: str) -> None:
        self._ids[request_id] = workflow_id
        self._ids.move_to_end(request_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def discard(self, request_id: str, workflow_id: str) -> None:
        """Forget ``request_id`` if it still names ``workflow_id`` (a pruned workflow)."""
        if self._ids.get(request_id) == workflow_id:
            del self._ids[request_id]

    def __len__(self) -> int:
        return len(self._ids)


def new_workflow_id() -> str:
    """32 hex digits: the time in milliseconds (12), then 80 random bits (20).

    Ids that grow with time put each new workflow's rows (workflows, steps, events
    are keyed by it) at the end of their B-trees, next to the other running ones,
    so a commit dirties few pages; random ids spread them over the whole file
    (W2: a third less server CPU, docs/benchmarks.md). 80 random bits keep them
    unguessable; an id reveals when it was created.
    """
    return f"{time.time_ns() // 1_000_000:012x}{uuid.uuid4().hex[:20]}"


class Commands:
    """Create, start and cancel, each committed before it returns."""

    def __init__(
        self,
        scheduler: Scheduler,
        commit: CommitLoop,
        settle: Callable[[], Awaitable[None]],
        find_request: Callable[[str, str], Awaitable[str | None]],
        stored_state: Callable[[str], Awaitable[str | None]],
        clock: Callable[[], float],
        cache_size: int = IDEMPOTENCY_CACHE,
    ) -> None:
        self._scheduler = scheduler
        self._commit = commit
        # Dispatches what the change made possible and waits for its commit.
        self._settle = settle
        self._find_request = find_request
        self._stored_state = stored_state
        self._clock = clock
        self.requests = IdempotencyCache(cache_size)
        self._pending: dict[str, asyncio.Future[str]] = {}

    async def create(
        self, spec: WorkflowSpec, request_id: str = "", namespace: str = DEFAULT_NAMESPACE
    ) -> tuple[str, bool]:
        """Store a validated workflow in ``namespace``; returns (workflow_id, created)."""
        if not request_id:
            return await self._insert(spec, "", namespace)
        key = request_key(namespace, request_id)
        known = self.requests.get(key)
        if known is None and key in self._pending:
            known = await asyncio.shield(self._pending[key])
        if known is not None:
            return known, False
        outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[key] = outcome
        try:
            wid, created = await self._insert(spec, request_id, namespace)
            outcome.set_result(wid)
        except BaseException as exc:
            outcome.set_exception(exc)
            outcome.exception()  # retrieved here: waiters re-raise it themselves
            raise
        finally:
            del self._pending[key]
        self.requests.put(key, wid)
        return wid, created

    async def _insert(
        self, spec: WorkflowSpec, request_id: str, namespace: str
    ) -> tuple[str, bool]:
        wid = new_workflow_id()
        run = WorkflowRun(wid, spec, self._clock(), request_id, namespace)
        self._scheduler.add_workflow(run)
        self._commit.add_workflow(run)
        try:
            await self._settle()
        except BaseException:
            self._scheduler.discard(wid)
            raise
        if wid not in self._commit.skipped:
            return wid, True
        # The key was stored before (a create this server no longer remembers).
        self._commit.skipped.discard(wid)
        self._scheduler.discard(wid)
        earlier = await self._find_request(namespace, request_id)
        if earlier is None:  # pruned (retention) since the store refused it: the key is free
            return await self._insert(spec, request_id, namespace)
        return earlier, False

    def remember(self, namespace: str, request_id: str, workflow_id: str) -> None:
        """A workflow resumed from the store was created under ``request_id``."""
        self.requests.put(request_key(namespace, request_id), workflow_id)

    def forget(self, namespace: str, request_id: str, workflow_id: str) -> None:
        """A pruned workflow: a repeat of its ``request_id`` creates a new one."""
        self.requests.discard(request_key(namespace, request_id), workflow_id)

    async def _live(self, workflow_id: str) -> None:
        """Raise UnknownWorkflow or SchedulerError unless the run is in memory."""
        if not workflow_id:
            raise UnknownWorkflow(workflow_id)
        if self._scheduler.run(workflow_id) is None:
            state = await self._stored_state(workflow_id)
            if state is None:
                raise UnknownWorkflow(workflow_id)
            raise SchedulerError(f"workflow {workflow_id} already ended ({state})")

    async def start(
        self, workflow_id: str, context: dict[str, Any] | None, session_id: str
    ) -> WorkflowState:
        """Start a PENDING run; raises UnknownWorkflow or SchedulerError otherwise."""
        await self._live(workflow_id)
        state = self._scheduler.start_workflow(workflow_id, self._clock(), context, session_id)
        await self._settle()
        return state

    async def cancel(self, workflow_id: str, reason: str) -> tuple[bool, WorkflowState]:
        """Cancel a run; (False, its state) when it had already ended."""
        run = self._scheduler.run(workflow_id)
        if run is None:
            state = await self._stored_state(workflow_id)
            if state is None:
                raise UnknownWorkflow(workflow_id)
            return False, WorkflowState(state)
        cancelled = self._scheduler.cancel_workflow(workflow_id, self._clock(), reason)
        await self._settle()
        return cancelled, run.state
