"""Distributions worth a histogram: step duration, workflow queue wait, workflow duration.

Measured from each committed outbox (``Delivery.announce``) with figures the
events and runs already hold: one ``record`` call per finished attempt and per
started or ended workflow. ``measure`` only lists them; the OpenTelemetry SDK
spends several microseconds per ``record``, so ``Delivery`` hands them to the SDK
after the outbox's work has gone out to the agents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import metrics as otel_metrics

from ..engine.events import StepAttemptFailed, StepCompleted, WorkflowStarted
from ..engine.recorder import Outbox
from ..engine.runs import WorkflowRun

#: Seconds, from a quick step to an hour-long workflow.
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
_COMPLETED = {"outcome": "completed"}
_FAILED = {"outcome": "failed"}
#: An instrument's ``record``, a value in seconds and its attributes (None: none).
Measured = tuple[Callable[[float, Any], None], float, "dict[str, str] | None"]


class RunHistograms:
    def __init__(self, meter_provider: Any = None) -> None:
        meter = otel_metrics.get_meter("dwe.server", meter_provider=meter_provider)

        def histogram(name: str, description: str) -> Any:
            return meter.create_histogram(
                name, unit="s", description=description, explicit_bucket_boundaries_advisory=BOUNDS
            )

        self._step = histogram("dwe.step.duration", "Run time of finished step attempts")
        self._wait = histogram("dwe.workflow.queue_wait", "Time from create to start of a run")
        self._run = histogram("dwe.workflow.duration", "Time from start to end of a run")
        self._states: dict[str, dict[str, str]] = {}

    def measure(self, out: Outbox, run_of: Callable[[str], WorkflowRun | None]) -> list[Measured]:
        """What ``out`` finished or started, for ``record_all`` (now or a little later)."""
        found: list[Measured] = []
        step = self._step.record
        for e in out.events:
            if type(e) is StepCompleted:
                found.append((step, e.execution_time, _COMPLETED))
            elif type(e) is StepAttemptFailed:
                found.append((step, e.execution_time, _FAILED))
            elif type(e) is WorkflowStarted:
                run = run_of(e.workflow_id)
                if run is not None and run.created_at:
                    found.append((self._wait.record, max(0.0, e.time - run.created_at), None))
        for wf in out.ended:
            if wf.started_at:
                state = str(wf.state)
                attrs = self._states.get(state) or self._states.setdefault(state, {"state": state})
                found.append((self._run.record, max(0.0, wf.finished_at - wf.started_at), attrs))
        return found


def record_all(measured: list[Measured]) -> None:
    """Hand measurements to their instruments."""
    for record, value, attributes in measured:
        record(value, attributes)
