"""Graph checks, cycles, topological order and critical paths as tables (dwe.common.graph).

The scheduler, the api layer's validation and the clients all use this one module.
"""

from __future__ import annotations

import pytest

from dwe.common import graph
from dwe.common.graph import GraphError, find_cycle
from dwe.server.engine.model import StepSpec
from tests.support.specs import GUIDE, GUIDE_TIMES, S


def check_graph(steps: list[StepSpec]) -> None:
    graph.check_steps([(s.step_id, s.dependencies) for s in steps])


def topological_order(steps: list[StepSpec]) -> list[str]:
    return graph.topological_order({s.step_id: s.dependencies for s in steps})


def _durations(steps: list[StepSpec]) -> dict[str, float]:
    return {s.step_id: s.estimated_duration for s in steps}


def critical_path_lengths(steps: list[StepSpec]) -> dict[str, float]:
    return graph.critical_path_lengths(
        {s.step_id: s.dependencies for s in steps}, _durations(steps)
    )


def critical_path(steps: list[StepSpec]) -> list[str]:
    return graph.critical_path({s.step_id: s.dependencies for s in steps}, _durations(steps))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        pytest.param([], "workflow has no steps", id="empty-workflow"),
        pytest.param([S("")], "steps[0]: step_id is empty", id="empty-step-id"),
        pytest.param([S("a"), S("")], "steps[1]: step_id is empty", id="empty-step-id-second"),
        pytest.param(
            [S("a"), S("b"), S("a")],
            "steps[2]: duplicate step_id 'a' (first at steps[0])",
            id="duplicate-id-names-both-indexes",
        ),
        pytest.param(
            [S("x"), S("a"), S("b"), S("c"), S("b")],
            "steps[4]: duplicate step_id 'b' (first at steps[2])",
            id="duplicate-id-later",
        ),
        pytest.param([S("a"), S("b", "x")], "step 'b': unknown dependency 'x'", id="unknown-dep"),
        pytest.param([S("a", "a")], "step 'a' depends on itself", id="self-dependency"),
        pytest.param(
            [S("a"), S("b", "a", "a")], "step 'b': dependency listed twice", id="duplicate-dep"
        ),
        pytest.param(
            [S("A", "C"), S("B", "A"), S("C", "B")],
            "dependency cycle: A -> B -> C -> A",
            id="three-cycle",
        ),
        pytest.param([S("a", "b"), S("b", "a")], "dependency cycle: a -> b -> a", id="two-cycle"),
        pytest.param(
            [S("root"), S("x", "root", "z"), S("y", "x"), S("z", "y"), S("tail", "z")],
            "dependency cycle: x -> y -> z -> x",
            id="cycle-behind-a-root",
        ),
    ],
)
def test_check_graph_rejects(steps: list[StepSpec], message: str) -> None:
    with pytest.raises(GraphError) as exc:
        check_graph(steps)
    assert str(exc.value) == message
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([S("a")], id="single"),
        pytest.param([S("a"), S("b", "a"), S("c", "a"), S("d", "b", "c")], id="diamond"),
        pytest.param([S("d", "b", "c"), S("b", "a"), S("c", "a"), S("a")], id="declared-late"),
        pytest.param([S("a"), S("b"), S("c")], id="independent"),
    ],
)
def test_check_graph_accepts(steps: list[StepSpec]) -> None:
    check_graph(steps)


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        ({"a": [], "b": ["a"]}, None),
        ({"A": ["C"], "B": ["A"], "C": ["B"]}, ["A", "B", "C", "A"]),
        ({"a": ["a"]}, ["a", "a"]),
        ({"p": [], "q": ["p", "r"], "r": ["q"]}, ["q", "r", "q"]),
    ],
)
def test_find_cycle(deps: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(deps) == cycle


def test_find_cycle_deep_chain_does_not_recurse() -> None:
    n = 20_000
    deps = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(n)}
    assert find_cycle(deps) is None
    deps["s0"] = [f"s{n - 1}"]
    cycle = find_cycle(deps)
    assert cycle is not None and len(cycle) == n + 1 and cycle[0] == cycle[-1] == "s0"


@pytest.mark.parametrize(
    ("steps", "order"),
    [
        pytest.param([S("a"), S("b"), S("c")], ["a", "b", "c"], id="declaration-order"),
        pytest.param([S("c"), S("b"), S("a")], ["c", "b", "a"], id="not-alphabetical"),
        pytest.param([S("a"), S("b"), S("c", "a")], ["a", "b", "c"], id="tie-earlier-declared"),
        pytest.param([S("b", "a"), S("a")], ["a", "b"], id="dependency-first"),
        pytest.param(
            [S("fetch"), S("analyze", "fetch"), S("history"), S("recommend", "analyze", "history")],
            ["fetch", "analyze", "history", "recommend"],
            id="diamond-ish",
        ),
        pytest.param([S("x", "z"), S("y"), S("z", "y"), S("w")], ["y", "z", "x", "w"], id="mixed"),
    ],
)
def test_topological_order(steps: list[StepSpec], order: list[str]) -> None:
    assert topological_order(steps) == order


@pytest.mark.parametrize(
    ("steps", "lengths", "path"),
    [
        pytest.param([], {}, [], id="empty"),
        pytest.param([S("a", est=3)], {"a": 3}, ["a"], id="single"),
        pytest.param(
            [S("a", est=1), S("b", "a", est=5), S("c", "a", est=2), S("d", "b", "c", est=1)],
            {"a": 7, "b": 6, "c": 3, "d": 1},
            ["a", "b", "d"],
            id="diamond-heavy-left",
        ),
        pytest.param(
            [S("a", est=1), S("b", "a", est=1), S("c", "a", est=9), S("d", "b", "c", est=1)],
            {"a": 11, "b": 2, "c": 10, "d": 1},
            ["a", "c", "d"],
            id="diamond-heavy-right",
        ),
        pytest.param(
            [S("short", est=2), S("long1", est=1), S("long2", "long1", est=4)],
            {"short": 2, "long1": 5, "long2": 4},
            ["long1", "long2"],
            id="two-roots",
        ),
        pytest.param(
            [S("a"), S("b")], {"a": 0.0, "b": 0.0}, ["a"], id="no-estimates-first-declared"
        ),
    ],
)
def test_critical_path(steps: list[StepSpec], lengths: dict[str, float], path: list[str]) -> None:
    assert critical_path_lengths(steps) == lengths
    assert critical_path(steps) == path


# -- the same functions over plain mappings (how the clients use them) --


@pytest.mark.parametrize(
    ("deps", "durations", "want"),
    [
        ({}, {}, []),
        ({"a": []}, {"a": 1.0}, ["a"]),
        (GUIDE, GUIDE_TIMES, ["fetch_account_data", "analyze_risk", "generate_recommendations"]),
        # the longer branch wins even with fewer steps
        ({"a": [], "b": ["a"], "c": ["b"], "d": []}, {"a": 1, "b": 1, "c": 1, "d": 5}, ["d"]),
        # ties go to the step declared first
        ({"x": [], "y": []}, {"x": 2, "y": 2}, ["x"]),
        ({"a": [], "b": [], "c": ["a", "b"]}, {"a": 1, "b": 1, "c": 1}, ["a", "c"]),
        # no estimates: the longest chain by count is still a valid answer
        ({"a": [], "b": ["a"]}, {}, ["a", "b"]),
        # unknown dependencies are ignored
        ({"a": ["ghost"]}, {"a": 1}, ["a"]),
    ],
)
def test_critical_path_of_mappings(deps, durations, want) -> None:  # type: ignore[no-untyped-def]
    assert graph.critical_path(deps, durations) == want


@pytest.mark.parametrize(
    ("deps", "want"),
    [
        ({"a": [], "b": ["a"]}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"A": ["C"], "B": ["A"], "C": ["B"]}, ["A", "B", "C", "A"]),
        ({"x": [], "A": ["B"], "B": ["A"]}, ["A", "B", "A"]),
    ],
)
def test_find_cycle_of_mappings(deps, want) -> None:  # type: ignore[no-untyped-def]
    assert find_cycle(deps) == want


def test_topological_order_keeps_declaration_order_for_ties() -> None:
    deps = {"c": [], "b": ["c"], "a": [], "d": ["a", "b"]}
    assert graph.topological_order(deps) == ["c", "b", "a", "d"]


def test_cycle_is_named() -> None:
    with pytest.raises(GraphError, match="A -> B -> C -> A"):
        graph.critical_path({"A": ["C"], "B": ["A"], "C": ["B"]}, {})
