"""Graph checks and measures over step dependencies (pure, stdlib only).

A graph is a mapping ``step_id -> the step_ids it depends on``, in declaration
order. Every walk is iterative, so deep chains never hit the recursion limit.
The scheduler (readiness, critical paths), the api layer (validation) and the
clients (``Workflow.get_critical_path``) all use these functions.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence

Deps = Mapping[str, Sequence[str]]


class GraphError(ValueError):
    """The step graph is malformed; the message names the steps involved."""


def check_steps(
    steps: Sequence[tuple[str, Sequence[str]]],
    quote: Callable[[str], str] = repr,
    cycle_text: Callable[[list[str]], str] = " -> ".join,
) -> None:
    """Raise GraphError for an empty graph, empty or duplicate ids, bad or cyclic dependencies.

    Args:
        steps: ``(step_id, dependencies)`` in declaration order.
        quote: How an id appears in a message (the server clips long ones).
        cycle_text: How a cycle appears (``A -> B -> A``).
    """
    if not steps:
        raise GraphError("workflow has no steps")
    seen: dict[str, int] = {}
    for index, (step_id, _) in enumerate(steps):
        if not step_id:
            raise GraphError(f"steps[{index}]: step_id is empty")
        first = seen.setdefault(step_id, index)
        if first != index:
            raise GraphError(
                f"steps[{index}]: duplicate step_id {quote(step_id)} (first at steps[{first}])"
            )
    # Steps that depend only on steps declared before them (the usual way to write a
    # graph) cannot form a cycle: then the cycle search is skipped.
    ordered = True
    for index, (step_id, deps) in enumerate(steps):
        for dep in deps:
            at = seen.get(dep)
            if at is None:
                raise GraphError(f"step {quote(step_id)}: unknown dependency {quote(dep)}")
            if dep == step_id:
                raise GraphError(f"step {quote(step_id)} depends on itself")
            if at > index:
                ordered = False
        if len(set(deps)) != len(deps):
            raise GraphError(f"step {quote(step_id)}: dependency listed twice")
    cycle = None if ordered else find_cycle(dict(steps))
    if cycle:
        raise GraphError("dependency cycle: " + cycle_text(cycle))


def find_cycle(deps: Deps) -> list[str] | None:
    """One cycle as a closed path (``[A, B, C, A]``), or None.

    The walk goes in declaration order, so the answer is deterministic. The
    cycle reads in the direction work flows (each step before the one that
    depends on it) and starts at its earliest-declared step. Unknown
    dependencies are ignored.
    """
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    for root in deps:
        if color[root] != white:
            continue
        path = [root]
        iters = [iter(deps[root])]
        color[root] = grey
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                iters.pop()
                color[path.pop()] = black
            elif color.get(nxt) == grey:
                return _closed(path[path.index(nxt) :], deps)
            elif color.get(nxt) == white:
                color[nxt] = grey
                path.append(nxt)
                iters.append(iter(deps[nxt]))
    return None


def _closed(cycle: list[str], deps: Deps) -> list[str]:
    # The path holds dependents first: reverse it to read in execution order.
    cycle.reverse()
    order = {sid: i for i, sid in enumerate(deps)}
    start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    cycle = cycle[start:] + cycle[:start]
    return [*cycle, cycle[0]]


def _dependents(deps: Deps) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {sid: [] for sid in deps}
    for sid, ds in deps.items():
        for dep in dict.fromkeys(ds):
            if dep in out:
                out[dep].append(sid)
    return out


def topological_order(deps: Deps) -> list[str]:
    """Kahn's order with ties broken by declaration order (the SEQUENTIAL order).

    Raises:
        GraphError: The graph has a cycle (named as ``A -> B -> A``).
    """
    index = {sid: i for i, sid in enumerate(deps)}
    ids = list(deps)
    waiting = {sid: len({d for d in ds if d in index}) for sid, ds in deps.items()}
    dependents = _dependents(deps)
    heap = [index[sid] for sid, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        sid = ids[heapq.heappop(heap)]
        order.append(sid)
        for child in dependents[sid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(heap, index[child])
    if len(order) != len(ids):
        cycle = find_cycle(deps) or []
        raise GraphError("dependency cycle: " + " -> ".join(cycle))
    return order


def critical_path_lengths(deps: Deps, durations: Mapping[str, float]) -> dict[str, float]:
    """The longest duration-weighted path from each step to the end, the step included."""
    dependents = _dependents(deps)
    length: dict[str, float] = {}
    for sid in reversed(topological_order(deps)):
        tail = max((length[d] for d in dependents[sid]), default=0.0)
        length[sid] = float(durations.get(sid) or 0.0) + tail
    return length


def critical_path(deps: Deps, durations: Mapping[str, float]) -> list[str]:
    """The step ids of the longest estimated chain, first to last.

    Ties go to the chain with more steps, then to the step declared first.
    Unknown dependencies are ignored; an empty graph gives [].

    Raises:
        GraphError: The graph has a cycle.
    """
    if not deps:
        return []
    dependents = _dependents(deps)
    weight: dict[str, tuple[float, int]] = {}
    for sid in reversed(topological_order(deps)):
        tail = max((weight[d] for d in dependents[sid]), default=(0.0, 0))
        weight[sid] = (float(durations.get(sid) or 0.0) + tail[0], tail[1] + 1)
    roots = [sid for sid, ds in deps.items() if not any(d in deps for d in ds)]
    current = max(roots, key=weight.__getitem__)  # max keeps the first of equals
    path = [current]
    while dependents[current]:
        current = max(dependents[current], key=weight.__getitem__)
        path.append(current)
    return path
