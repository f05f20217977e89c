"""DweClient / SyncDweClient / DynamicWorkflowEngine against the real server.

Real gRPC on a real socket to ``dwe.server.app.DweServer`` (fresh SQLite file per test);
workflows are run by an in-process SDK agent (``py_agent``, see realkit.make_py_agent).
The server runs on the test's event loop, so blocking (sync) client calls are made from
a worker thread with ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from realkit import PyAgent, make_py_agent, serve_until_connected, stop_agent, wait_for

from dwe.clients import (
    DweClient,
    DynamicWorkflowEngine,
    FailedPreconditionError,
    NotFoundError,
    ReconnectPolicy,
    RpcCancelledError,
    StepState,
    SyncDweClient,
    UnavailableError,
    ValidationError,
    WorkflowState,
)
from dwe.clients.events import event_name
from dwe.clients.spec import build_workflow_spec
from dwe.server.app import DweServer, create_server
from dwe.server.config import ServerConfig
from dwe.v1 import agent_pb2, workflow_pb2

WORK = [{"step_id": "w", "agent_capability": "work"}]
BLOCK = [{"step_id": "g", "agent_capability": "block"}]
CHAIN = [
    {"step_id": "a", "agent_capability": "work"},
    {"step_id": "s", "agent_capability": "stream", "dependencies": ["a"]},
    {"step_id": "b", "agent_capability": "work", "dependencies": ["a"]},
]


def spec(name: str = "wf", steps: list[dict[str, Any]] = WORK, **kw: Any) -> Any:
    return build_workflow_spec(name, steps, **kw)


def names(events: list[workflow_pb2.WorkflowEvent]) -> list[str]:
    return [event_name(e.type) for e in events]


def state(value: int) -> WorkflowState | None:
    return WorkflowState.from_proto(value)


def js(payload: Any) -> Any:
    return orjson.loads(payload.data)


def subscribed(server: DweServer, workflow_id: str) -> bool:
    """Whether a stream of the server still follows the workflow (its hub subscription)."""
    return server.coordinator.subscribers(workflow_id) > 0


# DweClient: every RPC


async def test_unary_round_trips(client: DweClient, py_agent: PyAgent) -> None:
    created = await client.create_workflow(
        spec("round", CHAIN, priority="high", context={"base": 1}, labels={"team": "x"})
    )
    wid = created.workflow_id
    assert created.created is True
    assert (created.status.workflow_id, state(created.status.state)) == (
        wid,
        WorkflowState.PENDING,
    )

    status = await client.get_workflow_status(wid)
    assert (status.name, state(status.state), status.progress) == (
        "round",
        WorkflowState.PENDING,
        0.0,
    )
    assert [s.step_id for s in status.steps] == ["a", "s", "b"]

    started = await client.start_workflow(wid, {"extra": 2}, "sess")
    assert state(started.state) is WorkflowState.RUNNING
    events = [e async for e in client.watch_workflow(wid)]  # follows to the end
    assert names(events)[-1] == "workflow_completed"

    status = await client.get_workflow_status(wid)
    assert (state(status.state), status.progress, status.last_seq) == (
        WorkflowState.COMPLETED,
        1.0,
        events[-1].seq,
    )
    outputs = {s.step_id: js(s.output) for s in status.steps}
    assert outputs["a"] == {"step": "a", "context": {"base": 1, "extra": 2}, "inputs": {}}
    assert outputs["b"]["inputs"] == {"a": outputs["a"]}
    assert outputs["s"] == {"streamed": 2}
    assert {s.agent_id for s in status.steps} == {"py-agent"}

    page = await client.list_workflows()
    assert [(w.workflow_id, state(w.state)) for w in page.workflows] == [
        (wid, WorkflowState.COMPLETED)
    ]
    assert page.next_page_token == ""

    cancelled = await client.cancel_workflow(wid, "too late")
    assert (cancelled.cancelled, state(cancelled.state)) == (False, WorkflowState.COMPLETED)

    info = agent_pb2.AgentInfo(
        agent_id="scout", agent_type="Scout", capabilities=["data_fetch"], max_concurrent_tasks=2
    )
    registered = await client.register_agent(info)
    assert (registered.agent_id, list(registered.capabilities)) == ("scout", ["data_fetch"])
    agents = {a.agent_id: a for a in await client.list_agents()}
    assert set(agents) == {"scout", "py-agent"}
    assert (agents["scout"].registered, agents["scout"].connected) == (True, False)
    assert agents["py-agent"].connected is True
    assert agents["py-agent"].completed_steps == 3

    metrics = await client.get_engine_metrics()
    assert (metrics.completed_workflows, metrics.active_workflows, metrics.completed_steps) == (
        1,
        0,
        3,
    )


async def test_execute_streams_every_event_once_in_order(
    client: DweClient, py_agent: PyAgent
) -> None:
    wid = (await client.create_workflow(spec("chain", CHAIN))).workflow_id
    events = [e async for e in client.execute_workflow(wid, {"k": 1}, "s-1")]

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.workflow_id for e in events} == {wid}
    kinds = names(events)
    assert kinds[0] == "workflow_started" and kinds[-1] == "workflow_completed"
    assert kinds.count("agent_started") == kinds.count("agent_completed") == 3
    assert [e.step_streamed.content for e in events if kinds[e.seq - 1] == "agent_stream"] == [
        "one",
        "two",
    ]
    assert events[0].workflow_started.session_id == "s-1"
    final = events[-1].workflow_completed.summary
    assert (final.completed_steps, final.total_steps, final.success_rate) == (3, 3, 1.0)
    assert js(final.results["s"]) == {"streamed": 2}


async def test_sync_client_round_trips(server: DweServer, py_agent: PyAgent) -> None:
    def scenario() -> None:
        with SyncDweClient(server.address) as sync:
            created = sync.create_workflow(spec("sync", CHAIN))
            wid = created.workflow_id
            events = list(sync.execute_workflow(wid, {"k": 1}))
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert names(events)[-1] == "workflow_completed"
            assert [e.seq for e in sync.watch_workflow(wid, after_seq=3)] == [
                e.seq for e in events[3:]
            ]
            assert state(sync.get_workflow_status(wid).state) is WorkflowState.COMPLETED
            assert [w.workflow_id for w in sync.list_workflows().workflows] == [wid]
            assert sync.cancel_workflow(wid).cancelled is False
            other = sync.create_workflow(spec("pending")).workflow_id
            assert state(sync.start_workflow(other).state) is WorkflowState.RUNNING
            sync.register_agent(agent_pb2.AgentInfo(agent_id="reg", capabilities=["x"]))
            assert {a.agent_id for a in sync.list_agents()} == {"reg", "py-agent"}
            assert sync.get_engine_metrics().completed_workflows >= 1
            with pytest.raises(NotFoundError, match="'nope' not found"):
                sync.get_workflow_status("nope")
            with pytest.raises(FailedPreconditionError, match="already started"):
                sync.start_workflow(wid)

    await asyncio.to_thread(scenario)


# errors


async def test_errors_map_to_client_exceptions(client: DweClient, py_agent: PyAgent) -> None:
    cyclic = [
        {"step_id": "A", "agent_capability": "work", "dependencies": ["B"]},
        {"step_id": "B", "agent_capability": "work", "dependencies": ["A"]},
    ]
    with pytest.raises(ValidationError, match="dependency cycle: A -> B -> A") as info:
        await client.create_workflow(spec("bad", cyclic))
    assert info.value.code.name == "INVALID_ARGUMENT"
    with pytest.raises(ValidationError, match="ghost"):
        await client.create_workflow(
            spec("bad", [{"step_id": "A", "agent_capability": "w", "dependencies": ["ghost"]}])
        )
    with pytest.raises(ValidationError, match="agent_capability is empty"):
        await client.create_workflow(spec("bad", [{"step_id": "A"}]))
    assert list((await client.list_workflows()).workflows) == []  # nothing was stored

    with pytest.raises(NotFoundError, match="workflow 'nope' not found") as nf:
        await client.get_workflow_status("nope")
    assert nf.value.code.name == "NOT_FOUND"
    for call in (
        lambda: client.start_workflow("nope"),
        lambda: client.cancel_workflow("nope"),
    ):
        with pytest.raises(NotFoundError):
            await call()
    with pytest.raises(NotFoundError):
        [e async for e in client.watch_workflow("nope")]
    with pytest.raises(NotFoundError):
        [e async for e in client.execute_workflow("nope")]

    wid = (await client.create_workflow(spec())).workflow_id
    await client.start_workflow(wid)
    with pytest.raises(FailedPreconditionError, match="already started") as fp:
        await client.start_workflow(wid)
    assert fp.value.code.name == "FAILED_PRECONDITION"
    [e async for e in client.watch_workflow(wid)]  # to the end
    with pytest.raises(FailedPreconditionError):
        [e async for e in client.execute_workflow(wid)]

    with pytest.raises(ValidationError, match="page_token"):
        await client.list_workflows(page_token="not-a-token")
    with pytest.raises(ValidationError, match="unknown event type"):
        [e async for e in client.watch_events(types=["no_such_event"])]


async def test_unreachable_server_is_unavailable() -> None:
    async with DweClient("127.0.0.1:1", rpc_timeout=5) as client:
        with pytest.raises(UnavailableError, match=r"127\.0\.0\.1:1"):
            await client.list_agents()


async def test_close_is_safe_twice(server: DweServer) -> None:
    client = DweClient(server.address)
    assert (await client.get_engine_metrics()).active_workflows == 0
    await client.close()
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_engine_metrics()

    def sync_side() -> None:
        sync = SyncDweClient(server.address)
        assert sync.list_agents() == []
        sync.close()
        sync.close()
        with pytest.raises(RuntimeError, match="closed"):
            sync.list_agents()

    await asyncio.to_thread(sync_side)


# idempotency, replay, filters, paging


async def test_create_is_idempotent_by_request_id(client: DweClient) -> None:
    first = await client.create_workflow(spec("once"), request_id="req-1")
    again = await client.create_workflow(spec("once"), request_id="req-1")
    assert first.created is True
    assert (again.workflow_id, again.created) == (first.workflow_id, False)
    # The key wins over the content: a retry never makes a second workflow.
    other = await client.create_workflow(spec("changed"), request_id="req-1")
    assert (other.workflow_id, other.created) == (first.workflow_id, False)
    fresh = await client.create_workflow(spec("once"), request_id="req-2")
    assert fresh.created is True and fresh.workflow_id != first.workflow_id
    # Without a request_id the client sends a fresh one each time.
    a = await client.create_workflow(spec("anon"))
    b = await client.create_workflow(spec("anon"))
    assert a.workflow_id != b.workflow_id and a.created and b.created
    assert len((await client.list_workflows()).workflows) == 4


async def test_request_id_survives_a_server_restart(make_server: Any) -> None:
    server = await make_server()
    async with DweClient(server.address) as client:
        first = await client.create_workflow(spec("once"), request_id="req-r")
    await server.stop(0.5)
    restarted = await make_server()  # same SQLite file
    async with DweClient(restarted.address) as client:
        again = await client.create_workflow(spec("once"), request_id="req-r")
    assert (again.workflow_id, again.created) == (first.workflow_id, False)


async def test_watch_workflow_replays_after_seq(client: DweClient, py_agent: PyAgent) -> None:
    wid = (await client.create_workflow(spec("replay", CHAIN))).workflow_id
    executed = [e async for e in client.execute_workflow(wid)]
    seqs = [e.seq for e in executed]

    assert [e.seq async for e in client.watch_workflow(wid)] == seqs
    assert [e async for e in client.watch_workflow(wid, after_seq=3)] == executed[3:]
    assert [e.seq async for e in client.watch_workflow(wid, after_seq=seqs[-2])] == [seqs[-1]]
    assert [e async for e in client.watch_workflow(wid, after_seq=seqs[-1])] == []


async def test_watch_workflow_replays_then_follows_live(
    server: DweServer, client: DweClient, py_agent: PyAgent
) -> None:
    wid = (await client.create_workflow(spec("live", BLOCK))).workflow_id
    await client.start_workflow(wid)
    assert await asyncio.wait_for(py_agent.started.get(), 15) == "g"

    stream = client.watch_workflow(wid, after_seq=1)
    first = await anext(stream)  # replayed from the store
    assert (first.seq, event_name(first.type)) == (2, "agent_started")
    py_agent.gate.set()  # what follows happens after the watch subscribed
    rest = [e async for e in stream]
    assert names(rest) == ["agent_completed", "workflow_completed"]
    assert [e.seq for e in rest] == [3, 4]
    assert not subscribed(server, wid)


async def test_watch_events_filters_by_type_and_workflow(
    server: DweServer, client: DweClient, py_agent: PyAgent
) -> None:
    hub = server.coordinator
    by_type = client.watch_events(types=["agent_completed", "workflow_completed"])
    one = (await client.create_workflow(spec("one"))).workflow_id
    two = (await client.create_workflow(spec("two", CHAIN))).workflow_id
    by_id = client.watch_events(workflow_ids=[two])

    async def collect(stream: AsyncIterator[Any], terminal: int) -> list[Any]:
        out = []
        async for event in stream:
            out.append(event)
            if sum(event_name(e.type) == "workflow_completed" for e in out) == terminal:
                return out
        raise AssertionError("stream ended early")

    typed = asyncio.create_task(collect(by_type, 2))
    only_two = asyncio.create_task(collect(by_id, 1))
    # Both streams are live only once the server subscribed them: wait for that.
    await wait_for(
        lambda: hub.subscribers() == 1 and hub.subscribers(two) > 0, what="streams subscribed"
    )
    for wid in (one, two):
        [e async for e in client.execute_workflow(wid)]
    typed_events = await asyncio.wait_for(typed, 15)
    two_events = await asyncio.wait_for(only_two, 15)

    assert set(names(typed_events)) == {"agent_completed", "workflow_completed"}
    completed_steps = sorted((e.workflow_id, e.step_id) for e in typed_events if e.step_id)
    assert completed_steps == sorted([(one, "w"), (two, "a"), (two, "b"), (two, "s")])
    assert {e.workflow_id for e in two_events} == {two}
    assert [e.seq for e in two_events] == list(range(1, len(two_events) + 1))  # all types
    assert "agent_stream" in names(two_events)
    await by_type.aclose()
    await by_id.aclose()
    await wait_for(
        lambda: hub.subscribers() == 0 and not subscribed(server, two), what="unsubscribed"
    )


async def test_list_workflows_pages_with_token(client: DweClient, py_agent: PyAgent) -> None:
    ids = [(await client.create_workflow(spec(f"w{i}"))).workflow_id for i in range(5)]
    [e async for e in client.execute_workflow(ids[0])]

    pages, token = [], ""
    while True:
        page = await client.list_workflows(page_size=2, page_token=token)
        pages.append([w.workflow_id for w in page.workflows])
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [wid for p in pages for wid in p] == ids[::-1]  # newest first, each once

    pending = await client.list_workflows(states=["pending"])
    assert [w.workflow_id for w in pending.workflows] == ids[:0:-1]
    done = await client.list_workflows(states=[WorkflowState.COMPLETED])
    assert [(w.workflow_id, w.completed_steps) for w in done.workflows] == [(ids[0], 1)]


async def test_list_workflows_filters_by_name_prefix_and_creation_time(
    client: DweClient,
) -> None:
    first = (await client.create_workflow(spec("nightly-a"))).workflow_id
    row = (await client.list_workflows(name_prefix="nightly")).workflows[0]
    created = row.created_at.ToDatetime(tzinfo=UTC)
    second = (await client.create_workflow(spec("weekly-b"))).workflow_id

    async def ids(**filters: Any) -> list[str]:
        return [w.workflow_id for w in (await client.list_workflows(**filters)).workflows]

    assert await ids(name_prefix="nightly") == [first]
    assert await ids(name_prefix="weekly-b") == [second]
    assert await ids(name_prefix="weekly-bb") == []
    assert await ids(created_after=created) == [second, first]
    assert await ids(created_before=created) == []
    assert await ids(created_before=created + timedelta(days=1), name_prefix="n") == [first]
    with pytest.raises(ValidationError, match="name_prefix"):
        await client.list_workflows(name_prefix="n" * 1_001)


# streams end on the server when the client stops reading


async def test_breaking_out_cancels_the_stream(
    server: DweServer, client: DweClient, py_agent: PyAgent
) -> None:
    wid = (await client.create_workflow(spec("blocked", BLOCK))).workflow_id
    await client.start_workflow(wid)
    await asyncio.wait_for(py_agent.started.get(), 15)

    stream = client.watch_workflow(wid)
    async for event in stream:
        if event_name(event.type) == "agent_started":
            break
    assert subscribed(server, wid)  # the server is following the live workflow for us
    await stream.aclose()
    await wait_for(lambda: not subscribed(server, wid), 5, "server ended the watch")
    status = await client.get_workflow_status(wid)
    assert state(status.state) is WorkflowState.RUNNING  # the workflow was not cancelled


async def test_closing_a_sync_stream_early_cancels_the_server_stream(
    server: DweServer, client: DweClient, py_agent: PyAgent
) -> None:
    wid = (await client.create_workflow(spec("blocked", BLOCK))).workflow_id
    await client.start_workflow(wid)
    await asyncio.wait_for(py_agent.started.get(), 15)

    sync = SyncDweClient(server.address)
    try:
        stream = sync.watch_workflow(wid)
        first = await asyncio.to_thread(next, stream)
        assert event_name(first.type) == "workflow_started"
        await wait_for(lambda: subscribed(server, wid), 5, "server follows the workflow")
        await asyncio.to_thread(stream.close)  # the iterator, not the client
        await wait_for(lambda: not subscribed(server, wid), 5, "server ended the watch")
        # The client stays usable, and the workflow was not cancelled.
        status = await asyncio.to_thread(sync.get_workflow_status, wid)
        assert state(status.state) is WorkflowState.RUNNING
    finally:
        await asyncio.to_thread(sync.close)


async def test_closing_the_sync_client_ends_its_open_streams(
    server: DweServer, client: DweClient, py_agent: PyAgent
) -> None:
    wid = (await client.create_workflow(spec("blocked", BLOCK))).workflow_id
    await client.start_workflow(wid)
    await asyncio.wait_for(py_agent.started.get(), 15)
    sync = SyncDweClient(server.address)
    stream = sync.watch_workflow(wid)
    assert event_name((await asyncio.to_thread(next, stream)).type) == "workflow_started"
    assert event_name((await asyncio.to_thread(next, stream)).type) == "agent_started"
    reader = asyncio.create_task(asyncio.to_thread(next, stream))  # waits for a live event
    await wait_for(lambda: subscribed(server, wid), 5, "server follows the workflow")
    await asyncio.to_thread(sync.close)
    with pytest.raises(RpcCancelledError):
        await asyncio.wait_for(reader, 15)
    await wait_for(lambda: not subscribed(server, wid), 5, "server ended the watch")
    await asyncio.to_thread(sync.close)  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.to_thread(sync.get_engine_metrics)


async def test_a_long_sync_stream_arrives_whole_and_in_order(
    server: DweServer, client: DweClient, py_agent: PyAgent
) -> None:
    steps = [{"step_id": f"s{i}", "agent_capability": "work"} for i in range(300)]
    wid = (await client.create_workflow(spec("long", steps))).workflow_id
    executed = [e async for e in client.execute_workflow(wid)]
    assert len(executed) > 600  # more than the sync client's hand-over window, twice over

    def replay() -> list[int]:
        with SyncDweClient(server.address) as sync:
            return [e.seq for e in sync.watch_workflow(wid)]

    assert await asyncio.to_thread(replay) == [e.seq for e in executed]


async def test_one_sync_client_serves_many_threads_at_once(
    server: DweServer, client: DweClient
) -> None:
    ids = [(await client.create_workflow(spec(f"w{i}"))).workflow_id for i in range(3)]

    def read_all(sync: SyncDweClient) -> list[str]:
        return [sync.get_workflow_status(wid).workflow_id for wid in ids]

    with SyncDweClient(server.address) as sync:
        results = await asyncio.gather(*(asyncio.to_thread(read_all, sync) for _ in range(8)))
    assert results == [ids] * 8


# trace context


def workflow_span(exporter: InMemorySpanExporter, wid: str) -> Any:
    spans = [
        s
        for s in exporter.get_finished_spans()
        if s.name.startswith("dwe.workflow") and s.attributes.get("dwe.workflow_id") == wid
    ]
    return spans[0] if spans else None


async def test_trace_context_reaches_the_server(traced_server: tuple[DweServer, Any, Any]) -> None:
    srv, exporter, _ = traced_server
    caller = TracerProvider().get_tracer("test")

    async with DweClient(srv.address) as client:
        wid = (await client.create_workflow(spec("traced"))).workflow_id
        with caller.start_as_current_span("async-caller") as span:
            await client.start_workflow(wid)
        await client.cancel_workflow(wid)  # ends the workflow span
    server_span = await wait_for(lambda: workflow_span(exporter, wid), 5, "workflow span")
    assert server_span.context.trace_id == span.get_span_context().trace_id
    assert server_span.parent.span_id == span.get_span_context().span_id

    def sync_side() -> tuple[str, Any]:
        with SyncDweClient(srv.address) as sync:
            wid = sync.create_workflow(spec("traced-sync")).workflow_id
            with caller.start_as_current_span("sync-caller") as span:
                sync.start_workflow(wid)
            sync.cancel_workflow(wid)
        return wid, span

    wid, span = await asyncio.to_thread(sync_side)
    server_span = await wait_for(lambda: workflow_span(exporter, wid), 5, "workflow span")
    assert server_span.context.trace_id == span.get_span_context().trace_id

    # Without a caller span the server starts a trace of its own.
    async with DweClient(srv.address) as client:
        assert trace.get_current_span() is trace.INVALID_SPAN
        wid = (await client.create_workflow(spec("untraced"))).workflow_id
        await client.start_workflow(wid)
        await client.cancel_workflow(wid)
    server_span = await wait_for(lambda: workflow_span(exporter, wid), 5, "workflow span")
    assert server_span.parent is None


async def test_clients_without_trace_context_leave_the_server_its_own_trace(
    traced_server: tuple[DweServer, Any, Any],
) -> None:
    srv, exporter, _ = traced_server
    caller = TracerProvider().get_tracer("test")
    async with DynamicWorkflowEngine(srv.address, enable_monitoring=False) as engine:
        wf = await engine.create_workflow("quiet", steps=WORK)
        with caller.start_as_current_span("async-caller"):
            await engine.start_workflow(wf)
        await engine.cancel_workflow(wf)
    server_span = await wait_for(lambda: workflow_span(exporter, wf.workflow_id), 5, "span")
    assert server_span.parent is None

    def sync_side() -> str:
        with SyncDweClient(srv.address, trace_context=False) as sync:
            wid = sync.create_workflow(spec("quiet-sync")).workflow_id
            with caller.start_as_current_span("sync-caller"):
                sync.start_workflow(wid)
            sync.cancel_workflow(wid)
        return wid

    wid = await asyncio.to_thread(sync_side)
    server_span = await wait_for(lambda: workflow_span(exporter, wid), 5, "workflow span")
    assert server_span.parent is None


# DynamicWorkflowEngine (the guide's API) over gRPC


async def test_engine_guide_flow(server: DweServer, py_agent: PyAgent) -> None:
    with DynamicWorkflowEngine(server.address) as engine:
        # The guide's sync methods block; the server shares this loop, so call them
        # from a thread (against a server elsewhere they may be called in the loop).
        await asyncio.to_thread(
            engine.register_agent, "zoho_scout", "ZohoDataScout", ["data_fetch"], config={"t": 30}
        )
        await asyncio.to_thread(engine.register_agent, "memory", ["memory"])
        agents = {a["agent_id"]: a for a in await asyncio.to_thread(engine.list_agents)}
        assert (agents["memory"]["agent_type"], agents["memory"]["capabilities"]) == (
            "memory",
            ["memory"],
        )
        assert agents["zoho_scout"]["config"] == {"t": 30}
        assert agents["py-agent"]["connected"] is True
        assert await asyncio.to_thread(engine.get_workflow_status, "nope") is None

        wf = await engine.create_workflow(
            "wf",
            "d",
            [{"step_id": "a", "name": "A", "agent_capability": "work"}],
            priority="high",
            context={"k": 1},
        )
        assert wf.state is WorkflowState.PENDING
        status = await asyncio.to_thread(engine.get_workflow_status, wf.workflow_id)
        assert (status["state"], status["priority"], status["progress"]) == ("pending", "high", 0.0)

        seen = []
        async for event in engine.execute_workflow(wf, context={"x": 2}, session_id="s"):
            seen.append(event["event"])
            if event["event"] == "workflow_completed":
                assert event["data"]["final_output"]["success_rate"] == 1.0
                break
        assert seen == [
            "workflow_started",
            "agent_started",
            "agent_completed",
            "workflow_completed",
        ]
        assert wf.state is WorkflowState.COMPLETED
        assert wf.results == {"a": {"step": "a", "context": {"k": 1, "x": 2}, "inputs": {}}}
        assert wf.steps[0].state is StepState.COMPLETED
        metrics = await asyncio.to_thread(engine.get_engine_metrics)
        assert (metrics["completed_workflows"], metrics["active_workflows"]) == (1, 0)
        rows = await asyncio.to_thread(engine.list_workflows)
        assert [r["workflow_id"] for r in rows] == [wf.workflow_id]

        assert await engine.cancel_workflow(wf) is False  # already completed
        assert await engine.cancel_workflow("nope") is False
        blocked = await engine.create_workflow("b", steps=BLOCK)
        assert await engine.start_workflow(blocked) is WorkflowState.RUNNING
        await asyncio.wait_for(py_agent.started.get(), 15)
        assert await engine.cancel_workflow(blocked, "stop") is True
        assert blocked.state is WorkflowState.CANCELLED
        status = await asyncio.to_thread(engine.get_workflow_status, blocked.workflow_id)
        assert status["state"] == "cancelled"


async def test_engine_rejects_bad_input(server: DweServer) -> None:
    with DynamicWorkflowEngine(server.address) as engine:
        with pytest.raises(ValidationError, match="at least one capability"):
            engine.register_agent("a", "T", [])  # checked before any RPC
        with pytest.raises(ValidationError, match="max_concurrent_tasks"):
            engine.register_agent("a", "T", ["analysis"], max_concurrent_tasks=0)
        with pytest.raises(ValidationError, match="step 'a' depends on itself"):
            await engine.create_workflow(
                "bad", steps=[{"step_id": "a", "agent_capability": "x", "dependencies": ["a"]}]
            )
        assert await asyncio.to_thread(engine.list_agents) == []


@pytest.mark.timeout(30)
async def test_engine_resumes_after_a_server_restart_without_duplicates(
    server: DweServer, server_config: ServerConfig
) -> None:
    """The event stream breaks for real (the server stops mid-run); the engine resumes it
    with WatchWorkflow(after_seq) on the restarted server (same port, same SQLite file)."""
    first = make_py_agent("first")
    first_serving = await serve_until_connected(first, server.address)
    second = make_py_agent("second")
    second.gate.set()
    second_serving: asyncio.Task | None = None
    fast = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 200)]
    policy = ReconnectPolicy(attempts=100, initial_delay=0.05, max_delay=0.1)
    restarted: DweServer | None = None
    try:
        async with DynamicWorkflowEngine(server.address, reconnect=policy, options=fast) as engine:
            wf = await engine.create_workflow(
                "resume",
                steps=[
                    {"step_id": "g", "agent_capability": "block"},
                    {"step_id": "w", "agent_capability": "work", "dependencies": ["g"]},
                ],
            )
            events = []
            async for event in engine.execute_workflow(wf):
                events.append(event)
                if event["event"] == "agent_started" and restarted is None:
                    await asyncio.wait_for(first.started.get(), 15)
                    await server.stop(0.5)  # breaks the engine's stream mid-run
                    # The first agent goes with the old server (a drained SDK agent would
                    # reconnect, so it is cancelled): g has to run again on the second.
                    first_serving.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await first_serving
                    config = dataclasses.replace(server_config, port=server.port)
                    restarted = await create_server(config)
                    second_serving = await serve_until_connected(second, restarted.address)
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # nothing lost, nothing twice
        kinds = [(e["event"], e["data"].get("agent_id")) for e in events]
        assert kinds[:2] == [("workflow_started", None), ("agent_started", "first")]
        assert ("agent_retrying", "first") in kinds  # g lost its agent: run again
        assert ("agent_completed", "second") in kinds
        assert events[-1]["event"] == "workflow_completed"
        assert wf.state is WorkflowState.COMPLETED
        assert wf.results["g"] == {"released": "g"}
        assert wf.results["w"]["inputs"] == {"g": {"released": "g"}}
    finally:
        if second_serving is not None:
            await stop_agent(second, second_serving)
        if restarted is not None:
            await restarted.stop(0.5)


async def test_engine_close_twice_and_use_after_close(server: DweServer) -> None:
    engine = DynamicWorkflowEngine(server.address)
    wf = await engine.create_workflow("wf", steps=WORK)
    assert wf.state is WorkflowState.PENDING
    await engine.aclose()
    engine.close()
    with pytest.raises(RuntimeError, match="closed"):
        await engine.create_workflow("wf", steps=WORK)


async def test_breaking_out_of_engine_generator_cancels_the_stream(
    server: DweServer, py_agent: PyAgent
) -> None:
    async with DynamicWorkflowEngine(server.address) as engine:
        wf = await engine.create_workflow("b", steps=BLOCK)
        async for event in engine.execute_workflow(wf):
            if event["event"] == "agent_started":
                assert subscribed(server, wf.workflow_id)
                break  # no explicit aclose: the guide's idiom
        await wait_for(lambda: not subscribed(server, wf.workflow_id), 5, "server ended the stream")
        assert wf.state is WorkflowState.RUNNING
        py_agent.gate.set()
        tail = [e["event"] async for e in engine.watch_workflow(wf, after_seq=2)]
        assert tail == ["agent_completed", "workflow_completed"]
        assert wf.state is WorkflowState.COMPLETED
