"""JSON forms of domain values for storage (specs, contexts, registry entries)."""

from __future__ import annotations

from typing import Any

import orjson

from ..engine.model import (
    ExecutionMode,
    Priority,
    StepSpec,
    Transformation,
    WorkflowSpec,
)


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot store {type(obj).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


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


def metadata_to_json(metadata: tuple[tuple[str, str], ...]) -> str:
    """A Blob's codec metadata as JSON object text; '' when there is none."""
    return orjson.dumps(dict(metadata)).decode() if metadata else ""


def metadata_from_json(text: str) -> tuple[tuple[str, str], ...]:
    """Codec metadata back as sorted (key, value) pairs, as ``Blob.metadata`` holds them."""
    return tuple(sorted(orjson.loads(text).items())) if text else ()
