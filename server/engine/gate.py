"""What an agent reports, put in order: numbered progress once each, results after it.

An agent numbers its progress (StepProgress.index 1, 2, 3, ...) and says with a
result how much progress came before it (StepResult.progress_count). A server
that crashed, or whose commit failed, may lack some of it; the gate notices
and asks the agent to send it again:

- an item whose index is the next one is applied; a repeat is dropped; an item
  past a missing one is dropped and the agent is asked to resend after the last
  applied index;
- a result whose progress_count is ahead of what was applied waits in the step
  (``pending``) while the agent is asked to resend, and is applied once the
  progress has caught up.

Every numbered item is acknowledged once stored (``Recorder.progress``), so
the agent can forget it.
"""

from __future__ import annotations

from .model import Blob, ErrorInfo
from .recorder import Recorder
from .runs import StepRun
from .steps import StepMachine

# A result waiting for its progress: (progress_count, output, error, duration).
Pending = tuple[int, Blob | None, ErrorInfo | None, float]


class ReportGate:
    """Orders an attempt's progress and result by their numbers before the step sees them."""

    __slots__ = ("_rec", "_steps")

    def __init__(self, steps: StepMachine, recorder: Recorder) -> None:
        self._steps = steps
        self._rec = recorder

    def _reporting(self, session_id: str, attempt_id: str) -> StepRun | None:
        step = self._steps.current(attempt_id)
        if step is None or step.session_id != session_id:
            return None
        return step

    def progress(
        self,
        session_id: str,
        attempt_id: str,
        content: str,
        data: Blob | None,
        now: float,
        index: int = 0,
    ) -> bool:
        """Apply a progress item: an unnumbered one at once, a numbered one in order.
        False when the attempt is not a current one of this session."""
        if not index:
            return self._steps.progress(session_id, attempt_id, content, data, now)
        step = self._reporting(session_id, attempt_id)
        if step is None:
            return False
        expected = step.progress_index + 1
        if index == expected:
            step.progress_index = index
        self._rec.progress(step, session_id, attempt_id, resend=index > expected)
        if index != expected:
            return True  # a repeat (acknowledged again) or past a gap (asked for again)
        self._steps.progress(session_id, attempt_id, content, data, now)
        pending = step.pending
        if pending is not None and pending[0] <= index:
            step.pending = None
            _, output, error, duration = pending
            self._steps.result(session_id, attempt_id, output, error, now, duration)
        return True

    def result(
        self,
        session_id: str,
        attempt_id: str,
        output: Blob | None,
        error: ErrorInfo | None,
        now: float,
        duration: float = 0.0,
        progress_count: int = 0,
    ) -> bool:
        """Apply a result, or hold it while progress it follows is missing."""
        if progress_count:
            step = self._reporting(session_id, attempt_id)
            if step is not None and progress_count > step.progress_index:
                step.pending = (progress_count, output, error, duration)
                self._rec.progress(step, session_id, attempt_id, resend=True)
                return True
        return self._steps.result(session_id, attempt_id, output, error, now, duration)
