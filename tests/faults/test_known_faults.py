"""Server faults the fault suite found, each reproduced on its own. All four are fixed
(they were strict xfails until then); each test stays to keep it fixed:

- calls in flight when the server stops got CANCELLED: now UNAVAILABLE
  (runtime/admission.py);
- watch streams ended OK at shutdown: now UNAVAILABLE with the reason;
- GetWorkflowStatus ran ahead of the store while commits failed: now read from the
  store while they fail;
- PIPELINE records sent just before a crash were lost: numbered progress, resent
  after a reconnect (engine/gate.py, docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections import Counter
from functools import partial
from pathlib import Path

import orjson
import pytest

from dwe.clients import DweError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2, workflow_pb2

from ..conftest import AgentProcess, wait_for
from .agent import RECORDS
from .callers import DIAMOND, TERMINAL, fault_client
from .checks import store_view
from .cluster import Cluster, RunLog, ServerProc
from .disk import small_disk

pytestmark = pytest.mark.timeout(60)

#: Concurrent create loops: enough that some call is in flight whenever the server stops.
LOOPS = 40
WAITING = [{"step_id": "a", "agent_capability": "nobody-has-it"}]


async def _stop_under_creates(server: ServerProc, client: DweClient) -> Counter[str]:
    """SIGTERM while LOOPS tasks create workflows back to back; the codes they end with."""
    spec = build_workflow_spec("shutdown", WAITING)
    await client.create_workflow(spec)  # connected before the load starts
    codes: Counter[str] = Counter()
    numbers = itertools.count()

    async def create_until_refused() -> None:
        while True:
            try:
                await client.create_workflow(spec, f"create-{next(numbers)}")
                codes["created"] += 1
            except DweError as err:
                codes[err.code.name] += 1
                return

    loops = [asyncio.create_task(create_until_refused()) for _ in range(LOOPS)]
    await wait_for(lambda: codes["created"] > 200, what="creates flowing")
    server.signal(signal.SIGTERM)
    proc = server.proc
    if proc is None or await asyncio.to_thread(proc.wait, 15) != 0:
        pytest.fail(f"the server did not stop cleanly: {server.tail()}")
    await asyncio.wait(loops, timeout=30)
    del codes["created"]
    if sum(codes.values()) != LOOPS:
        pytest.fail(f"not every loop ended: {codes}")
    return codes


async def test_calls_in_flight_at_shutdown_get_unavailable(tmp_path: Path) -> None:
    server = ServerProc(tmp_path / "dwe.db", tmp_path)
    codes: Counter[str] = Counter()
    try:
        for _ in range(2):  # two stops: a call is caught in flight in nearly every one
            await server.start()
            async with DweClient(server.address, rpc_timeout=20) as client:
                codes += await _stop_under_creates(server, client)
    finally:
        server.kill()
    assert set(codes) == {"UNAVAILABLE"}, codes


async def test_watch_ended_by_shutdown_is_unavailable(tmp_path: Path) -> None:
    server = ServerProc(tmp_path / "dwe.db", tmp_path)
    await server.start()
    try:
        async with DweClient(server.address) as client:
            created = await client.create_workflow(build_workflow_spec("waits", WAITING))
            await client.start_workflow(created.workflow_id)
            seen = []
            watch = client.watch_workflow(created.workflow_id)
            seen.append(await anext(watch))  # subscribed: workflow_started
            server.signal(signal.SIGTERM)
            ended = "OK"
            try:
                seen.extend([e async for e in watch])
            except DweError as err:
                ended = err.code.name
    finally:
        server.kill()
    if any(e.type in TERMINAL for e in seen):
        pytest.fail("the workflow ended: nothing was left to stream")
    assert ended == "UNAVAILABLE", f"the stream ended {ended} after {len(seen)} event(s)"


async def test_status_is_not_ahead_of_the_store_while_commits_fail(tmp_path: Path) -> None:
    with small_disk(tmp_path, live=True) as disk:
        cluster = Cluster(tmp_path, agents=1, seed=0, db=disk.db)
        await cluster.server.start()
        try:
            async with DweClient(cluster.address) as client:
                created = await client.create_workflow(build_workflow_spec("full", DIAMOND))
                await client.start_workflow(created.workflow_id)
                disk.fill()
                cluster.start_agent(cluster.agent_ids[0])  # its assignments cannot commit
                ahead = await _status_ahead(client, created.workflow_id, disk.db)
        finally:
            disk.free()
            await cluster.stop()
    assert not ahead, ahead


async def _status_ahead(client: DweClient, workflow_id: str, db: Path) -> str:
    """Polls status and then the store for 3 s; the first status past the store, if any."""

    async def ahead() -> str:
        status = await client.get_workflow_status(workflow_id)
        state, _, last = store_view(db)[workflow_id]
        steps = [enums_pb2.StepState.Name(s.state) for s in status.steps]
        if status.last_seq > last:
            return f"status last_seq {status.last_seq} {steps}; store {state}, last seq {last}"
        return ""

    try:
        found: str = await wait_for(ahead, 3.0, "status ahead of the store")
    except TimeoutError:
        return ""
    return found


PIPELINE = [
    {"step_id": "source", "agent_capability": "p0"},
    {"step_id": "double", "agent_capability": "p1", "dependencies": ["source"]},
]


async def test_pipeline_keeps_every_record_across_crashes(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, agents=0, seed=0)
    await cluster.server.start()
    runs = RunLog(tmp_path / "runs-pipeline.txt")
    env = {"DWE_FAULTS_AGENT_ID": "pipeline", "DWE_FAULTS_RUNS": str(runs.path)}
    log = tmp_path / "agent-pipeline.log"
    agent = AgentProcess(cluster.address, "tests.faults.agent:pipeline", env, log)
    try:
        async with fault_client(cluster.address) as client:
            spec = build_workflow_spec("pipe", PIPELINE, execution_mode="pipeline")
            workflow_id = (await client.create_workflow(spec)).workflow_id
            await client.start_workflow(workflow_id)
            for emitted in (100, 200, 300):  # kill -9 while records stream
                await wait_for(partial(_emitted, runs, emitted), what="records emitted")
                cluster.server.kill()
                await cluster.server.start()
            summary = await _summary(client, workflow_id)
    finally:
        agent.stop()
        await cluster.stop()
    outputs = orjson.loads(summary.results["double"].data)
    missing = sorted(set(range(RECORDS)) - {n // 2 for n in outputs})
    assert not missing, f"{len(outputs)} of {RECORDS} outputs, missing records {missing}"


def _emitted(runs: RunLog, n: int) -> bool:
    return len(runs.refresh()) >= n


async def _summary(client: DweClient, workflow_id: str) -> workflow_pb2.RunSummary:
    """The run summary of its workflow_completed event."""

    async def terminal() -> workflow_pb2.WorkflowEvent:
        events = [e async for e in client.watch_workflow(workflow_id)]
        return events[-1]

    last = await asyncio.wait_for(terminal(), 30)
    if last.type != enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED:
        pytest.fail(f"the pipeline did not complete: {last}")
    return last.workflow_completed.summary
