"""JSON forms of domain values for storage. Blob payloads are embedded, not re-encoded."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ..engine.model import (
    JSON_ENCODING,
    Blob,
    ExecutionMode,
    Priority,
    StepSpec,
    Transformation,
    WorkflowSpec,
)

_BLOB_KEY = "$blob"


def _default(obj: Any) -> Any:
    if isinstance(obj, Blob):
        if obj.encoding in (JSON_ENCODING, "") and obj.data:
            return {_BLOB_KEY: obj.encoding or JSON_ENCODING, "json": orjson.Fragment(obj.data)}
        return {_BLOB_KEY: obj.encoding, "b64": base64.b64encode(obj.data).decode()}
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot store {type(obj).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def _revive(value: Any) -> Any:
    if isinstance(value, dict):
        if _BLOB_KEY in value:
            if "json" in value:
                return Blob(value[_BLOB_KEY], orjson.dumps(value["json"]))
            return Blob(value[_BLOB_KEY], base64.b64decode(value.get("b64", "")))
        return {k: _revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


def loads(data: bytes | str) -> Any:
    return _revive(orjson.loads(data))


def spec_to_json(spec: WorkflowSpec) -> bytes:
    return orjson.dumps(spec)


def spec_from_json(data: bytes | str) -> WorkflowSpec:
    raw = orjson.loads(data)
    steps = tuple(
        StepSpec(
            **{
                **s,
                "dependencies": tuple(s["dependencies"]),
                "transformations": tuple(Transformation(**t) for t in s["transformations"]),
            }
        )
        for s in raw["steps"]
    )
    return WorkflowSpec(
        **{
            **raw,
            "steps": steps,
            "priority": Priority(raw["priority"]),
            "mode": ExecutionMode(raw["mode"]),
        }
    )
