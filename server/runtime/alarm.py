"""One asyncio timer, armed at the scheduler's next deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Alarm:
    """Calls ``fire`` at (or just after) the earliest deadline it was armed for."""

    __slots__ = ("_at", "_fire", "_handle", "_loop")

    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def arm(self, deadline: float | None, now: float) -> None:
        """Fire at ``deadline`` (wall-clock seconds) unless already armed earlier."""
        if deadline is None:
            return
        if self._handle is not None and self._at <= deadline:
            return
        if self._handle is not None:
            self._handle.cancel()
        assert self._loop is not None
        self._at = deadline
        self._handle = self._loop.call_later(max(deadline - now, 0.0), self._ring)

    def _ring(self) -> None:
        self._handle = None
        self._fire()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
