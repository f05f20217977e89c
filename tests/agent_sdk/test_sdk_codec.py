"""Payload encode/decode as tables."""

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


def test_lazy_inputs_decode_once_and_behave_like_a_mapping() -> None:
    raw = {"a": _p(b'{"x":1}'), "b": _p(b"")}
    inputs = codec.LazyInputs(raw)
    assert len(inputs) == 2 and set(inputs) == {"a", "b"} and "a" in inputs
    first = inputs["a"]
    assert first == {"x": 1}
    assert inputs["a"] is first  # cached
    assert inputs["b"] is None
    assert inputs.get("missing") is None
    with pytest.raises(KeyError):
        inputs["missing"]
    assert dict(inputs) == {"a": {"x": 1}, "b": None}
