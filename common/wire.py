"""Small conversions between Python values and dwe.v1 wire types.

Payloads, durations and timestamps; shared by the spec builder and the event
mapper so each conversion is written once.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import orjson
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from dwe.common.errors import ValidationError
from dwe.v1 import common_pb2

__all__ = [
    "JSON_ENCODING",
    "RawPayload",
    "decode_payload",
    "duration_from_seconds",
    "duration_seconds",
    "encode_json",
    "timestamp_seconds",
]

JSON_ENCODING = "json/plain"


class RawPayload(bytes):
    """Payload bytes in an encoding the client does not interpret.

    Attributes:
        encoding: The payload's encoding name.
    """

    encoding: str

    def __new__(cls, data: bytes, encoding: str) -> RawPayload:
        obj = super().__new__(cls, data)
        obj.encoding = encoding
        return obj


def encode_json(value: Any, *, where: str) -> common_pb2.Payload:
    """Encodes a JSON-serialisable value as a ``json/plain`` Payload.

    Args:
        value: Any value orjson can serialise (dicts, lists, str, numbers,
            datetimes, dataclasses, ...).
        where: Names the field in error messages.

    Raises:
        ValidationError: The value cannot be serialised to JSON.
    """
    try:
        data = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as err:
        raise ValidationError(f"{where} is not JSON-serialisable: {err}") from err
    return common_pb2.Payload(encoding=JSON_ENCODING, data=data)


def decode_payload(payload: common_pb2.Payload | None) -> Any:
    """Decodes a Payload: JSON for ``json/plain`` (or no encoding), raw bytes otherwise.

    Returns:
        The decoded value; None for an absent or empty payload. Payloads in
        another encoding come back as :class:`RawPayload` (bytes with
        ``.encoding``).
    """
    if payload is None or (not payload.data and not payload.encoding):
        return None
    if payload.encoding in ("", JSON_ENCODING):
        if not payload.data:
            return None
        try:
            return orjson.loads(payload.data)
        except orjson.JSONDecodeError:
            return RawPayload(payload.data, payload.encoding or JSON_ENCODING)
    return RawPayload(payload.data, payload.encoding)


def duration_from_seconds(value: Any, *, where: str) -> Duration:
    """Builds a Duration from seconds (int or float) or a ``timedelta``.

    Raises:
        ValidationError: The value is not a finite, non-negative number.
    """
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{where} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"{where} must be a finite number >= 0, got {value!r}")
    duration = Duration()
    duration.FromNanoseconds(round(value * 1_000_000_000))
    return duration


def duration_seconds(duration: Duration) -> float:
    """Returns a Duration as float seconds (0.0 when unset)."""
    return duration.seconds + duration.nanos / 1e9


def timestamp_seconds(ts: Timestamp) -> float | None:
    """Returns a Timestamp as float epoch seconds, or None when unset."""
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.seconds + ts.nanos / 1e9
