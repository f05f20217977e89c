"""Small builders shared by the server end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any, NamedTuple

import grpc

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import agent_pb2, enums_pb2, service_pb2_grpc, workflow_pb2

from ..conftest import WAIT

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


def peak_in_flight(events: list[workflow_pb2.WorkflowEvent]) -> dict[str, int]:
    """The most attempts each agent held at once, in the server's event order (seq):
    assigned (agent_started) until completed or failed (agent_completed, agent_error)."""
    held: dict[str, int] = {}
    peak: dict[str, int] = {}
    for event in sorted(events, key=lambda e: e.seq):
        kind = name_of(event)
        if kind == "agent_started":
            held[event.agent_id] = held.get(event.agent_id, 0) + 1
            peak[event.agent_id] = max(peak.get(event.agent_id, 0), held[event.agent_id])
        elif kind in ("agent_completed", "agent_error"):
            held[event.agent_id] -= 1
    return peak


def recording_agent(log: list[tuple[str, str]], together: Iterable[str] = (), **kw: Any) -> Agent:
    """Logs ("start", step) and ("end", step) in the order they happen. Steps named in
    ``together`` hold until all of them have started: they finish only if the server
    runs them at the same time."""
    agent = Agent(kw.pop("agent_id", "worker"), **kw)
    arrived = {step_id: asyncio.Event() for step_id in together}

    async def handle(task: Task) -> dict:
        log.append(("start", task.step_id))
        if task.step_id in arrived:
            arrived[task.step_id].set()
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in arrived.values())), WAIT)
        log.append(("end", task.step_id))
        return {"step": task.step_id, "inputs": sorted(task.inputs)}

    for cap in agent.capabilities:
        agent.handler(cap)(handle)
    return agent


def started(log: list[tuple[str, str]]) -> list[str]:
    """The steps a recording agent started, in order."""
    return [step for kind, step in log if kind == "start"]


class Blocking(NamedTuple):
    """An agent whose handler runs until it is cancelled."""

    agent: Agent
    started: asyncio.Event  # set when the handler begins
    cancelled: asyncio.Event  # set when the handler sees its cancellation


def blocking_agent(agent_id: str = "blocking", capability: str = "analysis") -> Blocking:
    """One slot; the handler never finishes on its own, so only a cancel ends it."""
    agent = Agent(agent_id, capabilities=[capability], max_concurrent_tasks=1)
    started, cancelled = asyncio.Event(), asyncio.Event()

    @agent.handler(capability)
    async def block(task: Task) -> dict:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    return Blocking(agent, started, cancelled)


async def connect_raw_agent(
    channel: grpc.aio.Channel, agent_id: str, capabilities: Iterable[str] = ("analysis",)
) -> tuple[Any, agent_pb2.Welcome]:
    """A bare ``AgentService.Connect`` stream (no SDK) with one slot: it says hello and
    reads the welcome. Returns the call (``read``, ``write``, ``done_writing``) and the
    welcome."""
    call = service_pb2_grpc.AgentServiceStub(channel).Connect()
    hello = agent_pb2.Hello(
        agent_id=agent_id, capabilities=list(capabilities), max_concurrent_tasks=1
    )
    await call.write(agent_pb2.ConnectRequest(hello=hello))
    first = await call.read()
    assert first.HasField("welcome"), first
    return call, first.welcome
