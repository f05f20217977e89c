"""Stopping with a grace period: agents are told to Drain, deliver what they finished,
and the restarted server (same SQLite file) keeps it; SDK agents reconnect by themselves."""

from __future__ import annotations

import asyncio
import logging

import grpc
import orjson
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import agent_pb2, common_pb2, enums_pb2

from ..conftest import WAIT, MakeServer, free_port, wait_agents, wait_for
from .helpers import connect_raw_agent, name_of, run_workflow

ONE_STEP = [{"step_id": "a", "agent_capability": "analysis"}]


async def test_drained_agent_delivers_its_result_and_the_restart_keeps_it(
    make_server: MakeServer,
) -> None:
    server = await make_server()
    async with (
        DweClient(server.address) as client,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        created = await client.create_workflow(build_workflow_spec("drain", ONE_STEP))
        wid = created.workflow_id
        call, _ = await connect_raw_agent(channel, "raw")
        await client.start_workflow(wid)
        (assignment,) = (await asyncio.wait_for(call.read(), WAIT)).assignments
        await call.write(agent_pb2.ConnectRequest(started=[assignment.attempt_id]))

        # The grace period is the agent's to deliver in; stop returns once it has left.
        stopping = asyncio.create_task(server.stop(WAIT))
        drain = await asyncio.wait_for(call.read(), WAIT)
        assert drain.HasField("drain"), drain
        assert drain.drain.reason == "server shutting down"
        output = common_pb2.Payload(encoding="json/plain", data=b'{"by": "raw"}')
        result = agent_pb2.StepResult(attempt_id=assignment.attempt_id, output=output)
        await call.write(agent_pb2.ConnectRequest(results=[result]))
        await call.done_writing()
        await asyncio.wait_for(stopping, WAIT)
        assert await call.read() is grpc.aio.EOF  # the server ended the stream, nothing more

    restarted = await make_server()  # same SQLite file
    async with DweClient(restarted.address) as client:
        status = await client.get_workflow_status(wid)
        events = [e async for e in client.watch_workflow(wid)]
    assert status.state == enums_pb2.WORKFLOW_STATE_COMPLETED
    (step,) = status.steps
    assert (step.state, step.attempts) == (enums_pb2.STEP_STATE_COMPLETED, 1)
    assert orjson.loads(step.output.data) == {"by": "raw"}
    # One attempt, assigned once, completed by the drained agent: nothing ran again.
    assert [(name_of(e), e.agent_id) for e in events] == [
        ("workflow_started", ""),
        ("agent_started", "raw"),
        ("agent_completed", "raw"),
        ("workflow_completed", ""),
    ]


async def test_sdk_agent_drained_by_a_stopping_server_reconnects_to_its_restart(
    make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # the restart comes back on the address the agent knows
    server = await make_server(port=port)
    agent = Agent("steady", capabilities=["analysis"], reconnect_cap=0.2)

    @agent.handler("analysis")
    async def handle(task: Task) -> dict:
        return {"session": agent.session_id}

    serving = asyncio.create_task(agent.serve(server.address))
    try:
        await asyncio.wait_for(agent.connected.wait(), WAIT)
        first_session = agent.session_id
        with caplog.at_level(logging.INFO, logger="dwe.agent_sdk"):
            await server.stop(WAIT)
            await wait_for(
                lambda: "drained by a stopping server; reconnecting" in caplog.text,
                what="the agent's session ended by Drain",
            )
        assert not agent.connected.is_set()

        restarted = await make_server(port=port)  # same port, same SQLite file
        await asyncio.wait_for(agent.connected.wait(), WAIT)
        await wait_agents(restarted, "steady")
        assert not serving.done()  # never stopped: the same serve() reconnected
        assert agent.session_id != first_session
        async with DweClient(restarted.address) as client:
            events = await run_workflow(client, ONE_STEP)
        assert name_of(events[-1]) == "workflow_completed"
        assert [e.agent_id for e in events if name_of(e) == "agent_completed"] == ["steady"]
    finally:
        agent.stop()
        await asyncio.wait_for(serving, WAIT)


async def test_stopping_server_waits_for_in_flight_work_within_its_grace(
    make_server: MakeServer,
) -> None:
    """On stop, an SDK agent finishes the handler it runs and delivers its result before
    it leaves; the last commit stores it, so the restart finds the step done (issue 7,
    fault 8)."""
    port = free_port()
    server = await make_server(port=port)
    release = asyncio.Event()
    agent = Agent("finisher", capabilities=["analysis"])

    @agent.handler("analysis")
    async def finish(task: Task) -> dict:
        await asyncio.wait_for(release.wait(), WAIT)
        return {"finished": True}

    serving_task = asyncio.create_task(agent.serve(server.address))
    try:
        await asyncio.wait_for(agent.connected.wait(), WAIT)
        async with DweClient(server.address) as client:
            wid = (await client.create_workflow(build_workflow_spec("f", ONE_STEP))).workflow_id
            await client.start_workflow(wid)
        await wait_for(lambda: server.coordinator.agent("finisher").current_load == 1)
        stopping = asyncio.create_task(server.stop(WAIT))
        # Drain has gone out once the agent no longer takes new work.
        await wait_for(lambda: not agent.connected.is_set() or stopping.done() or _draining(agent))
        release.set()
        await asyncio.wait_for(stopping, WAIT)
        server = await make_server(port=port)
        async with DweClient(server.address) as client:
            status = await client.get_workflow_status(wid)
        assert status.state == enums_pb2.WORKFLOW_STATE_COMPLETED
        assert status.steps[0].attempts == 1
        assert orjson.loads(status.steps[0].output.data) == {"finished": True}
    finally:
        agent.stop()
        await asyncio.wait_for(serving_task, WAIT)


def _draining(agent: Agent) -> bool:
    executor = agent._executor  # the SDK stops taking work when Drain arrives
    return executor is not None and not executor.accepting
