"""Replicas on one PostgreSQL database (issue 10, first part): the scheduler lease with its
epoch, checked in every commit; a replica paused past its lease cannot commit anything
once another took over, and stops; ``dwe admin replicas`` shows who owns the workflows."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import DweError
from dwe.clients.local import ServerProcess
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.common.tls import TlsFiles
from dwe.server.replica import LOST_EXIT
from dwe.server.store.mapping import workflow_insert
from dwe.server.store.pg_lease import LeaseLost, SchedulerLease
from dwe.server.store.postgres import PostgresStore
from dwe.server.store.rows import WriteBatch
from dwe.v1 import enums_pb2

from ..conftest import ROOT, WAIT, wait_for
from ..support import db
from ..support.certs import Authority
from ..support.procs import run_cli
from ..support.specs import S
from .helpers import name_of, serving

WAITING = [{"step_id": "a", "agent_capability": "nobody-has-it"}]


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    yield a, b
    a.close()
    b.close()


def _batch(workflow_id: str) -> WriteBatch:
    from dwe.server.engine.model import WorkflowSpec

    row, steps = workflow_insert(workflow_id, "", WorkflowSpec("w", (S("a"),)), 1.0)
    return WriteBatch(new_workflows=[row], new_steps=steps)


async def test_a_replica_that_lost_the_lease_cannot_write(
    pg_url: str, stores: tuple[PostgresStore, PostgresStore]
) -> None:
    store_a, store_b = stores
    lost: list[BaseException] = []
    store_a.lease = SchedulerLease(pg_url, "a", "127.0.0.1:1", ttl=0.5)
    store_a.on_lease_lost = lost.append
    lease_b = store_b.lease = SchedulerLease(pg_url, "b", "127.0.0.1:2", ttl=0.5)
    assert store_a.lease.beat() == 1 and lease_b.beat() == 0  # b waits: a owns
    store_a.write(_batch("before"))

    # a stops renewing (paused); once its lease ran out, b takes it over.
    assert await wait_for(lambda: lease_b.beat(), what="b takes the lease") == 2
    with pytest.raises(LeaseLost, match="lost the scheduler lease"):
        store_a.write(_batch("after"))
    with pytest.raises(LeaseLost):
        store_a.prune(1e12, 10)
    with pytest.raises(LeaseLost):
        store_a.lease.beat()  # renewing now says so too
    store_b.write(_batch("by-b"))
    assert [r[0] for r in db.query(pg_url, "SELECT id FROM workflows ORDER BY id")] == [
        "before",
        "by-b",
    ]
    assert len(lost) == 2


def _owner(url: str) -> str:
    rows = db.query(url, "SELECT owner FROM dwe_leases WHERE expires_at > now()")
    return str(rows[0][0]) if rows else ""


def _server(url: str, replica: str, *extra: str) -> ServerProcess:
    return ServerProcess(
        url, "--replica-id", replica, "--lease-seconds", "1.5", *extra, cwd=ROOT, env={}
    )


async def test_a_paused_owner_is_replaced_and_commits_nothing_when_it_resumes(
    pg_url: str,
) -> None:
    """kill -STOP the owner past its lease, start another replica: it takes over and
    resumes the workflow; the old owner, resumed with a cancel waiting for it, stops
    (exit 75) without storing the cancel."""
    first = await asyncio.to_thread(_server, pg_url, "first")
    second: ServerProcess | None = None
    try:
        async with DweClient(first.address) as client:
            created = await client.create_workflow(build_workflow_spec("held", WAITING))
            await client.start_workflow(created.workflow_id)
        wid = created.workflow_id
        os.kill(first.pid, signal.SIGSTOP)
        second = await asyncio.to_thread(_server, pg_url, "second")  # a standby at first
        await wait_for(lambda: _owner(pg_url) == "second", WAIT, "the standby takes over")
        shown = await run_cli("admin", "replicas", "--db", pg_url, "--json")
        assert shown.code == 0, shown.err
        assert '"owner":"second"' in shown.out.replace(" ", ""), shown.out
        async with DweClient(second.address) as client:
            status = await client.get_workflow_status(wid)
        assert status.state == enums_pb2.WORKFLOW_STATE_RUNNING

        async with DweClient(first.address, rpc_timeout=WAIT) as old:
            cancel = asyncio.create_task(old.cancel_workflow(wid, "from the old owner"))
            await asyncio.sleep(0)  # the request is on its way to the stopped process
            os.kill(first.pid, signal.SIGCONT)
            code = await asyncio.to_thread(first.proc.wait, WAIT)
            with contextlib.suppress(DweError):
                await cancel
        assert code == LOST_EXIT
        stored = db.query(pg_url, "SELECT state FROM workflows WHERE id = ?", (wid,))
        assert stored == [("running",)]
        async with DweClient(second.address) as client:
            assert (await client.get_workflow_status(wid)).state == (
                enums_pb2.WORKFLOW_STATE_RUNNING
            )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(first.pid, signal.SIGCONT)
        first.stop()
        if second is not None:
            second.stop()


async def test_a_standby_forwards_calls_agents_and_streams_to_the_owner(pg_url: str) -> None:
    owner = await asyncio.to_thread(_server, pg_url, "owner")
    standby = await asyncio.to_thread(_server, pg_url, "standby")
    agent = Agent("via-standby", capabilities=["work"])

    @agent.handler("work")
    async def work(task: Task) -> str:
        return "forwarded"

    try:
        assert _owner(pg_url) == "owner"
        one = [{"step_id": "a", "agent_capability": "work"}]
        async with serving(standby.address, agent), DweClient(standby.address) as client:
            created = await client.create_workflow(build_workflow_spec("fwd", one), "r-1")
            again = await client.create_workflow(build_workflow_spec("fwd", one), "r-1")
            events = [e async for e in client.execute_workflow(created.workflow_id)]
            async with DweClient(owner.address) as direct:
                agents = await direct.list_agents()
        assert [a.agent_id for a in agents] == ["via-standby"]  # its session is on the owner
        asked = await run_cli("admin", "replicas", "--target", standby.address, "--json")
        assert asked.code == 0, asked.err
        table = orjson.loads(asked.out)
        assert table["owner"] == "owner"
        assert {r["replica_id"]: r["role"] for r in table["replicas"]} == {
            "owner": "owner",
            "standby": "standby",
        }
        assert again.workflow_id == created.workflow_id and not again.created
        assert name_of(events[-1]) == "workflow_completed"
        async with DweClient(owner.address) as client:
            status = await client.get_workflow_status(created.workflow_id)
        assert status.state == enums_pb2.WORKFLOW_STATE_COMPLETED
        await _dashboard_on(standby.http_url, created.workflow_id)
    finally:
        standby.stop()
        owner.stop()


async def _dashboard_on(url: str, workflow_id: str) -> None:
    """The standby's HTTP API answers from the owner: the list, and the event stream
    (replayed, and live from where it begins)."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}api/v1/workflows") as r:
            rows = orjson.loads(await r.read())["workflows"]
        assert [w["workflowId"] for w in rows] == [workflow_id]
        events = f"{url}api/v1/events?workflowId={workflow_id}"
        async with http.get(events + "&afterPosition=0") as r:
            line = b""
            while not line.startswith(b"data: "):
                line = await r.content.readline()
        assert orjson.loads(line[6:])["seq"] == "1"
        async with http.get(events) as r:
            first = await r.content.readuntil(b"\n\n")
            first += await r.content.readuntil(b"\n\n")
        assert b"\nid: " in b"\n" + first  # the live stream's start, passed on by the standby


async def test_a_standby_forwards_over_mtls(pg_url: str, tmp_path: Path) -> None:
    ca = Authority(tmp_path / "ca")
    replica = ca.issue("replica", server=True, client=True)
    tls_args = ("--tls-cert", replica.cert, "--tls-key", replica.key, "--tls-client-ca", ca.ca)
    owner = await asyncio.to_thread(_server, pg_url, "owner", *tls_args)
    standby = await asyncio.to_thread(_server, pg_url, "standby", *tls_args)
    person = ca.issue("operator", server=False)
    tls = TlsFiles(ca.ca, person.cert, person.key)
    agent = Agent("tls-agent", capabilities=["work"], tls=tls)

    @agent.handler("work")
    async def work(task: Task) -> str:
        return "through the standby"

    try:
        assert _owner(pg_url) == "owner"
        one = [{"step_id": "a", "agent_capability": "work"}]
        async with serving(standby.address, agent), DweClient(standby.address, tls=tls) as client:
            created = await client.create_workflow(build_workflow_spec("mtls", one))
            events = [e async for e in client.execute_workflow(created.workflow_id)]
        assert name_of(events[-1]) == "workflow_completed"
    finally:
        standby.stop()
        owner.stop()
