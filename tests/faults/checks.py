"""What "nothing lost" means, checked after the faults, and the figures of a run.

For each workflow a caller got an acknowledgement for:

- it ended COMPLETED (else it is counted **lost**);
- its stored history (a fresh WatchWorkflow from seq 0) has seqs 1..last with no gap,
  and the caller, resuming with ``after_seq`` across the crashes, received each of
  them exactly once (**seq gaps**, **seq repeats**);
- each step has exactly one ``agent_completed`` event (**accepted twice** otherwise);
- GetWorkflowStatus (the server's memory), the replayed events and the SQLite rows
  agree on the state and the last seq.

Handlers that ran more than once (**run twice**) are counted from the agents' runs
files: at-least-once delivery allows them, so they are reported, not failed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from dwe.clients import NotFoundError
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2, workflow_pb2

from ..conftest import ROOT
from ..support.db import query
from .callers import STEPS, Caller, diamond_spec

RESULTS = ROOT / ".faults" / "results.jsonl"
COMPLETED = enums_pb2.WORKFLOW_STATE_COMPLETED


@dataclass
class Verdict:
    """The counts of a run and a line per problem found."""

    workflows: int = 0
    lost: int = 0
    accepted_twice: int = 0
    run_twice: int = 0
    seq_gaps: int = 0
    seq_repeats: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, workflow_id: str, what: str) -> None:
        self.problems.append(f"{workflow_id}: {what}")


async def verify(
    client: DweClient, callers: Sequence[Caller], db: Path, runs: Iterable[Sequence[str]]
) -> Verdict:
    """Check every caller's workflow against the server and the store."""
    verdict = Verdict(workflows=len(callers))
    stored = store_view(db)
    for caller in callers:
        if not caller.acknowledged:
            verdict.lost += 1
            verdict.problem(caller.request_id, "create never acknowledged")
            continue
        await _verify_one(client, caller, stored.get(caller.workflow_id), verdict)
    acknowledged = {c.workflow_id for c in callers if c.acknowledged}
    verdict.run_twice = run_twice(runs, acknowledged)
    return verdict


async def _verify_one(
    client: DweClient, caller: Caller, row: tuple[str, int, int] | None, verdict: Verdict
) -> None:
    wid = caller.workflow_id
    try:
        status = await client.get_workflow_status(wid)
    except NotFoundError:
        verdict.lost += 1
        verdict.problem(wid, "acknowledged, now NOT_FOUND")
        return
    if status.state != COMPLETED or caller.terminal != enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED:
        verdict.lost += 1
        state = enums_pb2.WorkflowState.Name(status.state)
        verdict.problem(wid, f"not completed: {state}, caller saw {caller.terminal}")
    events = await replay(client, wid)
    stored = [e.seq for e in events]
    expected = list(range(1, len(stored) + 1))
    verdict.seq_gaps += len(set(expected) - set(stored)) + len(set(stored) - set(caller.seqs))
    verdict.seq_repeats += len(caller.seqs) - len(set(caller.seqs))
    if stored != expected or caller.seqs != stored:
        verdict.problem(wid, f"seqs: stored {stored}, caller saw {caller.seqs}")
    _check_steps(wid, status, events, verdict)
    last = stored[-1] if stored else 0
    if row is None or row != ("completed", last, last) or status.last_seq != last:
        verdict.problem(wid, f"store {row} / status last_seq {status.last_seq} / replay {last}")


def _check_steps(
    wid: str,
    status: workflow_pb2.WorkflowStatus,
    events: Sequence[workflow_pb2.WorkflowEvent],
    verdict: Verdict,
) -> None:
    """One accepted result per step, and the status agrees with the events."""
    accepted = Counter(e.step_id for e in events if e.type == enums_pb2.EVENT_TYPE_AGENT_COMPLETED)
    twice = {step: n for step, n in accepted.items() if n > 1}
    verdict.accepted_twice += sum(n - 1 for n in twice.values())
    if twice:
        verdict.problem(wid, f"results accepted more than once: {twice}")
    done = {s.step_id for s in status.steps if s.state == enums_pb2.STEP_STATE_COMPLETED}
    if len(status.steps) != STEPS or done != set(accepted):
        verdict.problem(wid, f"status steps done {sorted(done)}, events {sorted(accepted)}")


async def replay(client: DweClient, workflow_id: str) -> list[workflow_pb2.WorkflowEvent]:
    """The stored history of an ended workflow (its stream ends with the terminal event)."""

    async def collect() -> list[workflow_pb2.WorkflowEvent]:
        return [e async for e in client.watch_workflow(workflow_id)]

    return await asyncio.wait_for(collect(), 20)


def store_view(db: Path | str) -> dict[str, tuple[str, int, int]]:
    """Workflow id -> (state, number of stored events, highest seq), read from the store."""
    rows = query(
        str(db),
        "SELECT w.id, w.state, COUNT(e.seq), COALESCE(MAX(e.seq), 0) FROM workflows w "
        "LEFT JOIN events e ON e.workflow_id = w.id GROUP BY w.id",
    )
    return {wid: (state, int(count), int(last)) for wid, state, count, last in rows}


def run_twice(runs: Iterable[Sequence[str]], workflow_ids: set[str]) -> int:
    """Steps whose handler started more than once (runs-file lines, tests/faults/agent.py)."""
    starts = Counter((line[4], line[5]) for line in runs if line[0] == "start")
    return sum(1 for (wid, _), n in starts.items() if n > 1 and wid in workflow_ids)


def run_twice_by_cause(runs: Iterable[Sequence[str]], killed: set[str]) -> dict[str, int]:
    """Steps that ran again, split by whether an earlier run was in a killed agent
    process, or not (its result was lost with a server, or came after the lease)."""
    pids: dict[tuple[str, str], list[str]] = {}
    for line in runs:
        if line[0] == "start":
            pids.setdefault((line[4], line[5]), []).append(line[2])
    split = Counter(
        "after an agent kill" if set(p[:-1]) & killed else "without an agent kill"
        for p in pids.values()
        if len(p) > 1
    )
    return dict(split)


def retried(callers: Iterable[Caller]) -> dict[str, int]:
    """Retried failures by call and code ("watch UNAVAILABLE": 12), over all callers."""
    total: Counter[str] = Counter()
    for caller in callers:
        for key, n in caller.failures.items():
            total[key.split(":")[0]] += n
    return dict(sorted(total.items()))


@dataclass
class Figures:
    """One line of ``.faults/results.jsonl``."""

    test: str
    mode: str
    seed: int
    cycles: int
    workflows: int
    lost: int
    accepted_twice: int
    run_twice: int
    seq_gaps: int
    seq_repeats: int
    seconds: float
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(
        cls, test: str, mode: str, seed: int, cycles: int, verdict: Verdict, started: float
    ) -> Figures:
        return cls(
            test,
            mode,
            seed,
            cycles,
            verdict.workflows,
            verdict.lost,
            verdict.accepted_twice,
            verdict.run_twice,
            verdict.seq_gaps,
            verdict.seq_repeats,
            round(time.monotonic() - started, 1),
        )

    def line(self) -> str:
        return (
            f"faults {self.test} [{self.mode}, seed {self.seed}]: cycles={self.cycles} "
            f"workflows={self.workflows} lost={self.lost} accepted_twice={self.accepted_twice} "
            f"run_twice={self.run_twice} seq_gaps={self.seq_gaps} "
            f"seq_repeats={self.seq_repeats} seconds={self.seconds}"
        )

    def record(self) -> None:
        """Print the line and append the figures as JSON to .faults/results.jsonl."""
        print(f"\n{self.line()}")
        row = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "run": os.environ.get("DWE_FAULTS_RUN", ""),
            **asdict(self),
        }
        try:
            RESULTS.parent.mkdir(exist_ok=True)
            with open(RESULTS, "ab") as f:
                f.write(orjson.dumps(row) + b"\n")
        except OSError as err:  # e.g. a checkout this user may not write to
            print(f"figures not recorded in {RESULTS}: {err}")


async def check_idempotent(client: DweClient, callers: Sequence[Caller], verdict: Verdict) -> None:
    """A create repeated with an acknowledged request id finds the same workflow."""
    for caller in callers:
        if not caller.acknowledged:
            continue
        spec = diamond_spec(caller)
        again = await client.create_workflow(spec, caller.request_id)
        if again.created or again.workflow_id != caller.workflow_id:
            verdict.lost += 1
            verdict.problem(caller.workflow_id, f"request id {caller.request_id} -> {again}")
