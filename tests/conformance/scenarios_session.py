"""The conformance scenarios about the session: reconnects, limits, agent identity."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..conftest import WAIT, wait_agents, wait_for
from .checks import E, errors, results, spec, value
from .harness import MAX_PAYLOAD, Ctx


async def reconnect(ctx: Ctx) -> None:
    """The server stops while a handler runs and comes back on the same address: the
    agent reconnects holding the attempt, the server resumes it, nothing runs twice."""
    proc = await ctx.agent("holder", ["hold"])
    release = ctx.tmp_path / "release"
    created = await ctx.c.create_workflow(
        spec([{"step_id": "h", "agent_capability": "hold"}], context={"release": str(release)})
    )
    await ctx.c.start_workflow(created.workflow_id)
    await ctx.observed(proc, "holding")
    assert ctx.server is not None
    await ctx.server.stop(0.5)  # Drain; the handler keeps running past the grace period
    server = await ctx.start_server()
    await wait_agents(server, "holder")
    release.touch()
    events = await ctx.events(created.workflow_id)
    assert results(events)["h"] == {"held": True, "lang": ctx.lang}
    assigned = [e for e in events if e.type == E.EVENT_TYPE_AGENT_STARTED]
    assert [e.attempt for e in assigned] == [1]  # resumed, not run again
    streamed = [e.step_streamed.content for e in events if e.type == E.EVENT_TYPE_AGENT_STREAM]
    assert streamed == ["before", "after"]
    assert len(proc.observed("holding")) == 1


async def dropped(ctx: Ctx) -> None:
    """With no restart lease (SETTINGS) the restart re-queues the running attempt at once:
    the agent reconnects holding it, is told to drop it (its handler is aborted), and
    runs the step again as attempt 2."""
    proc = await ctx.agent("dropper", ["hold"], max_tasks=2)
    release = ctx.tmp_path / "release"
    created = await ctx.c.create_workflow(
        spec([{"step_id": "h", "agent_capability": "hold"}], context={"release": str(release)})
    )
    await ctx.c.start_workflow(created.workflow_id)
    await ctx.observed(proc, "holding")
    assert ctx.server is not None
    await ctx.server.stop(0.5)
    await ctx.start_server()
    (aborted,) = await ctx.observed(proc, "aborted")
    assert (aborted["attempt"], aborted["kind"]) == (1, "cancelled")
    holding = await ctx.observed(proc, "holding", 2)
    assert [h["attempt"] for h in holding] == [1, 2]
    release.touch()
    events = await ctx.events(created.workflow_id)
    assert results(events)["h"] == {"held": True, "lang": ctx.lang}
    assert [e.attempt for e in events if e.type == E.EVENT_TYPE_AGENT_STARTED] == [1, 2]


async def drain(ctx: Ctx) -> None:
    """A stopping server sends Drain: the agent finishes its running handler, sends the
    result before it leaves, and reconnects to the restart."""
    proc = await ctx.agent("drained", ["hold"])
    release = ctx.tmp_path / "release"
    created = await ctx.c.create_workflow(
        spec([{"step_id": "h", "agent_capability": "hold"}], context={"release": str(release)})
    )
    await ctx.c.start_workflow(created.workflow_id)
    await ctx.observed(proc, "holding")
    assert ctx.server is not None
    stopping = asyncio.create_task(ctx.server.stop(WAIT))
    await ctx.observed(proc, "drain")
    release.touch()
    await stopping  # ends once the agent has sent its result and half-closed
    server = await ctx.start_server()
    status = await ctx.c.get_workflow_status(created.workflow_id)
    assert status.state == E.WORKFLOW_STATE_COMPLETED
    (step,) = status.steps
    assert step.attempts == 1 and value(step.output) == {"held": True, "lang": ctx.lang}
    await wait_agents(server, "drained")


async def payload_limit(ctx: Ctx) -> None:
    """An output of exactly Welcome.max_payload_bytes passes; one byte more fails the
    attempt with PayloadTooLarge, not retried."""
    await ctx.agent("big", ["big"])
    info = await ctx.c.get_server_info()
    limit = info.max_payload_bytes
    assert limit == MAX_PAYLOAD
    ok = await ctx.run([{"step_id": "b", "agent_capability": "big"}], context={"size": limit})
    assert ok[-1].type == E.EVENT_TYPE_WORKFLOW_COMPLETED
    status = await ctx.c.get_workflow_status(ok[-1].workflow_id)
    (step,) = status.steps
    assert len(step.output.data) == limit and value(step.output) == "x" * (limit - 2)
    over = await ctx.run(
        [{"step_id": "b", "agent_capability": "big", "retry_count": 2, "retry_delay": 0.01}],
        context={"size": limit + 1},
    )
    assert over[-1].type == E.EVENT_TYPE_WORKFLOW_FAILED
    assert errors(over) == [("PayloadTooLarge", False)]
    # The same for progress: a record of exactly the limit streams, one byte more fails.
    emitted = await ctx.run(
        [{"step_id": "e", "agent_capability": "big"}], context={"size": limit, "emit": True}
    )
    assert results(emitted)["e"] == "emitted"
    (record,) = [e for e in emitted if e.type == E.EVENT_TYPE_AGENT_STREAM]
    assert len(record.step_streamed.data.data) == limit
    over = await ctx.run(
        [{"step_id": "e", "agent_capability": "big", "retry_count": 2, "retry_delay": 0.01}],
        context={"size": limit + 1, "emit": True},
    )
    assert errors(over) == [("PayloadTooLarge", False)]


async def heartbeats(ctx: Ctx) -> None:
    """A handler that sends nothing for many heartbeat intervals keeps its session: the
    agent's heartbeats stop the server's watchdog (3 silent intervals) from closing it.
    The server expects a beat every 0.3 s here (SETTINGS): the handler is silent for
    about 7 intervals, more than twice the 3 after which the watchdog closes a session."""
    proc = await ctx.agent("beating", ["wait"])
    events = await ctx.run([{"step_id": "w", "agent_capability": "wait", "timeout_seconds": 2.0}])
    assert errors(events) == [("Timeout", True)]  # the attempt ran its whole time
    await ctx.observed(proc, "aborted")
    assert proc.output().count("agent beating connected") == 1, proc.output()


async def ack_timeout(ctx: Ctx) -> None:
    """The SDK acknowledges each assignment (started) at once: a handler that runs four
    times the server's ack timeout (0.5 s, SETTINGS) until its own 2 s deadline is never
    taken back and assigned again."""
    await ctx.agent("acking", ["wait"])
    events = await ctx.run([{"step_id": "w", "agent_capability": "wait", "timeout_seconds": 2.0}])
    assert errors(events) == [("Timeout", True)]  # the deadline, not the ack timeout, ended it
    assert [e.attempt for e in events if e.type == E.EVENT_TYPE_AGENT_STARTED] == [1]
    retried = [e for e in events if e.type == E.EVENT_TYPE_AGENT_RETRYING]
    assert not [e for e in retried if "acknowledged" in e.step_retrying.reason]


async def duplicate_agent_id(ctx: Ctx) -> None:
    """A second process with a live agent's id gets ALREADY_EXISTS and retries; the first
    keeps working; once the first stops, the second gets in."""
    first = await ctx.agent("dup", ["quick"])
    second = ctx.spawn("dup", ["quick"])
    await wait_for(lambda: "ALREADY_EXISTS" in second.output(), what="the second is refused")
    out = results(await ctx.run([{"step_id": "q", "agent_capability": "quick"}]))
    assert out["q"]["pid"] == first.proc.pid
    assert second.proc.poll() is None  # still retrying
    await asyncio.to_thread(first.stop)
    assert ctx.server is not None
    await wait_agents(ctx.server, "dup")
    out = results(await ctx.run([{"step_id": "q", "agent_capability": "quick"}]))
    assert out["q"]["pid"] == second.proc.pid


#: Server settings per scenario (ServerConfig fields), applied before it starts.
SETTINGS: dict[str, dict[str, Any]] = {
    "heartbeats": {"heartbeat_interval": 0.3},
    "dropped": {"restart_lease": 0.0},
    "ack_timeout": {"ack_timeout": 0.5},
}

SESSION_FNS: list[Callable[[Ctx], Awaitable[None]]] = [
    reconnect,
    dropped,
    drain,
    payload_limit,
    duplicate_agent_id,
    heartbeats,
    ack_timeout,
]
