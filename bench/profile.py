"""A py-spy profile of the server and its top entries.

``with PySpy(pid, path):`` records the process (``py-spy record -f raw``) until the
block ends, then stops py-spy with SIGINT so it writes the file. ``top(path)``
aggregates the raw stacks: functions by own samples (the leaf frame) and by
inclusive samples (anywhere on the stack). ``python -m bench.profile FILE [N]``
prints both.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

_VENV_PY_SPY = Path(sys.executable).with_name("py-spy")


def py_spy() -> str | None:
    """The py-spy executable (the venv's, else PATH's), None when not installed."""
    return str(_VENV_PY_SPY) if _VENV_PY_SPY.exists() else shutil.which("py-spy")


class PySpy:
    """Records ``pid`` with py-spy into ``path`` (raw, collapsed stacks) while open."""

    def __init__(self, pid: int, path: str | Path, rate: int = 250, extra: str = "") -> None:
        self.pid, self.path, self.rate = pid, Path(path), rate
        self.extra = extra.split()  # e.g. "--gil" or "--native"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PySpy:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        args = [exe, "record", "--pid", str(self.pid), "-f", "raw", "-o", str(self.path)]
        args += ["--rate", str(self.rate), "--nonblocking", *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attach before the load starts
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise RuntimeError(f"py-spy failed: {err.strip()}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _frame(frame: str) -> str:
    """``function (path/to/module.py:line)`` -> ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    return f"{name} ({'/'.join(Path(file).parts[-2:])})" if file else name


#: Frames on every stack of the server (start-up and the loop's own machinery), left out
#: of the inclusive ranking, where they would all tie at the top.
_ENTRY = ("runpy", "(cli/", "(asyncio/runners.py)", "(asyncio/base_events.py)", "(threading.py)")
_ENTRY_NAMES = {"serve (server/app.py)", "Handle._run (asyncio/events.py)"}


def _ranked(name: str) -> bool:
    return name not in _ENTRY_NAMES and not any(e in name for e in _ENTRY)


def top(path: str | Path, n: int = 10) -> dict[str, list[tuple[str, float]]]:
    """The ``n`` functions with most own and most inclusive samples, as % of all samples.

    A leaf ``Handle._run`` is time in C code called from a loop callback (grpc's
    Cython core, mostly): py-spy sees no Python frame below it.
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for name in set(frames):
            if _ranked(name):
                inclusive[name] += samples
    pct = 100.0 / total if total else 0.0
    return {
        "samples": [("total", float(total))],
        "own": [(name, c * pct) for name, c in own.most_common(n)],
        "inclusive": [(name, c * pct) for name, c in inclusive.most_common(n)],
    }


def print_top(path: str | Path, n: int = 10) -> None:
    found = top(path, n)
    print(f"py-spy profile {path}: {int(found['samples'][0][1])} samples")
    for kind in ("own", "inclusive"):
        print(f"  top {n} by {kind} samples:")
        for name, share in found[kind]:
            print(f"    {share:5.1f} %  {name}")


if __name__ == "__main__":
    print_top(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10)
