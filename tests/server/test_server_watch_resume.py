"""WatchEvents resumes after a position (issue 10: watchers across failovers): every
event has a position in the commit order; after_position replays the stored ones, then
goes on live, with no gap and no repeat."""

from __future__ import annotations

import asyncio

from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import workflow_pb2

from ..conftest import WAIT
from .helpers import name_of, recording_agent, serving

TWO = [
    {"step_id": "a", "agent_capability": "analysis"},
    {"step_id": "b", "agent_capability": "analysis", "dependencies": ["a"]},
]


async def _until(stream: object, count: int) -> list[workflow_pb2.WorkflowEvent]:
    got: list[workflow_pb2.WorkflowEvent] = []
    async for event in stream:  # type: ignore[attr-defined]
        got.append(event)
        if len(got) == count:
            break
    return got


async def test_watch_events_resumes_after_a_position(server: DweServer) -> None:
    log: list[tuple[str, str]] = []
    async with (
        serving(server.address, recording_agent(log, capabilities=["analysis"])),
        DweClient(server.address) as c,
    ):
        done = []
        for i in range(3):
            made = await c.create_workflow(build_workflow_spec(f"w{i}", TWO))
            events = [e async for e in c.execute_workflow(made.workflow_id)]
            assert name_of(events[-1]) == "workflow_completed"
            done.append(made.workflow_id)
        everything = await asyncio.wait_for(_until(c.watch_events(after_position=0), 18), WAIT)
        positions = [e.position for e in everything]
        assert positions == sorted(positions) and len(set(positions)) == 18
        assert [e.workflow_id for e in everything] == [w for w in done for _ in range(6)]
        middle = everything[8].position
        stream = c.watch_events(after_position=middle)
        rest = await asyncio.wait_for(_until(stream, 9), WAIT)
        assert [e.position for e in rest] == positions[9:]
        late = await c.create_workflow(build_workflow_spec("late", TWO))
        await c.start_workflow(late.workflow_id)
        live = await asyncio.wait_for(_until(stream, 6), WAIT)  # then live, no gap
        assert [(e.workflow_id, e.seq) for e in live] == [
            (late.workflow_id, s) for s in range(1, 7)
        ]
        assert live[0].position > positions[-1]
