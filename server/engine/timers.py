"""The scheduler's timers: one heap of deadlines, with its own tie-breaking counter."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from enum import IntEnum
from typing import Any


class Timer(IntEnum):
    """What a timer is for; its key and token say which attempt, step or run."""

    DEADLINE = 1  # key: attempt id
    RETRY = 2  # key: step, token: its attempt number
    LEASE = 3  # key: attempt id, token: the lease's number
    WORKFLOW_TIMEOUT = 4  # key: run
    SCHEDULE_TO_START = 5  # key: step, token: its attempt number
    ACK = 6  # key: attempt id
    CANCEL_GRACE = 7  # key: (session id, attempt id)


class TimerQueue:
    """Timers in deadline order; equal deadlines fire in the order they were set.

    Timers are never cancelled: each handler checks that what it guards is
    still current (the token), which keeps setting and firing O(log n).
    """

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer, Any, int]] = []
        self._seq = itertools.count()

    def schedule(self, when: float, kind: Timer, key: Any, token: int = 0) -> None:
        """Fire ``kind`` for ``key`` at ``when`` (seconds on the scheduler's clock)."""
        heapq.heappush(self._heap, (when, next(self._seq), kind, key, token))

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
