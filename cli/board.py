"""The state behind the live view: one row per step, updated from the event stream.

Pure (no I/O): the step list comes from one GetWorkflowStatus, every change after
that from the workflow's events as the CLI receives them. Times are epoch seconds
of the server's event timestamps, so a running step's duration is ``now - started``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Board", "StepRow"]

#: Step states after which a step's row no longer changes.
ENDED_STEPS = frozenset({"completed", "failed", "cancelled", "skipped"})


@dataclass(slots=True)
class StepRow:
    """One step as the view shows it.

    Attributes:
        started: Epoch seconds of the current attempt's assignment (None before one).
        seconds: Execution time of the last ended attempt (None while it runs).
        last_line: The last AGENT_STREAM content (or the last error).
        fraction: A ``progress`` number in 0..1 of the last streamed data, if any.
    """

    step_id: str
    name: str = ""
    state: str = "pending"
    agent: str = ""
    attempt: int = 0
    started: float | None = None
    seconds: float | None = None
    last_line: str = ""
    fraction: float | None = None

    def duration(self, now: float) -> float | None:
        """Seconds this step ran: live while it runs, its execution time once ended."""
        if self.state in ("running", "assigned") and self.started is not None:
            return max(0.0, now - self.started)
        return self.seconds


@dataclass(slots=True)
class Board:
    """A workflow and its steps, as far as the events received tell."""

    workflow_id: str
    name: str = ""
    state: str = "pending"
    started_at: float | None = None
    finished_at: float | None = None
    steps: dict[str, StepRow] = field(default_factory=dict)

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> Board:
        """The board of a status dict (``clients.events.status_to_dict``)."""
        rows = {
            s["step_id"]: StepRow(
                s["step_id"],
                s.get("name") or "",
                s.get("state") or "pending",
                s.get("agent_id") or "",
                s.get("attempts") or 0,
                seconds=s.get("execution_time") or None,
            )
            for s in status.get("steps", [])
        }
        return cls(
            status["workflow_id"],
            status.get("name") or "",
            status.get("state") or "pending",
            status.get("started_at") or None,
            status.get("finished_at") or None,
            rows,
        )

    def snapshot(self) -> Board:
        """A copy for the render thread, which must not see a row half updated."""
        return copy.deepcopy(self)

    def completed(self) -> int:
        """Steps that completed (what progress counts: skipped or cancelled ones are not)."""
        return sum(1 for s in self.steps.values() if s.state == "completed")

    def elapsed(self, now: float) -> float:
        """Seconds from the run's start to its end, or to ``now`` while it runs."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.finished_at or now) - self.started_at)

    def apply(self, event: dict[str, Any]) -> None:
        """Takes one event dict (``clients.events.event_to_dict``) into account."""
        name, data = event["event"], event.get("data") or {}
        when = event.get("timestamp")
        if name in ("workflow_started", "workflow_queued"):
            self.name = data.get("name") or self.name
            self.state = "running" if name == "workflow_started" else "queued"
            if name == "workflow_started":
                self.started_at = when
        elif "final_output" in data:  # a terminal event
            self._end(data.get("state") or name.removeprefix("workflow_"), when)
        elif data.get("step_id"):
            self._apply_step(name, data, when)

    def _apply_step(self, name: str, data: dict[str, Any], when: float | None) -> None:
        step_id = data["step_id"]
        row = self.steps.setdefault(step_id, StepRow(step_id, data.get("step_name") or ""))
        row.agent = data.get("agent_id") or row.agent
        row.attempt = data.get("attempt") or row.attempt
        if name == "agent_started":
            row.state, row.started, row.seconds, row.fraction = "running", when, None, None
        elif name == "agent_stream":
            row.last_line = _stream_line(data)
            value = data.get("data")
            if isinstance(value, dict) and isinstance(value.get("progress"), int | float):
                row.fraction = min(1.0, max(0.0, float(value["progress"])))
        elif name == "agent_completed":
            row.state, row.seconds = "completed", data.get("execution_time")
        elif name == "agent_error":
            row.state = "retry_wait" if data.get("will_retry") else "failed"
            row.seconds = data.get("execution_time")
            kind = f"{data['error_type']}: " if data.get("error_type") else ""
            row.last_line = f"{kind}{data.get('error_message', '')}"
        elif name == "agent_retrying":
            row.state = "retry_wait"
        elif name == "step_skipped":
            row.state, row.last_line = "skipped", data.get("error_message") or ""

    def _end(self, state: str, when: float | None) -> None:
        self.state, self.finished_at = state, when
        for row in self.steps.values():
            if row.state not in ENDED_STEPS:  # the run ended around them (cancel, timeout)
                row.state = "cancelled"
                if row.started is not None and when is not None:
                    row.seconds = max(0.0, when - row.started)


def _stream_line(data: dict[str, Any]) -> str:
    """The last line of a streamed content (a step's table cell holds one line)."""
    lines = str(data.get("content") or "").strip().splitlines()
    if lines:
        return lines[-1]
    value = data.get("data")
    return "" if value is None else str(value)
