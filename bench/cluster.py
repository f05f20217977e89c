"""A dwe server and its agents as separate processes, as the benchmarks run them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from dwe.clients.local import ServerProcess, start_agent, stop
from dwe.clients.typed import DweClient

ROOT = Path(__file__).resolve().parent.parent
#: ``(agent spec, environment)`` of one agent process.
AgentSpec = tuple[str, dict[str, str]]
#: 2 no-op agents for the workloads, 3 one-slot agents for M1/M2.
STANDARD_AGENTS: list[AgentSpec] = [
    *(("bench.agents:noop", {"DWE_BENCH_AGENT_ID": f"bench-{i}"}) for i in range(2)),
    *(
        ("bench.agents:slot", {"DWE_BENCH_AGENT_ID": agent_id, "DWE_BENCH_CAPS": caps})
        for agent_id, caps in (("slot-a", "sleep,s0"), ("slot-b", "sleep2,s1"), ("slot-c", "s2"))
    ),
]


class Cluster:
    """A dwe server and agent processes (by default: 2 no-op agents + 3 one-slot agents)."""

    def __init__(
        self,
        db: str,
        server_args: tuple[str, ...] = (),
        agents: Sequence[AgentSpec] | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.server_process = ServerProcess(db, *server_args, cwd=ROOT)
        self.server = self.server_process.proc
        self.address = self.server_process.address
        self.server_start_s = time.perf_counter() - t0
        self.agents: list[subprocess.Popen[Any]] = []
        self.start_agents(STANDARD_AGENTS if agents is None else agents)
        self.proc = psutil.Process(self.server.pid)
        # BENCH_REPLICAS=3 on PostgreSQL: two standbys more, and the client calls one of
        # them, so every call and stream of the client is forwarded to the owner.
        self.standbys = [
            ServerProcess(db, *server_args, "--replica-id", f"standby-{i}", cwd=ROOT)
            for i in range(int(os.environ.get("BENCH_REPLICAS", "1")) - 1)
        ]
        self.client_address = self.standbys[0].address if self.standbys else self.address
        self.peak_rss = 0.0

    def start_agents(self, agents: Sequence[AgentSpec]) -> list[subprocess.Popen[Any]]:
        """Start more agent processes; returns them."""
        started = [start_agent(spec, self.address, env, cwd=ROOT) for spec, env in agents]
        self.agents.extend(started)
        return started

    def start_process(self, *args: str) -> subprocess.Popen[Any]:
        """Start a process of this interpreter (e.g. ``-m bench.swarm``) stopped with the rest."""
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        self.agents.append(proc)
        return proc

    def server_cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        times = self.proc.cpu_times()
        return float(times.user + times.system)

    def rss_mib(self) -> float:
        """The server's resident set size now, MiB."""
        return float(self.proc.memory_info().rss) / 2**20

    def sample_rss(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.rss_mib())

    async def wait_agents(self, client: DweClient, count: int | None = None) -> float:
        """Wait until ``count`` agents (default: one per agent process) are connected."""
        want = len(self.agents) if count is None else count
        t0 = time.perf_counter()
        while sum(a.connected for a in await client.list_agents()) < want:
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("agents did not connect")
            await asyncio.sleep(0.05)
        return time.perf_counter() - t0

    def stop(self) -> None:
        stop(self.agents)  # agents first, so none of them tries to reconnect
        for standby in self.standbys:
            standby.stop()
        self.server_process.stop()
