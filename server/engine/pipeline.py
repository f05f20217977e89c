"""PIPELINE mode: records flow from a step to its streamed dependents as they appear.

A step of a PIPELINE workflow with exactly one dependency is *streamed*: it
runs once per record its upstream produces (or per ``pipeline_batch_size``
records, as a JSON array), one invocation at a time so order is kept, while
the upstream is still running. A step's records are what it emits with
``task.emit(record)`` during an invocation or, when it emits nothing, its
return value (unless null). When the upstream has completed and every record
was processed, the streamed step completes with the JSON array of its
invocation outputs, in order. n records through k single-slot stages thus take
about (n + k - 1) stage-times instead of n x k.

Each invocation is an attempt: it has its own agent_started and agent_completed
events and retries on its own. Steps with several dependencies run once, after
all of them completed, as in PARALLEL mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import JSON_ENCODING, Blob, EventType, StepState
from .runs import StepRun

if TYPE_CHECKING:
    from .scheduler import Scheduler

_NULLS = (b"", b"null")


def emitted(sched: Scheduler, step: StepRun, record: Blob, now: float) -> None:
    """A running step emitted a record: hand it to its streamed dependents."""
    step.emitted += 1
    step.ever_emitted = True
    _feed(sched, step, record, now)


def _feed(sched: Scheduler, upstream: StepRun, record: Blob, now: float) -> None:
    for dep in upstream.dependents:
        if dep.streamed and not dep.state.terminal:
            dep.records.append(record)
            _pump(sched, dep, now)


def _busy(sched: Scheduler, step: StepRun) -> bool:
    """An invocation is queued, out on an agent, or waiting for its retry."""
    if step.state in (StepState.READY, StepState.ASSIGNED, StepState.RETRY_WAIT):
        return True
    return step.state is StepState.RUNNING and step.attempt_id in sched.attempts


def _pump(sched: Scheduler, step: StepRun, now: float) -> None:
    """Start the next invocation when records are waiting, or finish the stage."""
    if step.state.terminal or _busy(sched, step) or step.wf.state.terminal:
        return
    size = step.spec.pipeline_batch_size
    want = size or 1
    if len(step.records) >= want or (step.upstream_done and step.records):
        take = [step.records.popleft() for _ in range(min(want, len(step.records)))]
        step.current_input = take[0] if not size else _json_array(take)
        sched._make_ready([step], now)
        sched._fill(step.wf, now)
    elif step.upstream_done:
        output = _json_array(step.outputs)
        sched._complete(step, output, now, announce=False)


def invocation_done(sched: Scheduler, step: StepRun, output: Blob | None, now: float) -> None:
    """One invocation of a streamed step succeeded."""
    step.outputs.append(output)
    step.tries = 0
    step.finished_at = now
    sched._emit(
        step.wf,
        EventType.AGENT_COMPLETED,
        now,
        step,
        {"output": output, "execution_time": step.execution_time(now)},
    )
    # Idle between invocations: RUNNING with no attempt out.
    step.state = StepState.RUNNING
    step.current_input = None
    sched._unrelease(step)
    sched.outbox.steps[step] = None
    if step.emitted == 0 and output is not None and output.data not in _NULLS:
        _feed(sched, step, output, now)
    step.emitted = 0
    _pump(sched, step, now)
    sched._fill(step.wf, now)


def upstream_done(sched: Scheduler, step: StepRun, upstream: StepRun, now: float) -> None:
    """The streamed step's upstream ended; a plain output that emitted nothing is one record."""
    step.upstream_done = True
    if (
        upstream.state is StepState.COMPLETED
        and not upstream.ever_emitted
        and not upstream.streamed
        and upstream.output is not None
        and upstream.output.data not in _NULLS
    ):
        step.records.append(upstream.output)
    _pump(sched, step, now)


def _json_array(items: list[Blob] | list[Blob | None]) -> Blob:
    """Join JSON payloads into one array without decoding them."""
    parts = [b.data if b is not None and b.data else b"null" for b in items]
    return Blob(JSON_ENCODING, b"[" + b",".join(parts) + b"]")
