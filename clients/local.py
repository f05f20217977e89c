"""Run a dwe server and agents as local subprocesses (demos, benchmarks, tests).

Each process is the ``dwe`` CLI in the current interpreter, so it behaves as
what a user starts by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_LISTENING = re.compile(r"listening on (\S+)")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "dwe.cli", *args]


class ServerProcess:
    """``dwe server --port 0 --db DB`` in a subprocess; ``address`` is where it listens.

    Args:
        db_path: The SQLite file.
        *args: More ``dwe server`` flags.
        cwd: Working directory (where ``--rules`` modules are importable).
        env: Extra environment variables.
    """

    def __init__(
        self,
        db_path: str | Path,
        *args: str,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.proc = subprocess.Popen(
            _cli("server", "--port", "0", "--db", str(db_path), "--log-level", "WARNING", *args),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self._http_url = ""
        for line in self.proc.stdout:
            found = _LISTENING.search(line)
            if found:
                self.address: str = found.group(1)
                return
        raise RuntimeError(f"dwe server exited with {self.proc.wait()} before listening")

    @property
    def http_url(self) -> str:
        """The dashboard's URL, from the line after the listening one (HTTP must be on)."""
        if not self._http_url:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if not line.startswith("dwe dashboard at "):
                raise RuntimeError(f"dwe server serves no HTTP: {line!r}")
            self._http_url = line.split(" at ", 1)[1].strip()
        return self._http_url

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 15.0) -> None:
        stop([self.proc], timeout)


def start_agent(
    spec: str,
    target: str,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """``dwe agent SPEC --target TARGET`` in a subprocess."""
    return subprocess.Popen(
        _cli("agent", spec, "--target", target),
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        **popen,
    )


def stop(procs: Iterable[subprocess.Popen[Any]], timeout: float = 15.0) -> None:
    """SIGTERM every process, wait for each, SIGKILL what does not exit in time."""
    procs = list(procs)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)
