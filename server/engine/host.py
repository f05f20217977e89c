"""What the step machine needs from the owner of runs (the scheduler)."""

from __future__ import annotations

from typing import Protocol

from .runs import WorkflowRun


class RunHost(Protocol):
    """What the step machine needs from the owner of runs."""

    def run_progressed(self, wf: WorkflowRun, now: float) -> None:
        """A step of ``wf`` finished (the run may be complete)."""

    def run_failed(self, wf: WorkflowRun, now: float, error: str) -> None:
        """A required step of ``wf`` failed for good."""
