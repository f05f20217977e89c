"""Resuming unfinished runs when the server starts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ..engine.scheduler import Scheduler
from ..store.base import WorkflowRow
from .commands import Commands

log = logging.getLogger("dwe.server")


async def recover(
    load_unfinished: Callable[[], Awaitable[list[WorkflowRow]]],
    scheduler: Scheduler,
    commands: Commands,
    now: float,
) -> int:
    """Rebuild every unfinished run from the store and hand it to the scheduler.

    Returns how many runs were resumed. Their idempotency keys are remembered,
    so a repeated create finds them without a store read.
    """
    rows = await load_unfinished()
    for row in rows:
        scheduler.restore(row, now)
        if row.request_id:
            commands.remember(row.namespace, row.request_id, row.workflow_id)
    if rows:
        log.info("resumed %d unfinished workflows from the store", len(rows))
    return len(rows)
