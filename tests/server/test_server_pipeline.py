"""PIPELINE end to end: records stream through stages while earlier stages still run.

That this makes a run faster than PARALLEL is a speed claim: `make bench` measures it
(bench/run.py, M2 "PIPELINE vs PARALLEL"). Here only the behaviour behind it is checked,
through the order of the server's events.
"""

from __future__ import annotations

import asyncio

import orjson

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import workflow_pb2

from ..conftest import WAIT, MakeServer, free_port, wait_for
from .helpers import name_of, serving, summary_of
from .test_server_store_failure import failed_writes, freeze, on_writer, thaw

N = 50
STEPS = [
    {"step_id": "source", "agent_capability": "s0"},
    {"step_id": "double", "agent_capability": "s1", "dependencies": ["source"]},
    {"step_id": "inc", "agent_capability": "s2", "dependencies": ["double"]},
]


def stage_agents(first_record_through: asyncio.Event) -> list[Agent]:
    """Three one-slot agents. With ``hold`` in the context, the source emits its first
    record and then waits until the last stage has completed that record before it
    emits the rest and ends: possible only if records flow while the source runs."""
    source = Agent("source", capabilities=["s0"])
    double = Agent("double", capabilities=["s1"])
    inc = Agent("inc", capabilities=["s2"])

    @source.handler("s0")
    async def produce(task: Task) -> list[int]:
        await task.emit(0)  # PIPELINE: goes downstream now; PARALLEL: just an event
        if task.context.get("hold"):
            await asyncio.wait_for(first_record_through.wait(), WAIT)
        for i in range(1, N):
            await task.emit(i)
        return list(range(N))

    def stage(fn):  # type: ignore[no-untyped-def]
        async def handle(task: Task) -> object:
            (value,) = task.inputs.values()
            if isinstance(value, list):
                return [fn(item) for item in value]
            return fn(value)

        return handle

    double.handler("s1")(stage(lambda x: x * 2))
    inc.handler("s2")(stage(lambda x: x + 1))
    return [source, double, inc]


async def _execute(
    client: DweClient, mode: str, first_record_through: asyncio.Event
) -> list[workflow_pb2.WorkflowEvent]:
    spec = build_workflow_spec(
        mode, STEPS, execution_mode=mode, context={"hold": mode == "pipeline"}
    )
    created = await client.create_workflow(spec)
    events = []
    async for event in client.execute_workflow(created.workflow_id):
        events.append(event)
        if name_of(event) == "agent_completed" and event.step_id == "inc":
            first_record_through.set()
    return events


def _seqs(events: list[workflow_pb2.WorkflowEvent], kind: str, step_id: str) -> list[int]:
    return [e.seq for e in events if name_of(e) == kind and e.step_id == step_id]


async def test_pipeline_streams_records_while_the_source_runs_and_keeps_order(
    server: DweServer, client: DweClient
) -> None:
    through = asyncio.Event()
    async with serving(server.address, *stage_agents(through)):
        piped = await _execute(client, "pipeline", through)
        parallel = await _execute(client, "parallel", asyncio.Event())
    for events in (piped, parallel):
        assert name_of(events[-1]) == "workflow_completed", events[-1]
        # The last stage's invocation outputs, in record order.
        assert orjson.loads(summary_of(events[-1]).results["inc"].data) == [
            2 * i + 1 for i in range(N)
        ]
    (source_done,) = _seqs(piped, "agent_completed", "source")
    # PIPELINE: both later stages took the first record and the last one finished it
    # before the source step completed.
    assert min(_seqs(piped, "agent_started", "double")) < source_done
    assert min(_seqs(piped, "agent_completed", "inc")) < source_done
    assert len(_seqs(piped, "agent_completed", "inc")) == N  # one invocation per record
    # PARALLEL: the next stage starts only after the source has completed, once.
    (source_done,) = _seqs(parallel, "agent_completed", "source")
    (double_started,) = _seqs(parallel, "agent_started", "double")
    assert double_started > source_done


async def test_pipeline_streaming_at_a_restart_resumes_and_keeps_every_record(
    make_server: MakeServer,
) -> None:
    """The seventh fault of issue 7: a PIPELINE run that is streaming when the server
    restarts resumes from the store (records received, outputs made, counters) and ends
    with every record processed once, in order."""
    port = free_port()
    server = await make_server(port=port, restart_lease=WAIT)
    gate, processed = asyncio.Event(), []
    source = Agent("source", capabilities=["s0"])
    double = Agent("double", capabilities=["s1"])

    @source.handler("s0")
    async def produce(task: Task) -> None:
        for i in range(3):
            await task.emit(i)
        await asyncio.wait_for(gate.wait(), WAIT)  # the server restarts meanwhile
        for i in range(3, 6):
            await task.emit(i)

    @double.handler("s1")
    async def times_two(task: Task) -> int:
        (value,) = task.inputs.values()
        processed.append(value)
        return int(value) * 2

    steps = [
        {"step_id": "source", "agent_capability": "s0"},
        {"step_id": "double", "agent_capability": "s1", "dependencies": ["source"]},
    ]
    async with serving(server.address, source, double):
        async with DweClient(server.address) as client:
            created = await client.create_workflow(
                build_workflow_spec("resume", steps, execution_mode="pipeline")
            )
            wid = created.workflow_id
            await client.start_workflow(wid)
        await wait_for(lambda: processed == [0, 1, 2], what="three records through")
        # The source cannot finish before the restart: a short grace ends its session.
        await server.stop(0.2)
        server = await make_server(port=port, restart_lease=WAIT)
        await wait_for(lambda: source.connected.is_set(), what="source back")
        gate.set()
        async with DweClient(server.address) as client:
            events = [e async for e in client.watch_workflow(wid)]
            status = await client.get_workflow_status(wid)
    assert name_of(events[-1]) == "workflow_completed", summary_of(events[-1]).error_message
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert processed == [0, 1, 2, 3, 4, 5]
    (double_status,) = [s for s in status.steps if s.step_id == "double"]
    assert orjson.loads(double_status.output.data) == [0, 2, 4, 6, 8, 10]


async def test_records_of_a_failed_commit_are_sent_again(server: DweServer) -> None:
    """Records the server received but could not store (the disk was full) are not lost:
    the rolled-back attempt is asked to send its progress again, and the result waits
    for it (StepProgress.index, StepResult.progress_count)."""
    emitted, processed = asyncio.Event(), []
    go_on = asyncio.Event()
    source = Agent("source", capabilities=["s0"])
    double = Agent("double", capabilities=["s1"])

    @source.handler("s0")
    async def produce(task: Task) -> None:
        await task.emit({"i": 0})
        await asyncio.wait_for(go_on.wait(), WAIT)
        await task.emit({"i": 1, "blob": "x" * 256 * 1024})  # needs new pages: fails
        emitted.set()
        await task.emit({"i": 2})

    @double.handler("s1")
    async def record(task: Task) -> int:
        (value,) = task.inputs.values()
        processed.append(value["i"])
        return int(value["i"])

    steps = [
        {"step_id": "source", "agent_capability": "s0"},
        {"step_id": "double", "agent_capability": "s1", "dependencies": ["source"]},
    ]
    failed = failed_writes(server)
    async with serving(server.address, source, double), DweClient(server.address) as client:
        created = await client.create_workflow(
            build_workflow_spec("refused", steps, execution_mode="pipeline")
        )
        await client.start_workflow(created.workflow_id)
        await wait_for(lambda: processed == [0], what="the first record through")
        await on_writer(server, freeze)
        go_on.set()
        await wait_for(lambda: emitted.is_set() and failed, what="a commit to fail")
        await on_writer(server, thaw)
        events = [e async for e in client.watch_workflow(created.workflow_id)]
        status = await client.get_workflow_status(created.workflow_id)
    assert name_of(events[-1]) == "workflow_completed", summary_of(events[-1]).error_message
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    # Every record reached the next stage, once each in its output. An invocation whose
    # result was in the failed commit runs again (at least once), so `processed` may
    # repeat a record, never skip one.
    assert sorted(set(processed)) == [0, 1, 2]
    (double_status,) = [s for s in status.steps if s.step_id == "double"]
    assert orjson.loads(double_status.output.data) == [0, 1, 2]
