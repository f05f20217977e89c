"""Error messages quote bounded input (issue 7, fault 5): a huge id in a request still gets
its named status code, with the id cut short, instead of "metadata size exceeds hard limit"."""

from __future__ import annotations

import grpc
import pytest

from dwe.server.app import DweServer
from dwe.v1 import agent_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

from .raw import healthy, row_counts

S = workflow_pb2.StepSpec
#: What a message may grow to: far below gRPC's 8 KiB metadata limit.
MAX_MESSAGE = 4096


def _check(err: grpc.aio.AioRpcError, code: grpc.StatusCode, *fragments: str) -> str:
    details = err.details() or ""
    assert err.code() == code, (err.code(), details[:300])
    assert len(details.encode()) <= MAX_MESSAGE, len(details)
    for fragment in fragments:
        assert fragment in details, details
    return details


async def test_huge_dependency_id_is_quoted_short(server: DweServer) -> None:
    ghost = "g" * 20_000
    spec = workflow_pb2.WorkflowSpec(
        name="wf", steps=[S(step_id="a", capability="x", dependencies=[ghost])]
    )
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec))
        details = _check(info.value, grpc.StatusCode.INVALID_ARGUMENT, "steps[0] ('a')", "(+")
        assert "g" * 64 in details and "g" * 65 not in details
        assert await healthy(channel)
    assert row_counts(server.config.db_path)["workflows"] == 0


async def test_huge_workflow_id_not_found_is_quoted_short(server: DweServer) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetWorkflowStatus(rr.GetWorkflowStatusRequest(workflow_id="w" * 20_000))
        _check(info.value, grpc.StatusCode.INVALID_ARGUMENT, "workflow_id", "(+")


async def test_huge_agent_id_in_hello_is_quoted_short(server: DweServer) -> None:
    hello = agent_pb2.Hello(agent_id="a" * 100_000)  # no capabilities, no registry entry
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = service_pb2_grpc.AgentServiceStub(channel).Connect()
        await call.write(agent_pb2.ConnectRequest(hello=hello))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call.read()
        _check(info.value, grpc.StatusCode.INVALID_ARGUMENT, "agent_id", "(+")
        assert await healthy(channel)


async def test_huge_agent_id_in_register_is_quoted_short(server: DweServer) -> None:
    agent = agent_pb2.AgentInfo(agent_id="a" * 100_000)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.EngineServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.RegisterAgent(rr.RegisterAgentRequest(agent=agent))
        _check(info.value, grpc.StatusCode.INVALID_ARGUMENT, "agent_id", "(+")
    assert row_counts(server.config.db_path)["agents"] == 0


async def test_cycle_of_long_ids_stays_readable_and_bounded(server: DweServer) -> None:
    ids = [f"{i:03d}" + "s" * 190 for i in range(200)]  # within the 200-character limit
    steps = [S(step_id=sid, capability="x", dependencies=[ids[i - 1]]) for i, sid in enumerate(ids)]
    spec = workflow_pb2.WorkflowSpec(name="wf", steps=steps)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec))
        details = _check(info.value, grpc.StatusCode.INVALID_ARGUMENT, "dependency cycle: 000")
        names = details.removeprefix("dependency cycle: ").split(" -> ")
        assert len(names) == 13 and "(189 more steps)" in names[6], names
        assert names[0] == names[-1] == "000" + "s" * 61 + "…(+129 chars)"
    assert row_counts(server.config.db_path)["workflows"] == 0


async def test_huge_non_ascii_id_stays_under_the_limit(server: DweServer) -> None:
    """Non-ASCII text is percent-encoded in the trailer (up to 12 bytes a character)."""
    ghost = "\U0001f600" * 5_000
    steps = [S(step_id="\U0001f600" * 200, capability="x", dependencies=[ghost])]
    spec = workflow_pb2.WorkflowSpec(name="\u00e9" * 10_000, steps=steps)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
