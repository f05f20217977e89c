"""Data transformations: validation and application, as tables."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from dwe.server.engine.model import JSON_ENCODING, Blob, Transformation
from dwe.server.engine.outcomes import transform_output
from dwe.server.engine.transforms import (
    TransformError,
    apply_transformations,
    check_transformation,
)

ITEMS = [
    {"id": 1, "name": "apple", "price": 3, "tags": ["fruit", "red"], "note": None},
    {"id": 2, "name": "banana", "price": 1, "tags": ["fruit"]},
    {"id": 3, "name": "carrot", "price": 2, "tags": ["veg"], "note": "x"},
    {"id": 4, "name": "durian", "price": 10, "tags": []},
]


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [i["id"] for i in items]


def T(type_: str, **params: Any) -> Transformation:
    return Transformation(type_, params)


# -- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "params", "message"),
    [
        pytest.param("sort", {}, "unknown transformation type 'sort'", id="unknown-type"),
        pytest.param("filter", {}, "filter needs a non-empty 'criteria'", id="no-criteria"),
        pytest.param(
            "filter", {"criteria": {}}, "filter needs a non-empty 'criteria'", id="empty-criteria"
        ),
        pytest.param(
            "filter", {"criteria": []}, "filter needs a non-empty 'criteria'", id="criteria-list"
        ),
        pytest.param(
            "filter", {"criteria": {"a": 1}}, "criteria for 'a' must be an object", id="bare-value"
        ),
        pytest.param(
            "filter", {"criteria": {"a": {}}}, "criteria for 'a' must be an object", id="no-ops"
        ),
        pytest.param(
            "filter",
            {"criteria": {"a": {"like": "x"}}},
            "unknown operator 'like' for field 'a'",
            id="unknown-operator",
        ),
        pytest.param(
            "filter",
            {"criteria": {"a": {"in": "xy"}}},
            "operator 'in' for field 'a' needs a list",
            id="in-needs-list",
        ),
        pytest.param(
            "filter",
            {"criteria": {"a": {"not_in": 3}}},
            "operator 'not_in' for field 'a' needs a list",
            id="not-in-needs-list",
        ),
        pytest.param("map", {}, "map needs 'mapping' or 'select'", id="map-empty"),
        pytest.param("map", {"mapping": {}}, "map needs 'mapping' or 'select'", id="map-empty-2"),
        pytest.param("map", {"mapping": {"a": 1}}, "map 'mapping' must be", id="map-non-str"),
        pytest.param("map", {"mapping": ["a"]}, "map 'mapping' must be", id="mapping-list"),
        pytest.param("map", {"select": "a"}, "map 'select' must be a list", id="select-str"),
        pytest.param("map", {"select": [1]}, "map 'select' must be a list", id="select-ints"),
        pytest.param("aggregate", {}, "unknown aggregate_type None", id="agg-missing"),
        pytest.param(
            "aggregate",
            {"aggregate_type": "median"},
            "unknown aggregate_type 'median'",
            id="agg-unknown",
        ),
    ],
)
def test_check_transformation_rejects(type_: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(TransformError, match="^" + _re(message)):
        check_transformation(type_, params)


def _re(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.parametrize(
    ("type_", "params"),
    [
        ("filter", {"criteria": {"a": {"equals": 1}}}),
        ("filter", {"criteria": {"a": {"gte": 1, "lt": 5}, "b": {"exists": True}}}),
        ("filter", {"criteria": {"a": {"in": [1, 2]}, "b": {"not_in": []}}}),
        ("filter", {"criteria": {"a": {"contains": "x"}}, "source": "items"}),
        ("map", {"mapping": {"a": "b"}}),
        ("map", {"select": ["a"]}),
        ("map", {"select": []}),
        ("map", {"mapping": {"a": "b"}, "select": ["b"]}),
        *[("aggregate", {"aggregate_type": k}) for k in ("sum", "count", "avg", "min", "max")],
        ("aggregate", {"aggregate_type": "sum", "field": "price", "source": "items"}),
    ],
)
def test_check_transformation_accepts(type_: str, params: dict[str, Any]) -> None:
    check_transformation(type_, params)


# -- filter operators -----------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "kept"),
    [
        pytest.param({"price": {"equals": 2}}, [3], id="equals"),
        pytest.param({"name": {"equals": "apple"}}, [1], id="equals-str"),
        pytest.param({"price": {"not_equals": 2}}, [1, 2, 4], id="not_equals"),
        pytest.param({"price": {"greater_than": 2}}, [1, 4], id="greater_than"),
        pytest.param({"price": {"less_than": 3}}, [2, 3], id="less_than"),
        pytest.param({"price": {"greater_than_or_equal": 3}}, [1, 4], id="gte"),
        pytest.param({"price": {"less_than_or_equal": 2}}, [2, 3], id="lte"),
        pytest.param({"price": {"gt": 1, "lt": 10}}, [1, 3], id="aliases-range"),
        pytest.param({"price": {"gte": 1, "lte": 1}}, [2], id="aliases-gte-lte"),
        pytest.param({"price": {"eq": 10}}, [4], id="alias-eq"),
        pytest.param({"price": {"ne": 10}}, [1, 2, 3], id="alias-ne"),
        pytest.param({"name": {"in": ["apple", "durian", "kiwi"]}}, [1, 4], id="in"),
        pytest.param({"name": {"not_in": ["apple", "durian"]}}, [2, 3], id="not_in"),
        pytest.param({"tags": {"contains": "fruit"}}, [1, 2], id="contains-list"),
        pytest.param({"name": {"contains": "nan"}}, [2], id="contains-substring"),
        pytest.param({"price": {"contains": 1}}, [], id="contains-on-number-false"),
        pytest.param({"note": {"exists": True}}, [1, 3], id="exists-true-none-counts"),
        pytest.param({"note": {"exists": False}}, [2, 4], id="exists-false"),
        pytest.param({"missing": {"equals": None}}, [], id="absent-never-matches"),
        pytest.param({"missing": {"not_equals": 1}}, [], id="absent-not-equals"),
        pytest.param({"name": {"greater_than": 3}}, [], id="mixed-types-false"),
        pytest.param({"price": {"gt": 1}, "tags": {"contains": "fruit"}}, [1], id="all-criteria"),
    ],
)
def test_filter_operators(criteria: dict[str, Any], kept: list[int]) -> None:
    out = apply_transformations(ITEMS, [T("filter", criteria=criteria)])
    assert ids(out) == kept


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        pytest.param(
            {"items": ITEMS, "meta": {"n": 4}},
            {"criteria": {"price": {"gt": 2}}},
            {"items": [ITEMS[0], ITEMS[3]], "meta": {"n": 4}},
            id="lists-in-object",
        ),
        pytest.param(
            {"a": ITEMS, "b": ITEMS},
            {"criteria": {"id": {"equals": 2}}, "source": "b"},
            {"a": ITEMS, "b": [ITEMS[1]]},
            id="only-source",
        ),
        pytest.param(
            [1, "x", {"id": 1}],
            {"criteria": {"id": {"exists": True}}},
            [{"id": 1}],
            id="non-objects-dropped",
        ),
    ],
)
def test_filter_shapes(value: Any, params: dict[str, Any], expected: Any) -> None:
    assert apply_transformations(value, [T("filter", **params)]) == expected


@pytest.mark.parametrize("value", [3, "text", None])
def test_filter_rejects_scalars(value: Any) -> None:
    with pytest.raises(TransformError, match="filter needs a list or an object"):
        apply_transformations(value, [T("filter", criteria={"a": {"equals": 1}})])


# -- map --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        pytest.param({"a": 1, "b": 2}, {"mapping": {"a": "x"}}, {"x": 1, "b": 2}, id="rename"),
        pytest.param(
            {"a": 1, "b": 2, "c": 3}, {"select": ["c", "a"]}, {"c": 3, "a": 1}, id="select"
        ),
        pytest.param(
            {"a": 1, "b": 2},
            {"mapping": {"a": "x"}, "select": ["x", "zz"]},
            {"x": 1},
            id="select-after-rename",
        ),
        pytest.param(
            [{"a": 1, "b": 2}, {"a": 3}, 7],
            {"mapping": {"a": "y"}},
            [{"y": 1, "b": 2}, {"y": 3}, 7],
            id="each-item",
        ),
        pytest.param({"a": 1}, {"select": []}, {}, id="select-nothing"),
    ],
)
def test_map(value: Any, params: dict[str, Any], expected: Any) -> None:
    assert apply_transformations(value, [T("map", **params)]) == expected


def test_map_rejects_scalars() -> None:
    with pytest.raises(TransformError, match="map needs an object or a list"):
        apply_transformations(5, [T("map", select=["a"])])


# -- aggregate --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        pytest.param([1, 2, 3.5], {"aggregate_type": "sum"}, {"sum": 6.5}, id="sum"),
        pytest.param([1, 2, 3], {"aggregate_type": "count"}, {"count": 3}, id="count"),
        pytest.param([1, 2, 3], {"aggregate_type": "avg"}, {"avg": 2.0}, id="avg"),
        pytest.param([4, -1, 3], {"aggregate_type": "min"}, {"min": -1}, id="min"),
        pytest.param([4, -1, 3], {"aggregate_type": "max"}, {"max": 4}, id="max"),
        pytest.param(
            [1, "x", True, None, 2], {"aggregate_type": "sum"}, {"sum": 3}, id="non-numeric-skip"
        ),
        pytest.param([1, "x", True], {"aggregate_type": "count"}, {"count": 3}, id="count-all"),
        pytest.param([], {"aggregate_type": "sum"}, {"sum": 0}, id="empty-sum"),
        pytest.param([], {"aggregate_type": "avg"}, {"avg": None}, id="empty-avg"),
        pytest.param(["a"], {"aggregate_type": "max"}, {"max": None}, id="no-numbers-max"),
        pytest.param(
            ITEMS, {"aggregate_type": "sum", "field": "price"}, {"sum": 16}, id="field-sum"
        ),
        pytest.param(
            ITEMS, {"aggregate_type": "count", "field": "note"}, {"count": 2}, id="field-count"
        ),
        pytest.param(
            ITEMS, {"aggregate_type": "avg", "field": "price"}, {"avg": 4.0}, id="field-avg"
        ),
        pytest.param(ITEMS, {"aggregate_type": "min", "field": "price"}, {"min": 1}, id="f-min"),
        pytest.param(ITEMS, {"aggregate_type": "max", "field": "price"}, {"max": 10}, id="f-max"),
        pytest.param(
            {"items": ITEMS, "other": [100]},
            {"aggregate_type": "sum", "field": "price", "source": "items"},
            {"sum": 16},
            id="field-and-source",
        ),
        pytest.param(
            {"items": [1, 2], "other": [100]},
            {"aggregate_type": "max", "source": "items"},
            {"max": 2},
            id="source",
        ),
        pytest.param(
            {"a": 1, "b": [2, 3], "c": "x"},
            {"aggregate_type": "sum"},
            {"sum": 6},
            id="object-values-expanded",
        ),
        pytest.param(
            {"a": 1, "b": [2, 3]}, {"aggregate_type": "count"}, {"count": 3}, id="object-count"
        ),
        pytest.param(
            {"items": [1]},
            {"aggregate_type": "count", "source": "nope"},
            {"count": 0},
            id="missing-source",
        ),
    ],
)
def test_aggregate(value: Any, params: dict[str, Any], expected: Any) -> None:
    assert apply_transformations(value, [T("aggregate", **params)]) == expected


def test_aggregate_rejects_scalars() -> None:
    with pytest.raises(TransformError, match="aggregate needs a list or an object"):
        apply_transformations(3, [T("aggregate", aggregate_type="sum")])


@pytest.mark.parametrize("kind", ["count", "sum"])
def test_aggregate_source_that_is_not_a_list_is_a_transform_error(kind: str) -> None:
    with pytest.raises(TransformError):
        apply_transformations({"total": 5}, [T("aggregate", aggregate_type=kind, source="total")])


def test_chain_applies_in_order() -> None:
    chain = [
        T("filter", criteria={"tags": {"contains": "fruit"}}),
        T("map", mapping={"price": "cost"}, select=["name", "cost"]),
        T("aggregate", aggregate_type="sum", field="cost"),
    ]
    assert apply_transformations(ITEMS, chain) == {"sum": 4}
    assert apply_transformations(ITEMS, []) is ITEMS


# -- transform_output (the scheduler's wrapper over encoded outputs) -----------------


def blob(value: Any) -> Blob:
    return Blob(JSON_ENCODING, orjson.dumps(value))


@pytest.mark.parametrize(
    ("output", "expected", "error"),
    [
        pytest.param(blob([1, 2, 3]), {"sum": 6}, None, id="json"),
        pytest.param(Blob("", b"[4]"), {"sum": 4}, None, id="empty-encoding-is-json"),
        pytest.param(
            Blob("application/octet-stream", b"\x00"), None, "need json/plain", id="binary"
        ),
        pytest.param(
            Blob(JSON_ENCODING, b"{nope"), None, "data transformation failed", id="bad-json"
        ),
        pytest.param(None, None, "aggregate needs a list or an object", id="no-output"),
        pytest.param(blob("text"), None, "aggregate needs", id="scalar"),
    ],
)
def test_transform_output(output: Blob | None, expected: Any, error: str | None) -> None:
    out, err = transform_output(output, (T("aggregate", aggregate_type="sum"),))
    if error is None:
        assert err is None and out is not None
        assert out.encoding == JSON_ENCODING and orjson.loads(out.data) == expected
    else:
        assert out is None and err is not None
        assert error in err.message
        assert err.type == "TransformError" and err.retryable is False
