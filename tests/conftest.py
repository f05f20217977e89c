"""Shared fixtures: a real server on a free port with a real SQLite file, agent processes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dwe.clients.typed import DweClient
from dwe.server.app import DweServer, create_server
from dwe.server.config import ServerConfig
from tests.support import postgres
from tests.support.procs import stop_process

ROOT = Path(__file__).resolve().parent.parent
WAIT = 15.0


async def wait_for(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
    """Poll a condition until it holds (not a sleep-as-synchronisation: it has a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    """A private PostgreSQL cluster for the session (skipped, loudly, without one)."""
    bin_dir = postgres.binaries()
    if bin_dir is None:
        message = "PostgreSQL is not installed (no initdb): PostgreSQL tests SKIPPED"
        print(f"\n*** {message} ***", file=sys.stderr)
        pytest.skip(message)
    cluster = postgres.Cluster(bin_dir)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: postgres.Cluster) -> str:
    """The URL of a fresh, empty database on the session's cluster."""
    return pg_cluster.database()


#: DWE_TEST_STORE=postgres runs every server of the suite on PostgreSQL.
TEST_STORE = os.environ.get("DWE_TEST_STORE", "sqlite")


@pytest.fixture
def server_config(tmp_path: Path, request: pytest.FixtureRequest) -> ServerConfig:
    db = str(tmp_path / "dwe.db")
    if TEST_STORE == "postgres":
        db = request.getfixturevalue("pg_url")
    return ServerConfig(
        host="127.0.0.1", port=0, http_port=0, db_path=db, metrics_interval=0.2, grace=0.5
    )


@pytest.fixture
async def server(server_config: ServerConfig) -> AsyncIterator[DweServer]:
    srv = await create_server(server_config)
    try:
        yield srv
    finally:
        await srv.stop(0.5)


@pytest.fixture
async def client(server: DweServer) -> AsyncIterator[DweClient]:
    async with DweClient(server.address) as c:
        yield c


MakeServer = Callable[..., Awaitable[DweServer]]


@pytest.fixture
async def make_server(server_config: ServerConfig) -> AsyncIterator[MakeServer]:
    """``await make_server(priority_aging=0.05)``: a server on this test's SQLite file
    with those config changes (``tracer_provider=`` and ``meter_provider=`` go to
    ``create_server``). A second call after ``stop`` is a restart on the same file;
    every server still running is stopped at the end of the test."""
    made: list[DweServer] = []

    async def make(
        *, tracer_provider: Any = None, meter_provider: Any = None, **changes: Any
    ) -> DweServer:
        config = dataclasses.replace(server_config, **changes)
        srv = await create_server(config, tracer_provider, meter_provider)
        made.append(srv)
        return srv

    yield make
    for srv in reversed(made):
        await srv.stop(0.5)


def free_port() -> int:
    """A port free right now, for a server that must come back on the same address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def traced_server(
    make_server: MakeServer,
) -> tuple[DweServer, InMemorySpanExporter, TracerProvider]:
    """A server whose spans end up in the returned in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return await make_server(tracer_provider=provider), exporter, provider


class AgentProcess:
    """``dwe agent tests.support.agents:FACTORY`` in a subprocess."""

    def __init__(self, address: str, factory: str, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        # "module:attr" runs that agent; a bare name is a factory in tests/support/agents.py.
        spec = factory if ":" in factory else f"tests.support.agents:{factory}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dwe.cli", "agent", spec, "--target", address],
            cwd=ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
async def spawn_agent(tmp_path: Path) -> AsyncIterator[Callable[..., AgentProcess]]:
    """Start agent subprocesses; all are stopped at the end of the test.

    Async so the teardown waits for the processes off the event loop: an
    in-process server on this loop must keep answering while agents say goodbye.
    """
    procs: list[AgentProcess] = []

    def spawn(address: str, factory: str = "counting", **env: Any) -> AgentProcess:
        env_str = {k: str(v) for k, v in env.items()}
        name = env_str.get("DWE_TEST_AGENT_ID", factory)
        p = AgentProcess(address, factory, env_str, tmp_path / f"agent-{name}-{len(procs)}.log")
        procs.append(p)
        return p

    yield spawn
    await asyncio.gather(*(asyncio.to_thread(p.stop) for p in procs))


async def wait_agents(server: DweServer, *agent_ids: str, timeout: float = WAIT) -> None:
    """Wait until every named agent has an open session on the server."""
    c = server.coordinator
    await wait_for(
        lambda: all(c.agent(a).connected for a in agent_ids),
        timeout,
        f"agents {agent_ids} connected",
    )
