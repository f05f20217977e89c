"""The table ``make bench`` prints."""

from __future__ import annotations

import os
import sys
from typing import Any

from .common import fmt

_ROWS = [
    ("W1", "", ""),
    ("W2", "p50_ms", "p99_ms"),
    ("W2G", "p50_ms", "p99_ms"),
    ("W3", "per_step_ms", ""),
    ("W4", "events_per_s", "max_lag_ms"),
]


def _main_rows(results: dict[str, Any]) -> None:
    print(f"{'workload':<9} {'wall s':<22} {'steps/s':<26} {'other':<40}")
    for name, a, b in _ROWS:
        r = results.get(name)
        if not r:
            continue
        other = " ".join(f"{k}={fmt(r, k)}" for k in (a, b) if k)
        if "pg_xacts_per_step" in r:
            other += f" pg_xacts_per_step={r['pg_xacts_per_step']:.3f}"
        print(f"{name:<9} {fmt(r, 'wall_s'):<22} {fmt(r, 'steps_per_s'):<26} {other}")
    if r := results.get("W2F"):
        print(
            f"{'W2F':<9} guide API, --sqlite-synchronous FULL vs NORMAL (pairs): "
            f"{fmt(r, 'full_steps_per_s')} vs {fmt(r, 'normal_steps_per_s')} steps/s, "
            f"ratio {fmt(r, 'ratio_steps_per_s')}; p99 {fmt(r, 'full_p99_ms')} vs "
            f"{fmt(r, 'normal_p99_ms')} ms, ratio {fmt(r, 'ratio_p99')}"
        )
    if r := results.get("D5"):
        print(
            f"{'D5':<9} W2 with 5 dashboards open: {fmt(r, 'steps_per_s')} vs "
            f"{fmt(r, 'plain_steps_per_s')} steps/s without, ratio {fmt(r, 'ratio')};"
            f" server CPU per step with/without {fmt(r, 'server_cpu_ratio')}"
        )
    for name, label in (("M1", "ADAPTIVE vs PARALLEL"), ("M2", "PIPELINE vs PARALLEL")):
        if r := results.get(name):
            print(
                f"{name:<9} {label}: {fmt(r, 'wall_s', ' s')} vs "
                f"{fmt(r, 'parallel_wall_s', ' s')}, ratio {fmt(r, 'ratio')}"
            )


def _scale_rows(results: dict[str, Any]) -> None:
    if r := results.get("W5"):
        n = int(r["workflows_in_flight"])
        print(
            f"{'W5':<9} {n:,} diamonds in flight: {fmt(r, 'kib_per_workflow')} KiB per workflow "
            f"(again on the same server {fmt(r, 'repeat_kib_per_workflow')}); "
            f"RSS {fmt(r, 'rss_before_mib')} -> "
            f"{fmt(r, 'rss_in_flight_mib')} MiB; drain {fmt(r, 'drain_s', ' s')} "
            f"({fmt(r, 'drain_steps_per_s')} steps/s); submit {fmt(r, 'submit_s', ' s')}"
        )
    if r := results.get("W6"):
        print(
            f"{'W6':<9} {int(r['agents']):,} agents: {r['kib_per_session']:.1f} KiB per session "
            f"(RSS {r['rss_before_mib']:.1f} -> {r['rss_connected_mib']:.1f} MiB, connected in "
            f"{r['connect_s']:.1f} s); W2 {fmt(r, 'steps_per_s')} steps/s, p99 "
            f"{fmt(r, 'p99_ms')} ms; tasks per agent max {r['tasks_max']:.0f}, min "
            f"{r['tasks_min']:.0f}, mean {r['tasks_mean']:.2f}, max/mean "
            f"{r['tasks_max_over_mean']:.2f}, idle agents {r['agents_idle']:.0f}"
        )


def report(results: dict[str, Any]) -> None:
    cpu = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    print(f"\ndwe benchmark ({cpu}); median (min-max); clocks start before the first create")
    _main_rows(results)
    _scale_rows(results)
    if "startup" in results:
        print(
            f"server peak RSS: {results.get('server_peak_rss_mb', 0):.1f} MiB; "
            f"start-up: server {results['startup']['server_s']:.2f}s, "
            f"agents {results['startup']['agents_s']:.2f}s"
        )
