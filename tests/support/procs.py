"""Python subprocesses for tests: ``python -m MODULE ARGS`` awaited off the event loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 30.0


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[Any]:
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]


async def spawn_module(
    module: str, *args: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``python -m MODULE ARGS`` started in the repository root, stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_module(module: str, *args: str, timeout: float = CLI_TIMEOUT) -> CliResult:
    """``python -m MODULE ARGS`` as a real process, awaited without blocking the event
    loop (a server under test may run on it); killed after ``timeout``."""
    proc = await spawn_module(module, *args)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


async def run_cli(*args: str, timeout: float = CLI_TIMEOUT) -> CliResult:
    """The ``dwe`` command (``python -m dwe.cli ARGS``)."""
    return await run_module("dwe.cli", *args, timeout=timeout)


def stop_process(proc: subprocess.Popen[bytes], wait: float = 10.0) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it has not ended within ``wait`` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(wait)
