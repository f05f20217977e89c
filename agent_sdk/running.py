"""Registry of running attempts, keyed by attempt id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from dwe.agent_sdk.task import Task


@dataclass(slots=True, eq=False)
class RunningAttempt:
    """One attempt whose handler was dispatched and has not finished.

    Attributes:
        task: The Task handed to the handler.
        runner: The asyncio task wrapping the handler (for sync handlers it
            awaits the thread-pool future).
        is_async: True when the handler is a coroutine function; only then can
            cancellation interrupt it.
    """

    task: Task
    runner: asyncio.Task[None] | None = None
    is_async: bool = True
    _cancel_reason: str | None = field(default=None, repr=False)

    def cancel(self, reason: str = "") -> None:
        """Ask the handler to stop because the server cancelled or dropped the attempt.

        Async handlers see ``asyncio.CancelledError``; sync handlers see
        ``task.cancelled`` turn True. Once the handler ends, a "Cancelled"
        result tells the server the slot is free.
        """
        if not self.task.mark_cancelled():
            return
        self._cancel_reason = reason
        if self.is_async and self.runner is not None:
            self.runner.cancel(reason or None)

    def abort(self) -> None:
        """Interrupt the handler because the agent is shutting down hard."""
        if self.runner is not None:
            self.runner.cancel("agent shutting down")


class RunningRegistry:
    """Attempts in flight, with an event that is set while none are."""

    __slots__ = ("_by_id", "_idle")

    def __init__(self) -> None:
        self._by_id: dict[str, RunningAttempt] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, entry: RunningAttempt) -> None:
        """Register an attempt (replacing none: duplicates are the caller's check)."""
        self._by_id[entry.task.attempt_id] = entry
        self._idle.clear()

    def remove(self, attempt_id: str) -> None:
        """Forget an attempt once its handler has finished."""
        if self._by_id.pop(attempt_id, None) is not None and not self._by_id:
            self._idle.set()

    def get(self, attempt_id: str) -> RunningAttempt | None:
        """The running attempt with this id, if any."""
        return self._by_id.get(attempt_id)

    def __contains__(self, attempt_id: object) -> bool:
        return attempt_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[RunningAttempt]:
        return iter(list(self._by_id.values()))

    def ids(self) -> list[str]:
        """Ids of attempts not cancelled, e.g. for Hello's ``held_attempt_ids``."""
        return [k for k, v in self._by_id.items() if not v.task.cancelled]

    def cancel(self, attempt_id: str, reason: str = "") -> bool:
        """Cancel one attempt; False if it is not running here."""
        entry = self._by_id.get(attempt_id)
        if entry is None:
            return False
        entry.cancel(reason)
        return True

    async def wait_idle(self) -> None:
        """Return once no attempt is running."""
        await self._idle.wait()
