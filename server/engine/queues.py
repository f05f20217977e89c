"""Ready steps waiting for an agent, per capability, in priority order."""

from __future__ import annotations

from collections import deque

from .model import Priority, StepState
from .runs import StepRun


class ReadyQueue:
    """FIFO per priority level; push and pop are O(1).

    Entries whose step left READY (cancelled, failed workflow) are dropped
    lazily when they reach the head, so removal never scans.
    """

    __slots__ = ("levels",)

    def __init__(self) -> None:
        self.levels: list[deque[StepRun]] = [deque() for _ in Priority]

    def push(self, step: StepRun) -> None:
        self.levels[step.wf.spec.priority].append(step)

    def push_front(self, step: StepRun) -> None:
        self.levels[step.wf.spec.priority].appendleft(step)

    def pop(self) -> StepRun | None:
        for level in self.levels:
            while level:
                step = level.popleft()
                if step.state is StepState.READY:
                    return step
        return None

    def __bool__(self) -> bool:
        return any(self.levels)

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels)
