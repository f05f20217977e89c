"""One bash process per page, fed the page's commands one at a time, so that what a
reader's terminal keeps between commands (the directory, exported variables, the
background jobs behind ``kill %1``) carries over as it would for them.

Each command runs as ``{ COMMAND\\n} >N.out 2>&1 </dev/null`` (its stdin never eats the
commands that follow), then bash writes a marker with the exit code on its own stdout,
which is the only thing read from that pipe. Job control is on (``set -m``) so a
background job gets SIGINT like a terminal's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

_MARK = "__DWE_DOCS_DONE__"


@dataclass
class Job:
    """A background process a command started (``$!``), and where its output goes."""

    pid: int
    log: Path

    def alive(self) -> bool:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return False
        return state != "Z"


@dataclass
class PageShell:
    """``bash`` in ``cwd`` with ``env``; :meth:`run` one command, :meth:`close` at the end."""

    cwd: Path
    env: dict[str, str]
    jobs: list[Job] = field(default_factory=list)
    _proc: asyncio.subprocess.Process | None = None
    _count: int = 0

    async def start(self) -> None:
        (self.cwd / ".docs-test").mkdir(exist_ok=True)
        self._proc = await asyncio.create_subprocess_exec(
            "bash",
            "--norc",
            "--noprofile",
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=open(self.cwd / ".docs-test" / "bash.err", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        await self._send("set -m")

    async def run(self, command: str, timeout: float, background: bool = False) -> tuple[int, str]:
        """Runs ``command`` to its end; returns (exit code, its stdout and stderr). A
        ``background`` command (ending in ``&``) returns at once; its job is recorded."""
        self._count += 1
        log = self.cwd / ".docs-test" / f"{self._count}.out"
        script = f"{{ {command}\n}} >{log} 2>&1 </dev/null"
        code, last_job = await self._send(script, timeout)
        if background:
            self.jobs.append(Job(last_job, log))
        return code, log.read_text(errors="replace")

    async def interrupt(self, job: Job, timeout: float) -> int:
        """Ctrl-C for a job, as for a command left running in the foreground; its code."""
        os.kill(job.pid, signal.SIGINT)
        code, _ = await self._send(f"wait {job.pid}", timeout)
        self.jobs.remove(job)
        return code

    async def stop(self, job: Job, timeout: float) -> int:
        """SIGTERM for a job (``kill PID; wait PID``), as an operator stops a server."""
        code, _ = await self._send(f"kill {job.pid} 2>/dev/null; wait {job.pid}", timeout)
        self.jobs.remove(job)
        return code

    async def _send(self, script: str, timeout: float = 10.0) -> tuple[int, int]:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(f'{script}\necho "{_MARK} $? ${{!:-0}}"\n'.encode())
        await self._proc.stdin.drain()
        while True:
            line = await asyncio.wait_for(self._proc.stdout.readline(), timeout)
            if not line:
                raise AssertionError("bash ended: " + self._bash_err())
            words = line.decode().split()
            if words[:1] == [_MARK]:
                return int(words[1]), int(words[2])

    def _bash_err(self) -> str:
        return (self.cwd / ".docs-test" / "bash.err").read_text(errors="replace")

    async def close(self, timeout: float = 20.0) -> None:
        """Stops what the page left running (SIGTERM, then SIGKILL after ``timeout``)."""
        if self._proc is None:
            return
        with contextlib.suppress(Exception):
            await self._send("kill $(jobs -p) 2>/dev/null; wait", timeout)
        for job in self.jobs:  # only if the graceful stop above timed out
            if job.alive():
                os.kill(job.pid, signal.SIGKILL)
        if self._proc.returncode is None:
            self._proc.kill()
        await self._proc.wait()
