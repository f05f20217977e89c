"""A ``dwe server`` and recorder agents as real processes on 127.0.0.1, to be killed.

The server always comes back on the same port and SQLite file, so agents and clients
reconnect to it by themselves. Every start writes its own log file; ``tails()`` shows
the ends of them all when a check fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwe.clients.typed import DweClient
from dwe.server.store.opening import is_postgres

from ..conftest import ROOT, AgentProcess, free_port, wait_for

#: With DWE_TEST_STORE=postgres, the session's PostgreSQL cluster (set by conftest.py).
STORES: Any = None
#: Seconds a process gets to start listening or connecting.
START_TIMEOUT = 30.0
AGENT_SPEC = "tests.faults.agent:recorder"
#: ``dwe server`` flags of the fault suite: attempts in flight at a crash wait one
#: second for their agent to come back holding them, not the default ten.
SERVER_FLAGS = ("--restart-lease", "1", "--grace", "1", "--log-level", "INFO")


class ServerProc:
    """``dwe server --port PORT --db DB`` in a subprocess, restartable on the same port."""

    def __init__(self, db: Path | str, logs: Path, flags: Sequence[str] = SERVER_FLAGS) -> None:
        self.db = db
        self.logs = logs
        self.flags = list(flags)
        if is_postgres(str(db)):  # the same replica each time: it takes its lease back at once
            self.flags += ["--replica-id", "faults-server"]
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.logs / f"server-{self.starts}.log"

    async def start(self) -> None:
        """Start the server and return once it listens (its first stdout line)."""
        self.starts += 1
        args = ["server", "--port", str(self.port), "--db", str(self.db), *self.flags]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dwe.cli", *args],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await wait_for(self._listening, START_TIMEOUT, f"server start {self.starts} listening")

    def _listening(self) -> bool:
        assert self.proc is not None
        if "listening on" in self.log_path.read_text(errors="replace"):
            return True
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
        return False

    def kill(self) -> None:
        """SIGKILL: no drain, no last commit."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; returns the exit code (None if not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.terminate()
        proc = self.proc
        try:
            return await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return await asyncio.to_thread(proc.wait, 10)

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class RunLog:
    """The lines of one agent's runs file (see tests/faults/agent.py), read as it grows."""

    path: Path
    offset: int = 0
    lines: list[list[str]] = field(default_factory=list)

    def refresh(self) -> list[list[str]]:
        if self.path.exists():
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
            complete = data[: data.rfind(b"\n") + 1]
            self.offset += len(complete)
            self.lines.extend(line.split() for line in complete.decode().splitlines())
        return self.lines

    def open_in(self, pid: int) -> int:
        """Handlers the process ``pid`` started and has not finished."""
        mine = [line[0] for line in self.refresh() if line[2] == str(pid)]
        return mine.count("start") - mine.count("end")


class Cluster:
    """One server and ``agents`` recorder agent processes, each with its runs file; logs
    and runs files go to ``work``, the database to ``db`` (default ``work/dwe.db``)."""

    def __init__(
        self, work: Path, agents: int, seed: int, step_ms: float = 20, db: Path | str | None = None
    ) -> None:
        self.work = work
        if db is None:
            db = STORES.database() if STORES is not None else work / "dwe.db"
        self.server = ServerProc(db, work)
        self.seed = seed
        self.step_ms = step_ms
        self.agent_ids = [f"faulty-{i}" for i in range(agents)]
        self.agents: dict[str, AgentProcess] = {}
        self.runs = {a: RunLog(work / f"runs-{a}.txt") for a in self.agent_ids}
        self.agent_starts = 0
        self.killed: set[str] = set()  # pids of agent processes killed

    @property
    def address(self) -> str:
        return self.server.address

    async def start(self) -> None:
        await self.server.start()
        for agent_id in self.agent_ids:
            self.start_agent(agent_id)

    def start_agent(self, agent_id: str) -> None:
        self.agent_starts += 1
        env = {
            "DWE_FAULTS_AGENT_ID": agent_id,
            "DWE_FAULTS_RUNS": str(self.runs[agent_id].path),
            "DWE_FAULTS_SEED": str(self.seed),
            "DWE_FAULTS_STEP_MS": str(self.step_ms),
        }
        log = self.work / f"agent-{agent_id}-{self.agent_starts}.log"
        self.agents[agent_id] = AgentProcess(self.address, AGENT_SPEC, env, log)

    async def kill_agent_mid_step(self, agent_id: str, within: float = 2.0) -> bool:
        """SIGKILL the agent once it runs a handler (or after ``within`` seconds);
        True when a handler was cut off, as its runs file shows afterwards."""
        agent = self.agents[agent_id]
        pid = agent.proc.pid
        with contextlib.suppress(TimeoutError):  # nothing to cut off: kill it idle
            await wait_for(lambda: self.runs[agent_id].open_in(pid) > 0, within, "a handler")
        agent.kill()
        agent.stop()  # closes its log
        self.killed.add(str(pid))
        return self.runs[agent_id].open_in(pid) > 0

    async def connected(self, client: DweClient) -> None:
        """Wait until every agent has a session (on the current server)."""

        async def all_connected() -> bool:
            agents = await client.list_agents()
            return sum(a.connected for a in agents if a.agent_id in self.agents) == len(self.agents)

        await wait_for(all_connected, START_TIMEOUT, "agents connected")

    def withheld(self) -> int:
        """Failed commits that held events, as the current server's log reports them."""
        text = self.server.log_path.read_text(errors="replace")
        return len(re.findall(r"store commit failed; [1-9]\d* events withheld", text))

    def run_lines(self) -> list[list[str]]:
        return [line for log in self.runs.values() for line in log.refresh()]

    async def stop(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(a.stop) for a in self.agents.values()))
        await self.server.stop()

    def tails(self) -> str:
        parts = [f"--- {self.server.log_path.name}\n{self.server.tail()}"]
        for agent in self.agents.values():
            text = agent.output().splitlines()[-10:]
            parts.append(f"--- {agent.log_path.name}\n" + "\n".join(text))
        return "\n".join(parts)
