"""A commit that fails for real (the SQLite file cannot grow; PostgreSQL refuses writes):
its callers get UNAVAILABLE, watchers hear nothing of it, nothing of it is stored, and the
server commits again once the store can."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import grpc
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import NotFoundError, UnavailableError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.server.store.rows import WriteBatch
from dwe.v1 import enums_pb2, workflow_pb2

from ..conftest import wait_for
from .helpers import name_of, serving

STEPS = [{"step_id": "a", "agent_capability": "nobody-has-it"}]
# Far more than the free space of the file's last pages: a commit of it needs new pages.
BIG = {"blob": "x" * 256 * 1024}


async def on_writer(server: DweServer, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn`` on the store's writer connection, on the writer thread, between commits."""
    writer_thread = server.coordinator._commit._writer
    return await asyncio.get_running_loop().run_in_executor(
        writer_thread, lambda: fn(server.store._w)
    )


#: How each store says it is full.
FULL = "(database or disk is full|No space left on device)"
# PostgreSQL's stand-in for a full disk: every write to these tables raises, for real,
# inside the server's own transaction, until thawed.
_PG_TABLES = ("workflows", "steps", "events", "pipe_records", "agents")
_PG_FREEZE = (
    "CREATE OR REPLACE FUNCTION dwe_test_full() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'No space left on device (test)'"
    " USING ERRCODE = 'disk_full'; END $$"
)


def freeze(conn: Any) -> None:
    """The store cannot grow (as on a full disk): a SQLite file may not get more pages;
    PostgreSQL refuses every insert and update."""
    if isinstance(conn, sqlite3.Connection):
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        assert conn.execute(f"PRAGMA max_page_count={pages}").fetchone()[0] == pages
        return
    conn.execute(_PG_FREEZE)
    for table in _PG_TABLES:
        conn.execute(
            f"CREATE TRIGGER dwe_test_full BEFORE INSERT OR UPDATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION dwe_test_full()"
        )


def thaw(conn: Any) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute("PRAGMA max_page_count=4294967294")
        return
    for table in _PG_TABLES:
        conn.execute(f"DROP TRIGGER IF EXISTS dwe_test_full ON {table}")


def failed_writes(server: DweServer) -> list[WriteBatch]:
    """Batches whose write raised, from now on. The write itself is the store's own: this
    only keeps the batch, to name what the failed commit held."""
    failed: list[WriteBatch] = []
    write = server.store.write

    def keeping(batch: WriteBatch) -> list[str]:
        try:
            return write(batch)
        except Exception:
            failed.append(batch)
            raise

    server.store.write = keeping  # type: ignore[method-assign]
    return failed


async def watching(client: DweClient, server: DweServer) -> list[workflow_pb2.WorkflowEvent]:
    """Every event WatchEvents delivers, collected by a task, subscribed before returning."""
    seen: list[workflow_pb2.WorkflowEvent] = []

    async def watch() -> None:
        async for event in client.watch_events():
            seen.append(event)

    asyncio.get_running_loop().create_task(watch())
    await wait_for(lambda: server.coordinator.subscribers() == 1, what="watcher subscribed")
    return seen


async def test_failed_commit_withholds_its_events_and_stores_nothing(
    server: DweServer, client: DweClient
) -> None:
    failed = failed_writes(server)
    seen = await watching(client, server)
    waiting = await client.create_workflow(build_workflow_spec("waiting", STEPS))
    await on_writer(server, freeze)

    # A create that needs new pages.
    with pytest.raises(UnavailableError, match=f"the store could not commit: {FULL}") as err:
        await client.create_workflow(
            build_workflow_spec("big", STEPS, context=BIG), request_id="req-big"
        )
    assert err.value.code is grpc.StatusCode.UNAVAILABLE
    (lost,) = failed[0].new_workflows
    with pytest.raises(NotFoundError):
        await client.get_workflow_status(lost.id)
    # A start whose commit holds events (workflow_started with the big context).
    with pytest.raises(UnavailableError, match="the store could not commit"):
        await client.start_workflow(waiting.workflow_id, context=BIG)
    withheld = {(e.workflow_id, e.seq) for e in failed[1].events}
    assert (waiting.workflow_id, 1) in withheld

    await on_writer(server, thaw)
    later = await client.create_workflow(build_workflow_spec("later", STEPS, context=BIG))
    await client.start_workflow(later.workflow_id)
    await wait_for(lambda: any(e.workflow_id == later.workflow_id for e in seen), what="later")
    # Events are published in commit order: had any of the failed batch been sent, it
    # would have come before this one. None was.
    assert [(e.workflow_id, name_of(e)) for e in seen] == [(later.workflow_id, "workflow_started")]
    assert len(failed) == 2  # the server commits again
    status = await client.get_workflow_status(later.workflow_id)
    assert status.state == enums_pb2.WORKFLOW_STATE_RUNNING
    # The failed create left no trace: its request id is free, its id unknown.
    again = await client.create_workflow(build_workflow_spec("big", STEPS), request_id="req-big")
    assert again.created and again.workflow_id != lost.id
    listed = await client.list_workflows()
    assert {w.workflow_id for w in listed.workflows} == {
        waiting.workflow_id,
        later.workflow_id,
        again.workflow_id,
    }


# A failed commit puts every run it touched back to its stored state (the first fault
# of issue 7): a retried start works and the run's events keep their seq without gaps.


async def _start_fails(server: DweServer, client: DweClient) -> str:
    """A workflow whose StartWorkflow failed to commit; the store can write again after."""
    waiting = await client.create_workflow(build_workflow_spec("waiting", STEPS))
    await on_writer(server, freeze)
    with pytest.raises(UnavailableError, match="the store could not commit"):
        await client.start_workflow(waiting.workflow_id, context=BIG)
    await on_writer(server, thaw)
    return waiting.workflow_id


async def test_start_that_failed_to_commit_can_be_retried(
    server: DweServer, client: DweClient
) -> None:
    """docs/protocol.md: UNAVAILABLE means the server could not store the change; retry."""
    workflow_id = await _start_fails(server, client)
    status = await client.get_workflow_status(workflow_id)
    assert status.state == enums_pb2.WORKFLOW_STATE_PENDING  # as stored; today: RUNNING
    started = await client.start_workflow(workflow_id)  # today: FAILED_PRECONDITION
    assert started.state == enums_pb2.WORKFLOW_STATE_RUNNING


async def test_events_after_a_failed_commit_keep_seq_without_gaps(
    server: DweServer, client: DweClient
) -> None:
    """docs/protocol.md: a workflow's events are numbered 1, 2, ... with no gaps."""
    workflow_id = await _start_fails(server, client)
    await client.cancel_workflow(workflow_id)
    events = [e async for e in client.watch_workflow(workflow_id)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # today: [2]


def _stored(wid: str, conn: Any) -> tuple[int, list[str]]:
    """The run's last stored seq and step states, read on the writer connection."""
    mark = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    (seq,) = conn.execute(
        f"SELECT max(seq) FROM events WHERE workflow_id={mark}", (wid,)
    ).fetchone()
    rows = conn.execute(f"SELECT state FROM steps WHERE workflow_id={mark} ORDER BY idx", (wid,))
    return seq, [state for (state,) in rows]


DIAMOND = [
    {"step_id": "fetch", "agent_capability": "work"},
    {"step_id": "left", "agent_capability": "work", "dependencies": ["fetch"]},
    {"step_id": "right", "agent_capability": "work", "dependencies": ["fetch"]},
    {"step_id": "join", "agent_capability": "work", "dependencies": ["left", "right"]},
]


async def test_runs_in_flight_during_a_full_disk_complete_once_it_frees(
    server: DweServer, client: DweClient
) -> None:
    """The first fault of issue 7: 15 diamonds whose fetch results arrive while the file
    cannot grow. Their commit fails, the runs go back to their stored state, and once the
    store can write again every run completes with seqs 1, 2, ... and no gap."""
    gate, running = asyncio.Event(), []
    agent = Agent("worker", capabilities=["work"], max_concurrent_tasks=20)

    @agent.handler("work")
    async def work(task: Task) -> dict:
        if task.step_id == "fetch" and not gate.is_set():
            running.append(task.workflow_id)
            await gate.wait()
        return {"step": task.step_id, "pad": "x" * 4096}

    async with serving(server.address, agent):
        spec = build_workflow_spec("diamond", DIAMOND)
        ids = [(await client.create_workflow(spec)).workflow_id for _ in range(15)]
        for wid in ids:
            await client.start_workflow(wid)
        await wait_for(lambda: len(running) == 15, what="15 fetch steps running")
        await on_writer(server, freeze)
        failed = failed_writes(server)
        gate.set()  # the 15 results arrive; their commit cannot grow the file
        await wait_for(lambda: len(failed) >= 1, what="a commit failed")
        await on_writer(server, thaw)
        for wid in ids:
            events = [e async for e in client.watch_workflow(wid)]
            assert [e.seq for e in events] == list(range(1, len(events) + 1)), wid
            assert name_of(events[-1]) == "workflow_completed", wid
            status = await client.get_workflow_status(wid)
            assert status.state == enums_pb2.WORKFLOW_STATE_COMPLETED


async def test_while_commits_fail_the_status_is_what_the_store_holds(
    server: DweServer, client: DweClient
) -> None:
    """Found by the fault suite: while the disk stays full, every retry of the commit
    decides anew in memory (and is rolled back); GetWorkflowStatus must not report
    those decisions, nor a last_seq the store has not reached."""
    gate, running = asyncio.Event(), []
    agent = Agent("worker", capabilities=["work"], max_concurrent_tasks=4)

    @agent.handler("work")
    async def work(task: Task) -> dict:
        if task.step_id == "fetch":
            running.append(task.workflow_id)
            await gate.wait()
        return {"step": task.step_id, "pad": "x" * 64 * 1024}

    async with serving(server.address, agent):
        wid = (await client.create_workflow(build_workflow_spec("d", DIAMOND))).workflow_id
        await client.start_workflow(wid)
        await wait_for(lambda: running == [wid], what="fetch running")
        await on_writer(server, freeze)
        failed = failed_writes(server)
        gate.set()  # fetch completes, left and right are assigned: none of it is stored
        await wait_for(lambda: len(failed) >= 2, what="two failed commits")
        during = await client.get_workflow_status(wid)
        stored_seq, stored_states = await on_writer(server, partial(_stored, wid))
        await on_writer(server, thaw)
        events = [e async for e in client.watch_workflow(wid)]
    assert during.last_seq == stored_seq
    states = [enums_pb2.StepState.Name(s.state).removeprefix("STEP_STATE_") for s in during.steps]
    assert [s.lower() for s in states] == stored_states
    assert name_of(events[-1]) == "workflow_completed"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
