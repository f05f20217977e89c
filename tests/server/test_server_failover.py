"""Replica failover on PostgreSQL (issue 10): three replicas, the owner killed with
``kill -9`` five times under load, a replacement started each time. Clients and agents
are given every replica's address (standbys forward calls to the owner). Every
workflow completes, none is lost, and each takeover (from the kill until calls are
answered again) is measured against the lease."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from dwe.clients import DeadlineExceededError, UnavailableError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2

from ..conftest import ROOT, AgentProcess, free_port, wait_for
from ..faults.checks import run_twice
from ..faults.cluster import RunLog
from ..support import db
from ..support.specs import DIAMOND

T = TypeVar("T")
LEASE = 2.0
KILLS = 5
WORKFLOWS = 60
DONE = {
    enums_pb2.WORKFLOW_STATE_COMPLETED,
    enums_pb2.WORKFLOW_STATE_FAILED,
    enums_pb2.WORKFLOW_STATE_CANCELLED,
    enums_pb2.WORKFLOW_STATE_TIMED_OUT,
}


class ReplicaProcess:
    """``dwe server`` on the shared database, as replica ``name`` on a fixed port."""

    def __init__(self, url: str, name: str, port: int, log: Path) -> None:
        self.name = name
        self.log = log
        cmd = [sys.executable, "-m", "dwe.cli", "server", "--db", url, "--port", str(port)]
        cmd += ["--replica-id", name, "--lease-seconds", str(LEASE), "--restart-lease", "3"]
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


async def _retrying(call: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """``call()`` until it gets through: a failover makes calls UNAVAILABLE for a while.
    The pause between tries is a backoff, not a wait for something to happen."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except (UnavailableError, DeadlineExceededError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def _owner(url: str) -> str:
    """The replica holding an unexpired lease ('' before the first replica made the
    tables, or while the lease is free)."""
    try:
        rows = db.query(url, "SELECT owner FROM dwe_leases WHERE expires_at > now()")
    except psycopg.errors.UndefinedTable:
        return ""
    return str(rows[0][0]) if rows else ""


async def test_the_owner_dies_five_times_and_nothing_is_lost(
    pg_url: str, tmp_path: Path, spawn_agent: Callable[..., AgentProcess]
) -> None:
    ports = [free_port() for _ in range(3)]
    target = "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in ports)
    replicas: dict[str, ReplicaProcess] = {}

    def start(name: str, port: int) -> None:
        replicas[name] = ReplicaProcess(pg_url, name, port, tmp_path / f"{name}.log")

    for i, port in enumerate(ports):
        start(f"r{i}", port)
    runs = [RunLog(tmp_path / f"runs-{i}.txt") for i in range(2)]
    for i, log in enumerate(runs):
        spawn_agent(
            target,
            "tests.faults.agent:recorder",
            DWE_FAULTS_AGENT_ID=f"a{i}",
            DWE_FAULTS_RUNS=log.path,
            DWE_FAULTS_MAX=4,
        )
    takeovers: list[float] = []
    ids: list[str] = []
    seen: Counter[tuple[str, int]] = Counter()
    async with DweClient(target, rpc_timeout=5) as client:
        spec = build_workflow_spec("diamond", DIAMOND)
        watching = asyncio.create_task(_watch_everything(client, seen))

        async def submit(n: int) -> None:
            for i in range(n):
                rid = f"wf-{len(ids)}-{i}"
                made = await _retrying(lambda rid=rid: client.create_workflow(spec, rid))  # type: ignore[misc]
                await _retrying(lambda made=made: _start(client, made.workflow_id))  # type: ignore[misc]
                ids.append(made.workflow_id)

        await wait_for(lambda: _owner(pg_url), 30, "a first owner")
        for kill in range(KILLS):
            await submit(WORKFLOWS // (KILLS + 1))
            owner = _owner(pg_url)
            victim = replicas.pop(owner)
            port = _port_of(victim)
            killed_at = time.monotonic()
            victim.kill()
            start(f"r{kill + 3}", port)  # the replacement, on the dead one's address
            await wait_for(
                lambda old=owner: _owner(pg_url) not in ("", old), LEASE + 30, "a new owner"
            )
            await _retrying(lambda: client.get_workflow_status(ids[-1]))  # served again
            takeovers.append(time.monotonic() - killed_at)
        await submit(WORKFLOWS - len(ids))

        async def all_done() -> bool:
            for wid in ids:
                status = await _retrying(lambda wid=wid: client.get_workflow_status(wid))  # type: ignore[misc]
                if status.state not in DONE:
                    return False
            return True

        await wait_for(all_done, 120, "every workflow ended")
        states = [
            (await _retrying(lambda wid=wid: client.get_workflow_status(wid))).state  # type: ignore[misc]
            for wid in ids
        ]
        last = {
            wid: (await _retrying(lambda wid=wid: client.get_workflow_status(wid))).last_seq  # type: ignore[misc]
            for wid in ids
        }
        await wait_for(
            lambda: all(seen[(w, n)] for w, n in last.items()), 60, "the watcher caught up"
        )
        watching.cancel()
    for r in replicas.values():
        r.kill()
    twice = run_twice([line for log in runs for line in log.refresh()], set(ids))
    print(
        f"\nfailover: takeovers after kill -9 (s): {[round(t, 2) for t in takeovers]};"
        f" {len(ids)} workflows, 0 lost; handlers run twice: {twice}"
    )
    assert len(ids) == WORKFLOWS and len(set(ids)) == WORKFLOWS
    assert states == [enums_pb2.WORKFLOW_STATE_COMPLETED] * WORKFLOWS
    assert all(t <= LEASE + 5 for t in takeovers), takeovers
    # The watcher, resuming after each failover, saw every seq of every workflow once.
    expected = {(w, s) for w, n in last.items() for s in range(1, n + 1)}
    assert {k for k in seen if k[0] in last} == expected
    assert {n for k, n in seen.items() if k[0] in last} == {1}


async def _watch_everything(client: DweClient, seen: Counter[tuple[str, int]]) -> None:
    """Every event from the first, resumed after the last position seen whenever a
    failover breaks the stream."""
    position = 0
    while True:
        try:
            async for event in client.watch_events(after_position=position):
                seen[(event.workflow_id, event.seq)] += 1
                position = event.position
        except (UnavailableError, DeadlineExceededError):
            await asyncio.sleep(0.2)  # a backoff before watching again


async def _start(client: DweClient, workflow_id: str) -> Any:
    """StartWorkflow, where 'already started' means a retry after a lost answer."""
    from dwe.clients import FailedPreconditionError

    with contextlib.suppress(FailedPreconditionError):
        return await client.start_workflow(workflow_id)
    return None


def _port_of(replica: ReplicaProcess) -> int:
    cmd = replica.proc.args
    assert isinstance(cmd, list)
    return int(cmd[cmd.index("--port") + 1])
