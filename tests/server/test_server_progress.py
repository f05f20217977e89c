"""Numbered progress on the wire (issue 7, fault 7): each index applied once and
acknowledged once stored; a gap asks for a resend; a result waits for the progress it
follows; after a restart Welcome says what the server has."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import agent_pb2, common_pb2, enums_pb2

from ..conftest import WAIT, MakeServer, free_port, wait_for
from .helpers import connect_raw_agent, name_of

CAP = "numbered"


def _progress(attempt_id: str, *indexes: int) -> agent_pb2.ConnectRequest:
    return agent_pb2.ConnectRequest(
        progress=[
            agent_pb2.StepProgress(attempt_id=attempt_id, content=f"p{i}", index=i) for i in indexes
        ]
    )


async def _acks(call: Any) -> list[tuple[str, int, bool]]:
    """The next message's acknowledgements."""
    msg = await asyncio.wait_for(call.read(), WAIT)
    return [(a.attempt_id, a.index, a.resend) for a in msg.progress_acks]


async def _assigned(client: DweClient, call: Any) -> tuple[str, str]:
    spec = build_workflow_spec("numbered", [{"step_id": "a", "agent_capability": CAP}])
    created = await client.create_workflow(spec)
    await client.start_workflow(created.workflow_id)
    (assignment,) = (await asyncio.wait_for(call.read(), WAIT)).assignments
    return created.workflow_id, assignment.attempt_id


async def _streamed(client: DweClient, wid: str) -> list[str]:
    events = [e async for e in client.watch_workflow(wid, after_seq=0)]
    return [e.step_streamed.content for e in events if name_of(e) == "agent_stream"]


async def test_acks_repeats_gaps_and_a_held_result(make_server: MakeServer) -> None:
    server = await make_server()
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        call, _ = await connect_raw_agent(channel, "numbered", [CAP])
        wid, aid = await _assigned(client, call)
        await call.write(_progress(aid, 1, 2))
        assert await _acks(call) == [(aid, 2, False)]
        await call.write(_progress(aid, 2, 4))  # a repeat, then past the missing 3
        assert await _acks(call) == [(aid, 2, True)]
        output = common_pb2.Payload(encoding="json/plain", data=b'"done"')
        result = agent_pb2.StepResult(attempt_id=aid, output=output, progress_count=4)
        await call.write(agent_pb2.ConnectRequest(results=[result]))
        assert await _acks(call) == [(aid, 2, True)]  # the result waits for 3 and 4
        assert (await client.get_workflow_status(wid)).state == enums_pb2.WORKFLOW_STATE_RUNNING
        await call.write(_progress(aid, 3, 4))
        assert await _acks(call) == [(aid, 4, False)]

        async def done() -> bool:
            status = await client.get_workflow_status(wid)
            return status.state == enums_pb2.WORKFLOW_STATE_COMPLETED

        await wait_for(done, what="the held result applied")
        await call.done_writing()
        assert await _streamed(client, wid) == ["p1", "p2", "p3", "p4"]


async def test_after_a_restart_welcome_says_what_was_stored(make_server: MakeServer) -> None:
    port = free_port()
    server = await make_server(port=port, restart_lease=WAIT)
    async with grpc.aio.insecure_channel(server.address) as channel:
        call, _ = await connect_raw_agent(channel, "numbered", [CAP])
        async with DweClient(server.address) as client:
            wid, aid = await _assigned(client, call)
        await call.write(_progress(aid, 1, 2, 3))
        assert await _acks(call) == [(aid, 3, False)]
        await server.stop(0.2)
    server = await make_server(port=port, restart_lease=WAIT)
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        hello = agent_pb2.Hello(
            agent_id="numbered", capabilities=[CAP], max_concurrent_tasks=1, held_attempt_ids=[aid]
        )
        call = channel.stream_stream(
            "/dwe.v1.AgentService/Connect",
            agent_pb2.ConnectRequest.SerializeToString,
            agent_pb2.ConnectResponse.FromString,
        )()
        await call.write(agent_pb2.ConnectRequest(hello=hello))
        welcome = (await asyncio.wait_for(call.read(), WAIT)).welcome
        assert list(welcome.resumed_attempt_ids) == [aid]
        assert dict(welcome.resumed_progress) == {aid: 3}
        await call.write(_progress(aid, 3, 4))  # what the agent could not know was stored
        assert await _acks(call) == [(aid, 4, False)]
        result = agent_pb2.StepResult(attempt_id=aid, progress_count=4)
        await call.write(agent_pb2.ConnectRequest(results=[result]))
        await call.done_writing()
        assert await _streamed(client, wid) == ["p1", "p2", "p3", "p4"]
