"""Retention: deleting workflows that ended long enough ago, now and then or on request.

Every store call runs on the commit loop's writer thread, between group
commits, in batches of ``batch`` workflows (one transaction each), so a prune
never races a commit and holds the store for one batch at a time. Each batch's
workflows are then forgotten in memory (ended runs the scheduler still holds,
and their idempotency keys), so nothing is served after its rows are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from dwe.common.durations import format_duration

from ..store.base import Pruned, Store
from .commit import StoreUnavailable

log = logging.getLogger("dwe.server")

#: Workflows deleted per transaction.
PRUNE_BATCH = 500
#: Free pages given back to the file system per writer job (4 KiB each).
RECLAIM_PAGES = 2048
#: Seconds between two periodic prunes, by default.
PRUNE_INTERVAL = 300.0


class PruneCount(NamedTuple):
    """Workflows and events a prune deleted, or would delete (dry run)."""

    workflows: int
    events: int


OnWriter = Callable[..., Awaitable[Any]]


class Retention:
    """Prunes the store on the writer thread and forgets what it pruned.

    Args:
        store: The store (``prune`` and ``reclaim`` run on the writer thread).
        on_writer: ``await on_writer(fn, *args)`` runs ``fn`` on the writer thread.
        forget: Called with (workflow_id, request_id, namespace) of every pruned workflow.
        clock: Wall-clock seconds, the clock the runs' finished_at come from.
        batch: Workflows per transaction.
    """

    def __init__(
        self,
        store: Store,
        on_writer: OnWriter,
        forget: Callable[[str, str, str], None],
        clock: Callable[[], float],
        batch: int = PRUNE_BATCH,
    ) -> None:
        self._store = store
        self._on_writer = on_writer
        self._forget = forget
        self._clock = clock
        self._batch = batch
        self._lock = asyncio.Lock()  # one prune at a time, so each count is its own
        self._task: asyncio.Task[None] | None = None

    async def prune(self, ended_before: float, namespaces: list[str] | None = None) -> PruneCount:
        """Delete every workflow that ended before ``ended_before`` (epoch seconds), of
        ``namespaces`` only when given.

        Raises:
            StoreUnavailable: A batch failed (the batches before it stay deleted).
        """
        workflows = events = 0
        async with self._lock:
            while True:
                pruned: Pruned = await self._writer(
                    self._store.prune, ended_before, self._batch, namespaces
                )
                for workflow_id, request_id, namespace in pruned.workflows:
                    self._forget(workflow_id, request_id, namespace)
                workflows += len(pruned.workflows)
                events += pruned.events
                if len(pruned.workflows) < self._batch:
                    break
            if workflows:
                while await self._writer(self._store.reclaim, RECLAIM_PAGES) >= RECLAIM_PAGES:
                    pass
        return PruneCount(workflows, events)

    async def _writer(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await self._on_writer(fn, *args)
        except Exception as exc:
            raise StoreUnavailable(f"the store could not prune: {exc}") from exc

    def start(self, keep: float, interval: float = PRUNE_INTERVAL) -> None:
        """Prune what ended more than ``keep`` seconds ago now, then every ``interval`` s."""
        if self._task is None and keep > 0:
            self._task = asyncio.create_task(self._every(keep, interval), name="dwe-retention")

    async def stop(self) -> None:
        """Stop the periodic prune (a batch in flight still commits)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _every(self, keep: float, interval: float) -> None:
        log.info(
            "retention %s: ended workflows are pruned every %s",
            format_duration(keep),
            format_duration(interval),
        )
        while True:
            try:
                count = await self.prune(self._clock() - keep)
            except StoreUnavailable as exc:
                log.error("retention: %s; trying again in %gs", exc, interval)
            else:
                if count.workflows:
                    log.info(
                        "retention: pruned %d workflows and %d events that ended over %s ago",
                        count.workflows,
                        count.events,
                        format_duration(keep),
                    )
            await asyncio.sleep(interval)
