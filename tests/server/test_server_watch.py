"""Watchers over real gRPC: one that falls too far behind is cut off with a clear status."""

from __future__ import annotations

import asyncio

import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import FailedPreconditionError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer

from ..conftest import WAIT, wait_for
from .helpers import name_of, serving

STEPS = [{"step_id": f"s{i}", "agent_capability": "analysis"} for i in range(5)]


async def test_watcher_past_its_backlog_gets_failed_precondition_and_can_resume(
    server: DweServer, client: DweClient
) -> None:
    """Starting five steps on a five-slot agent is one commit of six events
    (workflow_started and five agent_started), published at once: a subscription
    allowed two falls behind within that one publish, whatever its reader does."""
    hub = server.coordinator._hub
    usual, hub._backlog = hub._backlog, 2  # subscriptions from here on hold at most 2 events
    gate = asyncio.Event()
    agent = Agent("five", capabilities=["analysis"], max_concurrent_tasks=5)

    @agent.handler("analysis")
    async def hold(task: Task) -> dict:
        await gate.wait()
        return {}

    created = await client.create_workflow(build_workflow_spec("burst", STEPS))
    async with serving(server.address, agent):
        received = []

        async def watch() -> None:
            async for event in client.watch_events():
                received.append(event)

        watcher = asyncio.create_task(watch())
        await wait_for(lambda: server.coordinator.subscribers() == 1, what="watcher subscribed")
        await client.start_workflow(created.workflow_id)
        with pytest.raises(FailedPreconditionError) as cut:
            await asyncio.wait_for(watcher, WAIT)
        assert cut.value.details == "subscriber fell too far behind; watch again with after_seq"
        assert received == []
        # As the message says: watching again (with the usual backlog) misses nothing.
        hub._backlog = usual
        gate.set()
        events = [e async for e in client.watch_workflow(created.workflow_id, after_seq=0)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [name_of(e) for e in events[:6]] == ["workflow_started"] + ["agent_started"] * 5
    assert name_of(events[-1]) == "workflow_completed"
