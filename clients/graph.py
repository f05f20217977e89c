"""Pure graph helpers over step ids, dependencies and estimated durations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dwe.clients.errors import ValidationError

__all__ = ["critical_path", "find_cycle", "topological_order"]


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Finds one dependency cycle, if any.

    Args:
        deps: step_id -> the step_ids it depends on. Unknown ids are ignored.

    Returns:
        The cycle as a closed path in dependency-to-dependent order, e.g.
        ``["A", "B", "C", "A"]``, or None when the graph is acyclic.
    """
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for dep in deps[node]:
            if dep not in color:
                continue
            if color[dep] == grey:
                cycle = [*stack[stack.index(dep) :], dep]
                return cycle[::-1]
            if color[dep] == white and (found := visit(dep)):
                return found
        stack.pop()
        color[node] = black
        return None

    for node in deps:
        if color[node] == white and (found := visit(node)):
            return found
    return None


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Orders step ids so each comes after its dependencies; ties keep declaration order.

    Args:
        deps: step_id -> the step_ids it depends on, in declaration order.
            Unknown dependencies are ignored.

    Raises:
        ValidationError: The graph has a cycle (named as ``A -> B -> A``).
    """
    cycle = find_cycle(deps)
    if cycle:
        raise ValidationError(f"dependency cycle: {' -> '.join(cycle)}")
    position = {node: i for i, node in enumerate(deps)}
    indegree = {node: sum(1 for d in set(ds) if d in deps) for node, ds in deps.items()}
    dependents: dict[str, list[str]] = {node: [] for node in deps}
    for node, ds in deps.items():
        for dep in set(ds):
            if dep in deps:
                dependents[dep].append(node)
    ready = sorted((n for n, k in indegree.items() if k == 0), key=position.__getitem__)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in dependents[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
        ready.sort(key=position.__getitem__)
    return order


def critical_path(deps: Mapping[str, Sequence[str]], durations: Mapping[str, float]) -> list[str]:
    """The duration-weighted longest chain of dependent steps.

    Args:
        deps: step_id -> the step_ids it depends on, in declaration order.
        durations: step_id -> estimated duration in seconds (missing means 0).

    Returns:
        Step ids from the first step of the chain to its last. Equal durations
        go to the chain with more steps, then to the step declared first.
        Empty for an empty graph.

    Raises:
        ValidationError: The graph has a cycle.
    """
    order = topological_order(deps)
    position = {node: i for i, node in enumerate(deps)}
    # (total duration, steps) of the heaviest chain ending at each node
    weight: dict[str, tuple[float, int]] = {}
    via: dict[str, str | None] = {}
    for node in order:
        best: str | None = None
        for dep in deps[node]:
            if dep in weight and (best is None or weight[dep] > weight[best]):
                best = dep
        via[node] = best
        total, count = weight[best] if best else (0.0, 0)
        weight[node] = (total + float(durations.get(node) or 0.0), count + 1)
    if not weight:
        return []
    end = max(weight, key=lambda n: (weight[n], -position[n]))
    path: list[str] = []
    cursor: str | None = end
    while cursor is not None:
        path.append(cursor)
        cursor = via[cursor]
    return path[::-1]
