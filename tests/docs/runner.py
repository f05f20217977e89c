"""Runs one page's commands as a reader would, in a scratch directory on free ports.

- The directory has what the docs expect at the repository root (``.venv/``,
  ``examples/``, ``Makefile``, ``pyproject.toml``, as links), and nothing else, so
  ``./dwe.db``, ``backups/`` and ``certs/`` land there, not in the repository.
- The docs' fixed ports become free ones: ``127.0.0.1:50051`` and ``--port 50051``
  the page's gRPC port, ``8080`` its HTTP port; ``DWE_TARGET``, ``DWE_PORT`` and
  ``DWE_HTTP_PORT`` say the same, and ``PATH`` starts with ``.venv/bin``.
- ``dwe server`` and ``dwe agent`` run until stopped: ending in ``&`` they stay in the
  background once ready (the server's "listening" line, the agent's "connected"); in
  the foreground they get Ctrl-C once ready, and must then exit 0. A new server first
  stops the one the page started before (the docs restart a server to change its
  flags), and a page that starts none gets one, with the Quick start agent.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .pages import ROOT, Command, Snippet
from .shell import Job, PageShell

LINKED = (".venv", "examples", "Makefile", "pyproject.toml")
READY = {"server": "dwe server listening on", "agent": " connected to "}
COMMAND_TIMEOUT = 90.0  # `make demo` on two busy cores
READY_TIMEOUT = 30.0
_LONG_RUNNING = re.compile(r"(?:^|[\s/])dwe (server|agent)\b")
_BACKGROUND = re.compile(r"(?<!&)&\s*(?:#.*)?$")
_COMMENT = re.compile(r"\s+#[^#]*$")
_SETUP = (  # for a page that starts no server of its own
    Command("(setup)", 0, "dwe server --db ./dwe.db &"),
    Command("(setup)", 0, "dwe agent examples.quickstart:agent &"),
)


@dataclass(frozen=True)
class Ports:
    grpc: int
    http: int

    def localise(self, text: str) -> str:
        """The docs' fixed ports replaced by this page's."""
        text = text.replace("127.0.0.1:50051", f"127.0.0.1:{self.grpc}")
        text = re.sub(r"--port 50051\b", f"--port {self.grpc}", text)
        return re.sub(r"(?<=[:\s])8080\b", str(self.http), text)


def prepare(folder: Path, ports: Ports) -> dict[str, str]:
    """Links the repository's files into ``folder``; the environment for its shell."""
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DWE_", "OTEL_"))}
    return env | {
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "DWE_TARGET": f"127.0.0.1:{ports.grpc}",
        "DWE_PORT": str(ports.grpc),
        "DWE_HTTP_PORT": str(ports.http),
        "PYTHONUNBUFFERED": "1",  # the agent's "connected" line reaches its log at once
    }


@dataclass
class PageRun:
    shell: PageShell
    ports: Ports
    servers: list[Job] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    async def setup(self, steps: list[Command | Snippet]) -> None:
        if not any(isinstance(s, Command) and _kind(s.text) == "server" for s in steps):
            for command in _SETUP:
                await self.command(command)

    async def step(self, step: Command | Snippet) -> None:
        if isinstance(step, Snippet):
            (self.shell.cwd / step.name).write_text(self.ports.localise(step.text))
        else:
            await self.command(step)

    async def command(self, command: Command) -> None:
        text = self.ports.localise(command.text)
        kind = _kind(text)
        background = bool(_BACKGROUND.search(text))
        where = f"{command.page}:{command.line}: {command.text}"
        if kind == "server":
            await self._stop_servers()
        if kind and not background:
            text = _COMMENT.sub("", text) + " &"
        code, out = await self.shell.run(text, COMMAND_TIMEOUT, background=bool(kind) or background)
        self.done.append(where)
        if not (kind or background):
            assert code == command.exit_code, f"{where}\nexit code {code}\n{out}"
            return
        assert kind, f"{where}: a background command the test cannot tell is ready"
        job = self.shell.jobs[-1]
        await _ready(job, READY[kind], where)
        if not background:  # left in the foreground: the reader presses Ctrl-C
            code = await self.shell.interrupt(job, COMMAND_TIMEOUT)
            assert code == 0, f"{where}\nexit code {code} on Ctrl-C\n{job.log.read_text()}"
        elif kind == "server":
            self.servers.append(job)

    async def _stop_servers(self) -> None:
        for job in self.servers:
            if job in self.shell.jobs:
                if job.alive():
                    await self.shell.stop(job, COMMAND_TIMEOUT)
                else:  # the page stopped it itself (kill %1; wait %1)
                    self.shell.jobs.remove(job)
        self.servers.clear()


def _kind(text: str) -> str | None:
    found = _LONG_RUNNING.search(text)
    return found.group(1) if found else None


async def _ready(job: Job, marker: str, where: str) -> None:
    """Waits until the job's output has ``marker``; fails if it ends first."""
    deadline = time.monotonic() + READY_TIMEOUT
    while marker not in (out := job.log.read_text(errors="replace")):
        assert job.alive(), f"{where}\nended before it was ready:\n{out}"
        assert time.monotonic() < deadline, f"{where}\nnot ready in {READY_TIMEOUT}s:\n{out}"
        await asyncio.sleep(0.05)
