"""``python -m tests.faults.report RUN``: the figures one ``make faults`` run appended to
.faults/results.jsonl (its lines carry ``"run": RUN``, the run's start in Unix seconds)
and the run's wall time."""

from __future__ import annotations

import sys
import time

import orjson

from .checks import RESULTS, Figures


def main(run: str) -> int:
    rows = (
        [orjson.loads(line) for line in RESULTS.read_bytes().splitlines()]
        if RESULTS.exists()
        else []
    )
    mine = [row for row in rows if row.get("run") == run]
    print(f"fault suite figures ({RESULTS.relative_to(RESULTS.parent.parent)}):")
    for row in mine:
        row.pop("time", None)
        row.pop("run", None)
        print("  " + Figures(**row).line())
    print(f"make faults: {time.time() - int(run):.0f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
