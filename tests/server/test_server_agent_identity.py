"""One live session per agent id (issue 7, fault 6), and sessions the server closes end
with a status and a reason, never a bare OK."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import agent_pb2, common_pb2, service_pb2_grpc

from ..conftest import WAIT, MakeServer, wait_for
from .helpers import connect_raw_agent, name_of

ONE_STEP = [{"step_id": "a", "agent_capability": "analysis"}]


async def _refused_hello(channel: grpc.aio.Channel, agent_id: str) -> grpc.aio.AioRpcError:
    call = service_pb2_grpc.AgentServiceStub(channel).Connect()
    hello = agent_pb2.Hello(agent_id=agent_id, capabilities=["analysis"])
    await call.write(agent_pb2.ConnectRequest(hello=hello))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await asyncio.wait_for(call.read(), WAIT)
    return info.value


async def _status(call: grpc.aio.StreamStreamCall) -> tuple[grpc.StatusCode, str]:
    """Read a stream to its end; the status it ended with."""
    try:
        while await asyncio.wait_for(call.read(), WAIT) is not grpc.aio.EOF:
            pass
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return await call.code(), await call.details()


async def test_second_session_with_a_live_agent_id_is_refused(server: DweServer) -> None:
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        first, _ = await connect_raw_agent(channel, "twin")
        err = await _refused_hello(channel, "twin")
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS, err.details()
        details = err.details() or ""
        assert "agent 'twin' already has a live session (since " in details
        assert "stop the other process or pick another id" in details
        # The first session was not evicted: it still gets and completes work.
        assert server.coordinator.agent("twin").connected
        created = await client.create_workflow(build_workflow_spec("twin", ONE_STEP))
        await client.start_workflow(created.workflow_id)
        (assignment,) = (await asyncio.wait_for(first.read(), WAIT)).assignments
        output = common_pb2.Payload(encoding="json/plain", data=b"{}")
        await first.write(
            agent_pb2.ConnectRequest(
                results=[agent_pb2.StepResult(attempt_id=assignment.attempt_id, output=output)]
            )
        )
        events = [e async for e in client.watch_workflow(created.workflow_id)]
        assert name_of(events[-1]) == "workflow_completed"
        assert {e.agent_id for e in events if e.agent_id} == {"twin"}
        first.cancel()


async def test_sdk_agent_retries_until_the_old_session_is_gone(
    server: DweServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "dwe.agent_sdk")
    agent = Agent("twin", capabilities=["analysis"], reconnect_base=0.01, reconnect_cap=0.05)

    @agent.handler("analysis")
    async def handle(task: Task) -> dict:
        return {"by": agent.session_id}

    async with grpc.aio.insecure_channel(server.address) as channel:
        old, welcome = await connect_raw_agent(channel, "twin")
        serving = asyncio.create_task(agent.serve(server.address))
        try:
            await wait_for(
                lambda: "ALREADY_EXISTS" in caplog.text, what="the SDK agent was refused"
            )
            assert not agent.connected.is_set()
            assert server.coordinator.agent("twin").connected  # still the old session
            await old.done_writing()  # the old process goes away
            await asyncio.wait_for(agent.connected.wait(), WAIT)
            assert agent.session_id != welcome.session_id
            async with DweClient(server.address) as client:
                created = await client.create_workflow(build_workflow_spec("retry", ONE_STEP))
                events = [e async for e in client.execute_workflow(created.workflow_id)]
            assert name_of(events[-1]) == "workflow_completed"
        finally:
            agent.stop()
            await asyncio.wait_for(serving, WAIT)


async def test_silent_session_ends_unavailable_with_the_reason(make_server: MakeServer) -> None:
    srv = await make_server(heartbeat_interval=0.1)
    async with grpc.aio.insecure_channel(srv.address) as channel:
        call, _ = await connect_raw_agent(channel, "hung")
        code, details = await _status(call)  # never says anything after hello
    assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
    assert "no message for" in details and "3 heartbeat intervals" in details
    assert details.endswith("reconnect")


async def test_shutdown_ends_remaining_sessions_unavailable(make_server: MakeServer) -> None:
    srv = await make_server()
    async with grpc.aio.insecure_channel(srv.address) as channel:
        call, _ = await connect_raw_agent(channel, "stays")
        stopping = asyncio.create_task(srv.stop(0.2))
        drain = await asyncio.wait_for(call.read(), WAIT)
        assert drain.HasField("drain")
        code, details = await _status(call)  # the agent ignores Drain and stays
        await stopping
    assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
    assert "server shutting down" in details


async def test_two_sdk_agents_with_one_id_do_not_evict_each_other(
    server: DweServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "dwe.agent_sdk")
    agents = [
        Agent("twin", capabilities=["analysis"], reconnect_base=0.01, reconnect_cap=0.05)
        for _ in range(2)
    ]
    for a in agents:
        a.handler("analysis")(_echo)
    first, second = agents
    tasks = [asyncio.create_task(first.serve(server.address))]
    try:
        await asyncio.wait_for(first.connected.wait(), WAIT)
        session = first.session_id
        since = server.coordinator.agent("twin").connected_at
        tasks.append(asyncio.create_task(second.serve(server.address)))
        await wait_for(lambda: "ALREADY_EXISTS" in caplog.text, what="the second was refused")
        async with DweClient(server.address) as client:
            for i in range(3):
                created = await client.create_workflow(build_workflow_spec(f"w{i}", ONE_STEP))
                events = [e async for e in client.execute_workflow(created.workflow_id)]
                assert name_of(events[-1]) == "workflow_completed"
        # The first session served throughout; the second never got in.
        assert first.session_id == session and first.connected.is_set()
        assert server.coordinator.agent("twin").connected_at == since
        assert not second.connected.is_set()
    finally:
        for a in agents:
            a.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)


async def _echo(task: Task) -> dict:
    return {"step": task.step_id}
