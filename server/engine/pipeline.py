"""PIPELINE mode: records flow from a step to its streamed dependents as they appear.

A step of a PIPELINE workflow with exactly one dependency is *streamed*: it
runs once per record its upstream produces (or per ``pipeline_batch_size``
records, as a JSON array), one invocation at a time so order is kept, while
the upstream is still running. A step's records are what it emits with
``task.emit(record)`` during an invocation or, when it emits nothing, its
return value (unless null). When the upstream has ended and every record was
processed, the streamed step completes with the JSON array of its invocation
outputs, in order. n records through k single-slot stages take about
(n + k - 1) stage-times instead of n x k.

The policy keeps a ``Stage`` per streamed step and an emission count per
emitting step. Every record a stage receives, every invocation output and
every change of those counters is recorded, so the store holds all a run
needs to resume after a restart; ``adopted`` rebuilds the stages from it.
"""

from __future__ import annotations

import json
from collections import deque

from .model import JSON_ENCODING, Blob, StepState, StoredWorkflow
from .modes import ModePolicy, Unit
from .recorder import Recorder
from .runs import StepRun, WorkflowRun

_NULLS = (b"", b"null")


class Stage:
    """What a streamed step holds between invocations."""

    __slots__ = ("busy", "current", "fed", "first", "outputs", "records", "taken", "upstream_done")

    def __init__(self) -> None:
        self.records: deque[Blob] = deque()  # received, not yet handed to an invocation
        self.outputs: list[Blob | None] = []
        self.current: Blob | None = None
        self.upstream_done = False
        # An invocation is queued, out on an agent or waiting for its retry.
        self.busy = False
        self.fed = 0  # records received so far (the index of the next one)
        self.taken = 0  # records handed to invocations so far
        self.first = 0  # index of the first record of the current invocation


def _is_record(blob: Blob | None) -> bool:
    return blob is not None and blob.data not in _NULLS


def json_array(items: list[Blob] | list[Blob | None]) -> Blob:
    """Join JSON payloads into one array without decoding them."""
    parts = [b.data if b is not None and b.data else b"null" for b in items]
    return Blob(JSON_ENCODING, b"[" + b",".join(parts) + b"]")


class PipelinePolicy(ModePolicy):
    """Feeds records to streamed steps; everything else as in PARALLEL mode."""

    def __init__(self, recorder: Recorder) -> None:
        self._rec = recorder
        self._stages: dict[StepRun, Stage] = {}
        # step -> [records fed by its current invocation, ever emitted (0/1),
        #          the attempt emitting, records that attempt emitted so far]
        self._emitted: dict[StepRun, list[int]] = {}

    def opened(self, wf: WorkflowRun) -> None:
        for step in wf.order:
            if len(step.spec.dependencies) == 1:
                self._stages[step] = Stage()

    def closed(self, wf: WorkflowRun) -> None:
        for step in wf.order:
            self._stages.pop(step, None)
            self._emitted.pop(step, None)

    def streams(self, step: StepRun) -> bool:
        return step in self._stages

    def inputs(self, step: StepRun) -> dict[str, Blob | None]:
        stage = self._stages.get(step)
        if stage is None:
            return super().inputs(step)
        return {step.spec.dependencies[0]: stage.current}

    def _save(self, step: StepRun) -> None:
        """Record the step's counters (stored with its row)."""
        state: dict[str, int] = {}
        counts = self._emitted.get(step)
        if counts is not None:
            state.update(emitted=counts[0], ever=counts[1], attempt=counts[2], seen=counts[3])
        stage = self._stages.get(step)
        if stage is not None:
            state.update(
                fed=stage.fed,
                taken=stage.taken,
                first=stage.first,
                done=int(stage.upstream_done),
                busy=int(stage.busy),
            )
        self._rec.pipe_state(step, json.dumps(state, separators=(",", ":")))

    def _receive(self, step: StepRun, stage: Stage, record: Blob) -> None:
        stage.records.append(record)
        self._rec.pipe_record(step, "in", stage.fed, record)
        stage.fed += 1
        self._save(step)

    def _feed(self, upstream: StepRun, record: Blob) -> list[StepRun]:
        fed = []
        for dep in upstream.dependents:
            stage = self._stages.get(dep)
            if stage is not None and not dep.state.terminal:
                self._receive(dep, stage, record)
                fed.append(dep)
        return fed

    def on_record(self, step: StepRun, record: Blob) -> list[StepRun]:
        """Feed a record on; a retried attempt's first records were fed already by the
        attempt before it (records are replayed in order, by position) and are skipped."""
        counts = self._emitted.setdefault(step, [0, 0, step.attempt, 0])
        if counts[2] != step.attempt:
            counts[2], counts[3] = step.attempt, 0
        counts[3] += 1
        if counts[3] <= counts[0]:
            self._save(step)
            return []
        counts[0] += 1
        counts[1] = 1
        self._save(step)
        return self._feed(step, record)

    def on_success(self, step: StepRun, output: Blob | None) -> list[StepRun] | None:
        stage = self._stages.get(step)
        if stage is None:
            return None
        stage.outputs.append(output)
        self._rec.pipe_record(step, "out", len(stage.outputs) - 1, output)
        stage.current = None
        stage.busy = False
        counts = self._emitted.get(step)
        emitted = counts is not None and counts[0] > 0
        if counts is not None:
            counts[0] = counts[3] = 0
        self._save(step)
        if emitted or output is None or not _is_record(output):
            return [step]
        return [step, *self._feed(step, output)]

    def upstream_ended(self, step: StepRun, upstream: StepRun) -> bool:
        stage = self._stages.get(step)
        if stage is None:
            return False
        stage.upstream_done = True
        counts = self._emitted.get(upstream)
        plain = upstream not in self._stages and not (counts and counts[1])
        if upstream.state is StepState.COMPLETED and plain and _is_record(upstream.output):
            assert upstream.output is not None
            self._receive(step, stage, upstream.output)  # a plain output that emitted nothing
        else:
            self._save(step)
        return True

    def next_unit(self, step: StepRun) -> Unit | None:
        stage = self._stages[step]
        if stage.busy:
            return None
        size = step.spec.pipeline_batch_size
        want = size or 1
        records = stage.records
        if len(records) >= want or (stage.upstream_done and records):
            take = [records.popleft() for _ in range(min(want, len(records)))]
            stage.current = take[0] if not size else json_array(take)
            stage.first, stage.taken = stage.taken, stage.taken + len(take)
            stage.busy = True
            self._save(step)
            return Unit(False, stage.current)
        if stage.upstream_done:
            return Unit(True, json_array(stage.outputs))
        return None

    def adopted(self, wf: WorkflowRun, row: StoredWorkflow) -> tuple[list[StepRun], list[StepRun]]:
        """Rebuild the stages from their stored counters and records.

        Returns (streamed steps whose invocation must be queued again, streamed
        steps to pump). A stage between invocations keeps its RUNNING state.
        """
        self.opened(wf)
        stored = {s.step_id: s for s in row.steps}
        records: dict[tuple[str, str], list[Blob | None]] = {}
        for step_id, kind, _, blob in sorted(row.records, key=lambda r: (r[0], r[1], r[2])):
            records.setdefault((step_id, kind), []).append(blob)
        requeue: list[StepRun] = []
        pump: list[StepRun] = []
        for step in wf.order:
            state = json.loads(stored[step.spec.step_id].pipe or "{}")
            if "emitted" in state:  # files before attempt/seen: the stored attempt, all seen
                attempt = state.get("attempt", step.attempt)
                self._emitted[step] = [
                    state["emitted"],
                    state["ever"],
                    attempt,
                    state.get("seen", state["emitted"]),
                ]
            stage = self._stages.get(step)
            if stage is None or step.state.terminal:
                continue
            self._restore_stage(step, stage, state, records)
            if stage.busy and not step.in_flight:
                requeue.append(step)
            elif not stage.busy:
                pump.append(step)
        return requeue, pump

    def _restore_stage(
        self,
        step: StepRun,
        stage: Stage,
        state: dict[str, int],
        records: dict[tuple[str, str], list[Blob | None]],
    ) -> None:
        received = [b for b in records.get((step.spec.step_id, "in"), []) if b is not None]
        stage.outputs = list(records.get((step.spec.step_id, "out"), []))
        stage.fed = len(received)
        stage.taken, stage.first = state.get("taken", 0), state.get("first", 0)
        stage.upstream_done = bool(state.get("done", 0))
        stage.busy = bool(state.get("busy", 0))
        stage.records = deque(received[stage.taken :])
        if stage.busy:
            taken = received[stage.first : stage.taken]
            stage.current = json_array(taken) if step.spec.pipeline_batch_size else taken[0]

    def idle(self, step: StepRun) -> bool:
        """A streamed step between invocations (RUNNING, but no attempt out)."""
        stage = self._stages.get(step)
        return stage is not None and not stage.busy
