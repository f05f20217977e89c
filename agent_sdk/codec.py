"""Payload encoding: ``json/plain`` with orjson."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from dwe.v1 import common_pb2

#: The encoding the server interprets; an empty encoding means the same.
JSON_ENCODING = "json/plain"

_ORJSON_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class PayloadEncodingError(ValueError):
    """A payload cannot be decoded (unknown encoding or invalid JSON)."""


def encode(value: Any) -> common_pb2.Payload:
    """Encode a JSON-able value as a ``json/plain`` Payload.

    Args:
        value: Any value orjson can serialise; ``None`` becomes ``null``.

    Returns:
        The Payload.

    Raises:
        TypeError: If ``value`` is not JSON-serialisable.
    """
    return common_pb2.Payload(encoding=JSON_ENCODING, data=dumps(value))


def dumps(value: Any) -> bytes:
    """Serialise ``value`` to JSON bytes (``TypeError`` if it cannot)."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTS)
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"value is not JSON-serialisable: {exc}") from exc


def decode(payload: common_pb2.Payload, default: Any = None) -> Any:
    """Decode a Payload, returning ``default`` when it carries no data.

    Args:
        payload: The Payload; its encoding must be empty or ``json/plain``.
        default: Returned for empty data.

    Returns:
        The decoded value.

    Raises:
        PayloadEncodingError: For another encoding or invalid JSON.
    """
    data = payload.data
    if not data:
        return default
    if payload.encoding and payload.encoding != JSON_ENCODING:
        raise PayloadEncodingError(f"unsupported payload encoding {payload.encoding!r}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PayloadEncodingError(f"invalid JSON payload: {exc}") from exc


def decode_inputs(raw: Mapping[str, common_pb2.Payload]) -> dict[str, Any]:
    """Dependency outputs by step id, decoded: a plain dict, so a handler can return it
    or serialise it as it is."""
    return {step_id: decode(payload) for step_id, payload in raw.items()}
