"""Pure graph checks and measures over a workflow's steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .model import StepSpec


class GraphError(ValueError):
    """The step graph is malformed; the message names the steps involved."""


def check_graph(steps: Sequence[StepSpec]) -> None:
    """Raise GraphError for empty, duplicate, unknown-dependency or cyclic graphs."""
    if not steps:
        raise GraphError("workflow has no steps")
    seen: dict[str, int] = {}
    for index, step in enumerate(steps):
        if not step.step_id:
            raise GraphError(f"steps[{index}]: step_id is empty")
        if step.step_id in seen:
            raise GraphError(
                f"steps[{index}]: duplicate step_id {step.step_id!r} "
                f"(first at steps[{seen[step.step_id]}])"
            )
        seen[step.step_id] = index
    for step in steps:
        for dep in step.dependencies:
            if dep not in seen:
                raise GraphError(f"step {step.step_id!r}: unknown dependency {dep!r}")
            if dep == step.step_id:
                raise GraphError(f"step {step.step_id!r} depends on itself")
        if len(set(step.dependencies)) != len(step.dependencies):
            raise GraphError(f"step {step.step_id!r}: dependency listed twice")
    cycle = find_cycle({s.step_id: s.dependencies for s in steps})
    if cycle:
        raise GraphError("dependency cycle: " + " -> ".join(cycle))


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle as a closed path (``[A, B, C, A]``) or None.

    Iterative DFS in declaration order so the reported cycle is deterministic and
    deep graphs do not hit the recursion limit. A cycle is reported in the
    direction work flows: each step before the one that depends on it.
    """
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    for root in deps:
        if color[root] != white:
            continue
        path: list[str] = [root]
        iters = [iter(deps[root])]
        color[root] = grey
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                iters.pop()
                color[path.pop()] = black
                continue
            if color[nxt] == grey:
                # path holds dependents first: reverse to read in execution order.
                cycle = path[path.index(nxt) :]
                cycle.reverse()
                # Start at the earliest-declared step so the message reads naturally.
                order = {sid: i for i, sid in enumerate(deps)}
                start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                cycle = cycle[start:] + cycle[:start]
                return [*cycle, cycle[0]]
            if color[nxt] == white:
                color[nxt] = grey
                path.append(nxt)
                iters.append(iter(deps[nxt]))
    return None


def topological_order(steps: Sequence[StepSpec]) -> list[str]:
    """Kahn's order with ties broken by declaration order (the SEQUENTIAL order)."""
    import heapq

    index = {s.step_id: i for i, s in enumerate(steps)}
    waiting = {s.step_id: len(s.dependencies) for s in steps}
    dependents: dict[str, list[str]] = {s.step_id: [] for s in steps}
    for s in steps:
        for dep in s.dependencies:
            dependents[dep].append(s.step_id)
    heap = [index[s.step_id] for s in steps if not s.dependencies]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        sid = steps[heapq.heappop(heap)].step_id
        order.append(sid)
        for d in dependents[sid]:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(heap, index[d])
    return order


def critical_path_lengths(steps: Sequence[StepSpec]) -> dict[str, float]:
    """Longest estimated_duration-weighted path from each step to the end (inclusive)."""
    dependents: dict[str, list[str]] = {s.step_id: [] for s in steps}
    by_id = {s.step_id: s for s in steps}
    for s in steps:
        for dep in s.dependencies:
            dependents[dep].append(s.step_id)
    length: dict[str, float] = {}
    for sid in reversed(topological_order(steps)):
        tail = max((length[d] for d in dependents[sid]), default=0.0)
        length[sid] = by_id[sid].estimated_duration + tail
    return length


def critical_path(steps: Sequence[StepSpec]) -> list[str]:
    """The step ids of the longest estimated path, first to last."""
    if not steps:
        return []
    length = critical_path_lengths(steps)
    dependents: dict[str, list[str]] = {s.step_id: [] for s in steps}
    for s in steps:
        for dep in s.dependencies:
            dependents[dep].append(s.step_id)
    roots = [s.step_id for s in steps if not s.dependencies]
    current = max(roots, key=lambda sid: length[sid])
    path = [current]
    while dependents[current]:
        current = max(dependents[current], key=lambda sid: length[sid])
        path.append(current)
    return path
