"""Data transformations applied to step outputs: filter, map, aggregate. Pure.

Semantics (docs/concepts.md has the user-facing table):
- filter ``{"criteria": {field: {operator: operand}}, "source": key?}`` keeps the
  items of a list that meet every criterion. Applied to a list, to the list at
  ``source``, or to every list of objects directly inside an object.
- map ``{"mapping": {old: new}, "select": [keys]?}`` renames keys (and with
  ``select`` keeps only those, named after renaming) of an object or of each
  object in a list.
- aggregate ``{"aggregate_type": sum|count|avg|min|max, "field": f?, "source": key?}``
  reduces a list (or the list at ``source``, or all values of an object, lists
  expanded) to ``{aggregate_type: result}``; with ``field`` it reads that key of
  each object item. Non-numeric values are ignored except by count.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Final

from .model import Transformation


class TransformError(ValueError):
    """A transformation is malformed (at create time) or cannot apply (at run time)."""


# Marks a field missing from an item (None is a real JSON value).
_ABSENT: Final = object()


def _contains(a: Any, b: Any) -> bool:
    try:
        return b in a
    except TypeError:
        return False


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        try:
            return bool(op(a, b))
        except TypeError:
            return False

    return compare


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": operator.eq,
    "not_equals": operator.ne,
    "greater_than": _ordered(operator.gt),
    "less_than": _ordered(operator.lt),
    "greater_than_or_equal": _ordered(operator.ge),
    "less_than_or_equal": _ordered(operator.le),
    "in": lambda a, b: _contains(b, a),
    "not_in": lambda a, b: not _contains(b, a),
    "contains": _contains,
    "exists": lambda a, b: (a is not _ABSENT) == bool(b),
}
ALIASES = {
    "gte": "greater_than_or_equal",
    "lte": "less_than_or_equal",
    "gt": "greater_than",
    "lt": "less_than",
    "eq": "equals",
    "ne": "not_equals",
}
AGGREGATES = ("sum", "count", "avg", "min", "max")
TYPES = ("filter", "map", "aggregate")


def check_transformation(type_: str, params: dict[str, Any]) -> None:
    """Raise TransformError naming what is wrong with one transformation."""
    if type_ not in TYPES:
        raise TransformError(f"unknown transformation type {type_!r} (use {', '.join(TYPES)})")
    for key in ("field", "source"):
        if key in params and not isinstance(params[key], str):
            raise TransformError(f"{type_} {key!r} must be a key name (a string)")
    if type_ == "filter":
        criteria = params.get("criteria")
        if not isinstance(criteria, dict) or not criteria:
            raise TransformError("filter needs a non-empty 'criteria' object")
        for field, conditions in criteria.items():
            if not isinstance(conditions, dict) or not conditions:
                raise TransformError(f"criteria for {field!r} must be an object of operators")
            for op, operand in conditions.items():
                name = ALIASES.get(op, op)
                if name not in OPERATORS:
                    raise TransformError(f"unknown operator {op!r} for field {field!r}")
                if name in ("in", "not_in") and not isinstance(operand, list):
                    raise TransformError(f"operator {op!r} for field {field!r} needs a list")
    elif type_ == "map":
        mapping = params.get("mapping", {})
        select = params.get("select")
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise TransformError("map 'mapping' must be an object of old -> new key names")
        if select is not None and not (
            isinstance(select, list) and all(isinstance(k, str) for k in select)
        ):
            raise TransformError("map 'select' must be a list of key names")
        if not mapping and select is None:
            raise TransformError("map needs 'mapping' or 'select'")
    else:
        kind = params.get("aggregate_type")
        if kind not in AGGREGATES:
            raise TransformError(f"unknown aggregate_type {kind!r} (use {', '.join(AGGREGATES)})")


def _matches(item: Any, criteria: dict[str, dict[str, Any]]) -> bool:
    if not isinstance(item, dict):
        return False
    for field, conditions in criteria.items():
        value = item.get(field, _ABSENT)
        for op, operand in conditions.items():
            name = ALIASES.get(op, op)
            if value is _ABSENT and name != "exists":
                return False
            if not OPERATORS[name](value, operand):
                return False
    return True


def _filter(value: Any, params: dict[str, Any]) -> Any:
    criteria = params["criteria"]
    source = params.get("source")
    if isinstance(value, list):
        return [item for item in value if _matches(item, criteria)]
    if isinstance(value, dict):
        out = dict(value)
        for key, inner in value.items():
            if (source is None or key == source) and isinstance(inner, list):
                out[key] = [item for item in inner if _matches(item, criteria)]
        return out
    raise TransformError(f"filter needs a list or an object, got {type(value).__name__}")


def _rename(obj: Any, mapping: dict[str, str], select: Sequence[str] | None) -> Any:
    if not isinstance(obj, dict):
        return obj
    renamed = {mapping.get(k, k): v for k, v in obj.items()}
    if select is not None:
        renamed = {k: renamed[k] for k in select if k in renamed}
    return renamed


def _map(value: Any, params: dict[str, Any]) -> Any:
    mapping, select = params.get("mapping", {}), params.get("select")
    if isinstance(value, list):
        return [_rename(item, mapping, select) for item in value]
    if isinstance(value, dict):
        return _rename(value, mapping, select)
    raise TransformError(f"map needs an object or a list, got {type(value).__name__}")


def _aggregate(value: Any, params: dict[str, Any]) -> Any:
    kind, field, source = params["aggregate_type"], params.get("field"), params.get("source")
    if isinstance(value, dict):
        if source is not None:
            items = value.get(source, [])
            if not isinstance(items, list):
                raise TransformError(f"aggregate source {source!r} is not a list")
        else:
            items = []
            for v in value.values():
                items.extend(v if isinstance(v, list) else [v])
    elif isinstance(value, list):
        items = value
    else:
        raise TransformError(f"aggregate needs a list or an object, got {type(value).__name__}")
    if field is not None:
        items = [i.get(field) for i in items if isinstance(i, dict) and field in i]
    if kind == "count":
        return {kind: len(items)}
    numbers = [i for i in items if isinstance(i, int | float) and not isinstance(i, bool)]
    if kind == "sum":
        result: Any = sum(numbers)
    elif not numbers:
        result = None
    elif kind == "avg":
        result = sum(numbers) / len(numbers)
    elif kind == "min":
        result = min(numbers)
    else:
        result = max(numbers)
    return {kind: result}


_APPLY: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "filter": _filter,
    "map": _map,
    "aggregate": _aggregate,
}


def apply_transformations(value: Any, transformations: Sequence[Transformation]) -> Any:
    """Apply each transformation in order to a decoded output value."""
    for t in transformations:
        value = _APPLY[t.type](value, t.params)
    return value
