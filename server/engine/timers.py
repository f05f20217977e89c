"""The scheduler's timers: one heap of deadlines, with its own tie-breaking counter."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any

#: No sweep below this many timers: a small heap costs nothing to keep.
SWEEP_FROM = 1024


class Timer(IntEnum):
    """What a timer is for; its key and token say which attempt, step or run."""

    DEADLINE = 1  # key: attempt id
    RETRY = 2  # key: step, token: its attempt number
    LEASE = 3  # key: attempt id, token: the lease's number
    WORKFLOW_TIMEOUT = 4  # key: run id (not the run: that would keep it in memory)
    SCHEDULE_TO_START = 5  # key: step, token: its attempt number
    ACK = 6  # key: attempt id
    CANCEL_GRACE = 7  # key: (session id, attempt id)


class TimerQueue:
    """Timers in deadline order; equal deadlines fire in the order they were set.

    Timers are never cancelled: each handler checks that what it guards is
    still current (the token), which keeps setting and firing O(log n). Timers
    that can no longer do anything would pile up until their deadline (an hour
    for a workflow timeout), so each time the heap has doubled since it was last
    swept, those ``live`` says are spent are dropped: O(1) per timer, amortised.
    """

    __slots__ = ("_heap", "_live", "_seq", "_sweep_at")

    def __init__(self, live: Callable[[Timer, Any, int], bool] | None = None) -> None:
        self._heap: list[tuple[float, int, Timer, Any, int]] = []
        self._seq = itertools.count()
        self._live = live
        self._sweep_at = SWEEP_FROM

    def schedule(self, when: float, kind: Timer, key: Any, token: int = 0) -> None:
        """Fire ``kind`` for ``key`` at ``when`` (seconds on the scheduler's clock)."""
        heapq.heappush(self._heap, (when, next(self._seq), kind, key, token))
        if len(self._heap) >= self._sweep_at and self._live is not None:
            self._sweep(self._live)

    def _sweep(self, live: Callable[[Timer, Any, int], bool]) -> None:
        # In place: ``due`` may be iterating over this very list.
        self._heap[:] = [t for t in self._heap if live(t[2], t[3], t[4])]
        heapq.heapify(self._heap)
        self._sweep_at = max(SWEEP_FROM, 2 * len(self._heap))

    def next_deadline(self) -> float | None:
        """When the earliest timer fires, or None when none is set."""
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> Iterator[tuple[Timer, Any, int]]:
        """Pop every timer due at ``now``, earliest first, including ones set while iterating."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, kind, key, token = heapq.heappop(heap)
            yield kind, key, token

    def __len__(self) -> int:
        return len(self._heap)
