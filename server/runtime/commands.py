"""Workflow commands: create (idempotent by request id), start and cancel.

The idempotency cache is bounded by size; the store's unique request_id is the
source of truth, so a key evicted from the cache is found again in the store.
A create that is not committed yet stays in ``_pending`` (never evicted), so a
concurrent repeat always finds it.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from ..engine.config import SchedulerError, UnknownWorkflow
from ..engine.model import WorkflowSpec, WorkflowState
from ..engine.runs import WorkflowRun
from ..engine.scheduler import Scheduler
from .commit import CommitLoop

#: Request ids remembered in memory; older ones are looked up in the store.
IDEMPOTENCY_CACHE = 10_000


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

    def __len__(self) -> int:
        return len(self._ids)


class Commands:
    """Create, start and cancel, each committed before it returns."""

    def __init__(
        self,
        scheduler: Scheduler,
        commit: CommitLoop,
        settle: Callable[[], Awaitable[None]],
        find_request: Callable[[str], Awaitable[str | None]],
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
        self._pending: dict[str, str] = {}

    def _known(self, request_id: str) -> str | None:
        return self._pending.get(request_id) or self.requests.get(request_id)

    async def create(self, spec: WorkflowSpec, request_id: str = "") -> tuple[str, bool]:
        """Store a validated workflow; returns (workflow_id, created)."""
        if request_id:
            known = self._known(request_id)
            if known is None:
                known = await self._find_request(request_id)  # off the loop, in parallel
                # A concurrent create with this key may have started meanwhile.
                known = self._known(request_id) or known
            if known is not None:
                self.requests.put(request_id, known)
                return known, False
        wid = uuid.uuid4().hex
        now = self._clock()
        self._scheduler.add_workflow(WorkflowRun(wid, spec, now, request_id))
        if request_id:
            self._pending[request_id] = wid
        self._commit.add_workflow(wid, request_id, spec, now)
        try:
            await self._settle()
        except Exception:
            self._scheduler.discard(wid)
            raise
        finally:
            if request_id:
                self._pending.pop(request_id, None)
        if request_id:
            self.requests.put(request_id, wid)
        return wid, True

    def remember(self, request_id: str, workflow_id: str) -> None:
        """A workflow resumed from the store was created under ``request_id``."""
        self.requests.put(request_id, workflow_id)

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
