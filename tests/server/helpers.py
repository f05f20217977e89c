"""Small builders shared by the server end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from dwe.agent_sdk import Agent
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2, workflow_pb2

TERMINAL = {
    enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED,
    enums_pb2.EVENT_TYPE_WORKFLOW_FAILED,
    enums_pb2.EVENT_TYPE_WORKFLOW_CANCELLED,
    enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT,
}


def name_of(event: workflow_pb2.WorkflowEvent) -> str:
    return enums_pb2.EventType.Name(event.type).removeprefix("EVENT_TYPE_").lower()


async def run_workflow(
    client: DweClient, steps: list[dict[str, Any]], **kw: Any
) -> list[workflow_pb2.WorkflowEvent]:
    """Create and execute a workflow; return all its events."""
    created = await client.create_workflow(build_workflow_spec("test", steps, **kw))
    events = []
    async for event in client.execute_workflow(created.workflow_id):
        events.append(event)
    return events


@contextlib.asynccontextmanager
async def serving(address: str, *agents: Agent) -> AsyncIterator[None]:
    """Run in-process agents for the duration of the block."""
    tasks = [asyncio.create_task(a.serve(address)) for a in agents]
    try:
        await asyncio.wait_for(asyncio.gather(*(a.connected.wait() for a in agents)), 10)
        yield
    finally:
        for a in agents:
            a.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)


def summary_of(event: workflow_pb2.WorkflowEvent) -> workflow_pb2.RunSummary:
    """The RunSummary of a terminal event (each terminal type has its own detail)."""
    detail = event.WhichOneof("detail")
    assert detail in {
        "workflow_completed",
        "workflow_failed",
        "workflow_cancelled",
        "workflow_timed_out",
    }, detail
    return getattr(event, detail).summary  # type: ignore[no-any-return]
