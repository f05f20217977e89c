"""PIPELINE mode: records flow from a step to its streamed dependents as they appear.

A step of a PIPELINE workflow with exactly one dependency is *streamed*: it
runs once per record its upstream produces (or per ``pipeline_batch_size``
records, as a JSON array), one invocation at a time so order is kept, while
the upstream is still running. A step's records are what it emits with
``task.emit(record)`` during an invocation or, when it emits nothing, its
return value (unless null). When the upstream has ended and every record was
processed, the streamed step completes with the JSON array of its invocation
outputs, in order. n records through k single-slot stages thus take about
(n + k - 1) stage-times instead of n x k.

The policy keeps a ``Stage`` per streamed step (buffers and outputs) and an
emission count per emitting step; the scheduler asks it for the next unit of
work and makes every state change itself.
"""

from __future__ import annotations

from collections import deque

from .model import JSON_ENCODING, Blob, StepState
from .modes import ModePolicy, Unit
from .runs import StepRun, WorkflowRun

_NULLS = (b"", b"null")


class Stage:
    """What a streamed step holds between invocations."""

    __slots__ = ("busy", "current", "outputs", "records", "upstream_done")

    def __init__(self) -> None:
        self.records: deque[Blob] = deque()
        self.outputs: list[Blob | None] = []
        self.current: Blob | None = None
        self.upstream_done = False
        # An invocation is queued, out on an agent or waiting for its retry.
        self.busy = False


def _is_record(blob: Blob | None) -> bool:
    return blob is not None and blob.data not in _NULLS


def json_array(items: list[Blob] | list[Blob | None]) -> Blob:
    """Join JSON payloads into one array without decoding them."""
    parts = [b.data if b is not None and b.data else b"null" for b in items]
    return Blob(JSON_ENCODING, b"[" + b",".join(parts) + b"]")


class PipelinePolicy(ModePolicy):
    """Feeds records to streamed steps; everything else as in PARALLEL mode."""

    def __init__(self) -> None:
        self._stages: dict[StepRun, Stage] = {}
        # step -> [records emitted by its current invocation, ever emitted (0/1)]
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

    def _feed(self, upstream: StepRun, record: Blob) -> list[StepRun]:
        fed = []
        for dep in upstream.dependents:
            stage = self._stages.get(dep)
            if stage is not None and not dep.state.terminal:
                stage.records.append(record)
                fed.append(dep)
        return fed

    def on_record(self, step: StepRun, record: Blob) -> list[StepRun]:
        counts = self._emitted.setdefault(step, [0, 0])
        counts[0] += 1
        counts[1] = 1
        return self._feed(step, record)

    def on_success(self, step: StepRun, output: Blob | None) -> list[StepRun] | None:
        stage = self._stages.get(step)
        if stage is None:
            return None
        stage.outputs.append(output)
        stage.current = None
        stage.busy = False
        counts = self._emitted.get(step)
        fed: list[StepRun] = []
        if (counts is None or counts[0] == 0) and output is not None and _is_record(output):
            fed = self._feed(step, output)
        if counts is not None:
            counts[0] = 0
        return [step, *fed]

    def upstream_ended(self, step: StepRun, upstream: StepRun) -> bool:
        stage = self._stages.get(step)
        if stage is None:
            return False
        stage.upstream_done = True
        counts = self._emitted.get(upstream)
        plain = upstream not in self._stages and not (counts and counts[1])
        if upstream.state is StepState.COMPLETED and plain and _is_record(upstream.output):
            assert upstream.output is not None
            stage.records.append(upstream.output)  # a plain output that emitted nothing
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
            stage.busy = True
            return Unit(False, stage.current)
        if stage.upstream_done:
            return Unit(True, json_array(stage.outputs))
        return None

    def unresumable(self, wf: WorkflowRun) -> str:
        for step in wf.order:
            started = step.state is not StepState.PENDING and not step.state.terminal
            if step in self._stages and started:
                # Records in flight between stages live in memory only.
                return (
                    "the server restarted while records were streaming; PIPELINE runs do not resume"
                )
        return ""
