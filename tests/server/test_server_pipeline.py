"""PIPELINE end to end: records stream through stages while earlier stages still run."""

from __future__ import annotations

import asyncio
import time

import orjson

from dwe.agent_sdk import Agent, Task
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer

from .helpers import name_of, run_workflow, serving, summary_of

N, STAGE = 50, 0.02
STEPS = [
    {"step_id": "source", "agent_capability": "s0"},
    {"step_id": "double", "agent_capability": "s1", "dependencies": ["source"]},
    {"step_id": "inc", "agent_capability": "s2", "dependencies": ["double"]},
]


def stage_agents() -> list[Agent]:
    source = Agent("source", capabilities=["s0"])
    double = Agent("double", capabilities=["s1"])
    inc = Agent("inc", capabilities=["s2"])

    @source.handler("s0")
    async def produce(task: Task) -> list[int]:
        for i in range(N):
            await asyncio.sleep(STAGE)
            await task.emit(i)  # PIPELINE: goes downstream now; PARALLEL: just an event
        return list(range(N))

    def stage(fn):  # type: ignore[no-untyped-def]
        async def handle(task: Task) -> object:
            (value,) = task.inputs.values()
            items = value if isinstance(value, list) else [value]
            out = []
            for item in items:
                await asyncio.sleep(STAGE)
                out.append(fn(item))
            return out if isinstance(value, list) else out[0]

        return handle

    double.handler("s1")(stage(lambda x: x * 2))
    inc.handler("s2")(stage(lambda x: x + 1))
    return [source, double, inc]


async def test_pipeline_beats_parallel_and_keeps_order(
    server: DweServer, client: DweClient
) -> None:
    walls, outputs = {}, {}
    async with serving(server.address, *stage_agents()):
        for mode in ("pipeline", "parallel"):
            t0 = time.perf_counter()
            events = await run_workflow(client, STEPS, execution_mode=mode)
            walls[mode] = time.perf_counter() - t0
            assert name_of(events[-1]) == "workflow_completed", events[-1]
            outputs[mode] = orjson.loads(summary_of(events[-1]).results["inc"].data)
    expected = [2 * i + 1 for i in range(N)]
    assert outputs["pipeline"] == expected  # the stage's invocation outputs, in order
    assert outputs["parallel"] == expected
    # 50 records x 3 stages of 20 ms: about (50 + 2) stage-times against 150.
    assert walls["pipeline"] < 0.5 * walls["parallel"], walls
