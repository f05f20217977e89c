"""``make bench-peers``: dwe's W1-W3 and the peers' (Ray, Dask) back to back, as ratios.

Runs ``bench.run`` with BENCH_ONLY=W1,W2,W2G,W3, then
``bash ../shared/bench/peers/run.sh`` (it builds each peer's venv once under
$PEERBENCH, default /tmp/peerbench), and prints dwe's figures next to each
peer's with the ratio dwe / peer. Throughput ratios above 1 and time ratios
below 1 favour dwe. PEERS=ray limits the peers; BENCH_JSON=path writes it all.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import orjson

from . import run
from .cluster import ROOT
from .report import report

PEERS_SCRIPT = Path(os.environ.get("PEERS_SCRIPT", ROOT.parent / "shared/bench/peers/run.sh"))
#: (label, dwe workload, dwe figure, peer workload, peer figure)
ROWS: list[tuple[str, str, str, str, str]] = [
    ("W1 steps/s", "W1", "steps_per_s", "W1", "steps_per_s"),
    ("W2 steps/s, typed client", "W2", "steps_per_s", "W2", "steps_per_s"),
    ("W2 steps/s, guide API", "W2G", "steps_per_s", "W2", "steps_per_s"),
    ("W2 p99 ms, guide API", "W2G", "p99_ms", "W2", "p99_ms"),
    ("W3 ms per step", "W3", "per_step_ms", "W3", "per_step_ms"),
]


def peer_figures(
    result: dict[str, Any], workload: str, key: str
) -> tuple[float, float, float] | None:
    """(median, min, max) of one of a peer's figures in dwe's units, from its run.sh JSON."""
    w = result.get(workload)
    if not w:
        return None
    if key == "steps_per_s":
        return (w["steps_per_s_median"], w["steps_per_s_min"], w["steps_per_s_max"])
    if key == "p99_ms":
        runs = [1000 * float(x) for x in w.get("p99_runs_s") or [w["p99_median_s"]]]
        return (1000 * float(w["p99_median_s"]), min(runs), max(runs))
    per_step = [1000 * float(w[k]) / float(w["steps"]) for k in ("median_wall_s", "min_wall_s")]
    return (per_step[0], per_step[1], 1000 * float(w["max_wall_s"]) / float(w["steps"]))


def _spread(median: float, lo: float, hi: float) -> str:
    """``median (min-max)`` with digits for the size of the figure."""
    digits = 2 if median < 10 else 0
    return f"{median:,.{digits}f} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def run_peers(out: Path) -> dict[str, dict[str, Any]]:
    """Run the peers' script; their results by peer name."""
    env = {**os.environ, "OUT": str(out)}
    if os.environ.get("BENCH_QUICK") == "1":
        env.setdefault("EXTRA_ARGS", "--runs 1 --retries 0 --quiet-wait 2")
    subprocess.run(["bash", str(PEERS_SCRIPT)], env=env, cwd=ROOT, check=True)
    return {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}


def ratio_table(dwe: dict[str, Any], peers: dict[str, dict[str, Any]]) -> list[str]:
    """The lines of the side-by-side table: medians with min-max, and the ratio of medians."""
    names = list(peers)
    head = f"{'figure: median (min-max)':<26} {'dwe':>26}"
    for name in names:
        head += f" {name:>26} {'dwe/' + name[:4]:>9}"
    lines = [head]
    for label, wl, key, peer_wl, peer_key in ROWS:
        if wl not in dwe:
            continue
        mine = float(dwe[wl][key])
        lo, hi = dwe[wl].get("range", {}).get(key, [mine, mine])
        line = f"{label:<26} {_spread(mine, lo, hi):>26}"
        for name in names:
            theirs = peer_figures(peers[name], peer_wl, peer_key)
            if theirs is None:
                line += f" {'-':>26} {'-':>9}"
            else:
                line += f" {_spread(*theirs):>26} {mine / theirs[0]:>8.2f}x"
        lines.append(line)
    lines.append("throughput: dwe/peer > 1 favours dwe; p99 and ms per step: < 1 favours dwe")
    return lines


def main() -> None:
    os.environ["BENCH_ONLY"] = os.environ.get("BENCH_PEERS_ONLY", "W1,W2,W2G,W3")
    dwe = asyncio.run(run.main())
    report(dwe)
    with tempfile.TemporaryDirectory(prefix="dwe-peers-") as tmp:
        peers = run_peers(Path(tmp))
    print("\ndwe and its peers, same run (dwe first, then the peers)")
    for line in ratio_table(dwe, peers):
        print(line)
    if path := os.environ.get("BENCH_JSON"):
        figures = {"dwe": dwe, "peers": peers}
        Path(path).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
