"""Ready steps waiting for an agent: a queue per lane (namespace, capability) and the
dispatcher over them. An agent only takes steps of its own namespace's lanes."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from .model import Priority, StepState
from .pool import AgentPool, AgentSession, Lane
from .runs import StepRun

# (aged priority, workflow start order, rank within the workflow, declaration index)
Key = tuple[float, int, float, int]
Chooser = Callable[[StepRun, list[AgentSession]], AgentSession | None]


class ReadyQueue:
    """One heap per priority level, keyed by (workflow start order, rank, step index).

    Within a priority, steps of the workflow that started first go first, so
    runs finish in the order they began instead of all advancing level by
    level together (which would make every run's latency the batch's wall
    time). Entries whose step left READY are dropped lazily at the head, so
    removal never scans.
    """

    __slots__ = ("levels",)

    def __init__(self) -> None:
        self.levels: list[list[tuple[int, float, int, StepRun]]] = [[] for _ in Priority]

    def push(self, step: StepRun) -> None:
        entry = (step.wf.start_order, step.rank, step.index, step)
        heapq.heappush(self.levels[step.wf.spec.priority], entry)

    def _best_level(self, now: float, aging: float) -> tuple[Key, int] | None:
        """The level whose head goes next: lowest aged priority, then earliest start."""
        best: Key | None = None
        best_level = -1
        for priority, level in enumerate(self.levels):
            while level and level[0][3].state is not StepState.READY:
                heapq.heappop(level)  # stale: cancelled or finished elsewhere
            if not level:
                continue
            order, rank, index, step = level[0]
            effective = float(priority)
            if aging > 0 and priority:
                waited = now - step.wf.started_at  # queued steps belong to started runs
                effective = max(0.0, priority - int(waited / aging))
            key = (effective, order, rank, index)
            if best is None or key < best:
                best, best_level = key, priority
        return None if best is None else (best, best_level)

    def head_key(self, now: float, aging: float) -> Key | None:
        found = self._best_level(now, aging)
        return None if found is None else found[0]

    def pop(self, now: float = 0.0, aging: float = 0.0) -> StepRun | None:
        found = self._best_level(now, aging)
        if found is None:
            return None
        return heapq.heappop(self.levels[found[1]])[3]

    def __bool__(self) -> bool:
        return any(self.levels)

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels)


class Dispatcher:
    """The ready queues by lane, and which lanes changed since the last dispatch."""

    __slots__ = ("_dirty", "_queues")

    def __init__(self) -> None:
        self._queues: dict[Lane, ReadyQueue] = {}
        self._dirty: set[Lane] = set()

    def enqueue(self, step: StepRun) -> None:
        lane = (step.wf.namespace, step.spec.capability)
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = ReadyQueue()
        queue.push(step)
        self._dirty.add(lane)

    def touch(self, lanes: frozenset[Lane]) -> None:
        """Agent slots of these lanes freed up or appeared."""
        self._dirty.update(lanes)

    def waiting(self, lane: Lane) -> int:
        """Queue entries of a lane (stale ones included until they reach the head)."""
        queue = self._queues.get(lane)
        return len(queue) if queue else 0

    def pairs(
        self, now: float, aging: float, pool: AgentPool, choose: Chooser
    ) -> Iterator[tuple[StepRun, AgentSession]]:
        """Pair queued steps of changed lanes with free agents, most urgent first.

        Lanes compete by the (aged) priority of their head step, so an agent with
        several capabilities takes the most urgent step first. The caller must
        assign each pair before taking the next (agents fill up).
        """
        if not self._dirty:
            return
        lanes, self._dirty = self._dirty, set()
        heads: list[tuple[Key, Lane]] = []
        for lane in lanes:
            queue = self._queues.get(lane)
            if queue and pool.candidates(lane):
                key = queue.head_key(now, aging)
                if key is not None:
                    heads.append((key, lane))
        heapq.heapify(heads)
        while heads:
            _, lane = heapq.heappop(heads)
            queue = self._queues[lane]
            step = queue.pop(now, aging)
            if step is None:
                continue
            agent = choose(step, pool.candidates(lane) or [])
            if agent is None:
                queue.push(step)  # every agent of this lane is full
                continue
            yield step, agent
            key = queue.head_key(now, aging)
            if key is not None:
                heapq.heappush(heads, (key, lane))
