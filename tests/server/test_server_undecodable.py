"""Undecodable requests (issue 7, fault 4): INVALID_ARGUMENT and one log line, never a traceback."""

from __future__ import annotations

import logging

import grpc
import pytest

from dwe.server.app import DweServer
from dwe.v1 import agent_pb2

from ..conftest import wait_for
from .raw import METHODS, call_raw, healthy, method_descriptor, row_counts

GARBAGE = b"\xff\xff\xff\xff"  # a tag whose varint never ends
TRUNCATED = b"\x0a\x10only-part"  # field 1 says 16 bytes follow, 9 do


@pytest.mark.parametrize("data", [GARBAGE, TRUNCATED], ids=["garbage", "truncated"])
@pytest.mark.parametrize(("service", "method"), METHODS, ids=[m for _, m in METHODS])
async def test_undecodable_request_is_invalid_argument(
    server: DweServer,
    caplog: pytest.LogCaptureFixture,
    service: str,
    method: str,
    data: bytes,
) -> None:
    before = row_counts(server.config.db_path)
    caplog.set_level(logging.INFO)
    async with grpc.aio.insecure_channel(server.address) as channel:
        err = await call_raw(channel, service, method, data)
        assert err is not None
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        request = method_descriptor(service, method).input_type.full_name
        assert f"request is not a valid {request}" in (err.details() or "")
        assert await healthy(channel)
    assert row_counts(server.config.db_path) == before
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r for r in caplog.records if "not a valid" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]


# Invalid UTF-8 in a string field: field 1 of each request that has a string there.
@pytest.mark.parametrize(
    ("service", "method"),
    [
        (s, m)
        for s, m in METHODS
        if (f := method_descriptor(s, m).input_type.fields_by_number.get(1)) is not None
        and f.type == f.TYPE_STRING
    ],
    ids=lambda v: str(v),
)
async def test_invalid_utf8_is_invalid_argument(
    server: DweServer, service: str, method: str
) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        err = await call_raw(channel, service, method, b"\x0a\x02\xc3\x28")
        assert err is not None
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        assert "request is not a valid dwe.v1." in (err.details() or "")
        assert await healthy(channel)


async def test_undecodable_message_after_hello_ends_the_session(server: DweServer) -> None:
    """A session that sends bytes that do not decode ends with INVALID_ARGUMENT; the
    agent's session is closed and another agent is unaffected."""
    hello = agent_pb2.ConnectRequest(
        hello=agent_pb2.Hello(agent_id="garbled", capabilities=["analysis"])
    ).SerializeToString()
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.stream_stream(
            "/dwe.v1.AgentService/Connect", lambda b: b, agent_pb2.ConnectResponse.FromString
        )(timeout=30)
        await call.write(hello)
        first = await call.read()
        assert first.HasField("welcome")
        await call.write(GARBAGE)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            while await call.read() is not grpc.aio.EOF:
                pass
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "request is not a valid dwe.v1.ConnectRequest" in (info.value.details() or "")
        await wait_for(lambda: not server.coordinator.agent("garbled").connected)
        assert await healthy(channel)
