"""Restart: unfinished workflows resume from the SQLite file and no event is lost."""

from __future__ import annotations

import asyncio

import orjson

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2

from ..conftest import MakeServer, free_port, wait_for
from .helpers import name_of, serving, summary_of


def echo_agent(agent_id: str, capability: str) -> Agent:
    agent = Agent(agent_id, capabilities=[capability])

    @agent.handler(capability)
    async def handle(task: Task) -> dict:
        return {"by": agent_id, "inputs": dict(task.inputs)}

    return agent


async def test_unfinished_workflow_resumes_after_restart(make_server: MakeServer) -> None:
    steps = [
        {"step_id": "a", "agent_capability": "first"},
        {"step_id": "b", "agent_capability": "second", "dependencies": ["a"]},
    ]
    server = await make_server()
    async with DweClient(server.address) as client:
        created = await client.create_workflow(build_workflow_spec("resume", steps))
        wid = created.workflow_id
        async with serving(server.address, echo_agent("first-agent", "first")):
            await client.start_workflow(wid)

            # a completes; b waits READY for a capability nobody has yet.
            async def b_ready() -> bool:
                status = await client.get_workflow_status(wid)
                return status.steps[1].state == enums_pb2.STEP_STATE_READY

            await wait_for(b_ready, what="step b ready")
        before = [e async for e in _replay(client, wid)]
    await server.stop(0.5)

    restarted = await make_server()  # same SQLite file
    async with DweClient(restarted.address) as client:
        status = await client.get_workflow_status(wid)
        assert status.state == enums_pb2.WORKFLOW_STATE_RUNNING
        assert [s.state for s in status.steps] == [
            enums_pb2.STEP_STATE_COMPLETED,
            enums_pb2.STEP_STATE_READY,
        ]
        async with serving(restarted.address, echo_agent("second-agent", "second")):
            events = [e async for e in client.watch_workflow(wid)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [name_of(e) for e in events[: len(before)]] == [name_of(e) for e in before]
    assert name_of(events[-1]) == "workflow_completed"
    result = orjson.loads(summary_of(events[-1]).results["b"].data)
    # b ran after the restart and still received a's output, stored before it.
    assert result == {"by": "second-agent", "inputs": {"a": {"by": "first-agent", "inputs": {}}}}


async def _replay(client: DweClient, wid: str):
    """Stored events so far (the watch is cut once it has caught up)."""
    status = await client.get_workflow_status(wid)
    stream = client.watch_workflow(wid)
    async for event in stream:
        yield event
        if event.seq >= status.last_seq:
            await stream.aclose()
            return


async def test_idempotent_create_survives_restart(make_server: MakeServer) -> None:
    spec = build_workflow_spec("once", [{"step_id": "a", "agent_capability": "x"}])
    server = await make_server()
    async with DweClient(server.address) as client:
        first = await client.create_workflow(spec, request_id="req-42")
    await server.stop(0.5)
    server = await make_server()
    async with DweClient(server.address) as client:
        again = await client.create_workflow(spec, request_id="req-42")
        assert (again.workflow_id, again.created) == (first.workflow_id, False)
        listed = await client.list_workflows()
        assert [w.workflow_id for w in listed.workflows] == [first.workflow_id]


async def test_attempt_survives_a_server_restart_on_its_agent(make_server: MakeServer) -> None:
    """The agent keeps running through the restart, reconnects holding the attempt
    (within the lease), and its result is accepted: the step is not run twice."""
    # The default restart lease (10 s) lets the agent reclaim its attempt.
    port = free_port()
    release, started = asyncio.Event(), asyncio.Event()
    agent = Agent("steady", capabilities=["analysis"])

    @agent.handler("analysis")
    async def long_task(task: Task) -> dict:
        started.set()
        await release.wait()
        return {"attempt": task.attempt}

    server = await make_server(port=port)
    serving_task = asyncio.create_task(agent.serve(server.address))
    try:
        async with DweClient(server.address) as client:
            created = await client.create_workflow(
                build_workflow_spec("restart", [{"step_id": "a", "agent_capability": "analysis"}])
            )
            await client.start_workflow(created.workflow_id)
        await asyncio.wait_for(started.wait(), 10)
        await server.stop(0.5)
        server = await make_server(port=port)  # same port, same SQLite file
        coordinator = server.coordinator
        await wait_for(lambda: coordinator.agent("steady").connected, 15, "agent reconnected")
        release.set()
        async with DweClient(server.address) as client:
            events = [e async for e in client.watch_workflow(created.workflow_id)]
            status = await client.get_workflow_status(created.workflow_id)
    finally:
        agent.stop()
        await asyncio.wait_for(serving_task, 15)
    assert name_of(events[-1]) == "workflow_completed"
    assert not [e for e in events if name_of(e) == "agent_retrying"]
    assert status.steps[0].attempts == 1
    assert orjson.loads(summary_of(events[-1]).results["a"].data) == {"attempt": 1}
