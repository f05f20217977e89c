"""Payload encode/decode as tables."""

import json
from typing import Any

import pytest

from dwe.agent_sdk import codec
from dwe.v1 import common_pb2


def _p(data: bytes, encoding: str = "json/plain") -> common_pb2.Payload:
    return common_pb2.Payload(encoding=encoding, data=data)


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ({"risk": 0.42}, b'{"risk":0.42}'),
        (None, b"null"),
        ([1, "a", True], b'[1,"a",true]'),
        ("text", b'"text"'),
        ({1: "x"}, b'{"1":"x"}'),  # non-string keys allowed
        ({"u": "é"}, '{"u":"é"}'.encode()),
    ],
)
def test_encode_table(value: Any, data: bytes) -> None:
    payload = codec.encode(value)
    assert payload.encoding == "json/plain"
    assert payload.data == data


def test_encode_rejects_non_json() -> None:
    with pytest.raises(TypeError):
        codec.encode({"x": object()})


@pytest.mark.parametrize(
    ("payload", "default", "expected"),
    [
        (_p(b'{"a":1}'), None, {"a": 1}),
        (_p(b'{"a":1}', encoding=""), None, {"a": 1}),  # empty encoding = json/plain
        (_p(b""), None, None),  # empty input -> None
        (_p(b"", encoding=""), {}, {}),  # empty context -> {}
        (common_pb2.Payload(), {}, {}),
        (_p(b"null"), {}, None),
        (_p(b"[1,2]"), None, [1, 2]),
    ],
)
def test_decode_table(payload: common_pb2.Payload, default: Any, expected: Any) -> None:
    assert codec.decode(payload, default) == expected


@pytest.mark.parametrize(
    "payload", [_p(b"{not json"), _p(b"\x00\x01", encoding="application/x-protobuf")]
)
def test_decode_errors(payload: common_pb2.Payload) -> None:
    with pytest.raises(codec.PayloadEncodingError):
        codec.decode(payload)


def test_inputs_are_a_plain_dict_that_serialises_as_it_is() -> None:
    """Issue 8: ``return task.inputs`` used to fail (a lazy mapping was not JSON)."""
    inputs = codec.decode_inputs({"a": _p(b'{"x":1}'), "b": _p(b"")})
    assert type(inputs) is dict and inputs == {"a": {"x": 1}, "b": None}
    assert json.loads(codec.dumps(inputs)) == {"a": {"x": 1}, "b": None}
    assert json.loads(json.dumps(inputs)) == inputs
