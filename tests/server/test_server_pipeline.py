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

from ..conftest import WAIT
from .helpers import name_of, serving, summary_of

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
