"""The live view's state (cli/board.py) as a table of event sequences: pure, no server."""

from __future__ import annotations

from typing import Any

from dwe.cli.board import Board

STATUS = {
    "workflow_id": "w1",
    "name": "demo",
    "state": "pending",
    "steps": [{"step_id": "a", "state": "pending"}, {"step_id": "b", "state": "pending"}],
}


def ev(event: str, when: float = 0.0, **data: Any) -> dict[str, Any]:
    return {"event": event, "workflow_id": "w1", "seq": 1, "timestamp": when, "data": data}


def test_steps_progress_and_durations_tick_while_running() -> None:
    board = Board.from_status(STATUS)
    board.apply(ev("workflow_started", 100.0, name="demo"))
    board.apply(ev("agent_started", 101.0, step_id="a", agent_id="x", attempt=1))
    row = board.steps["a"]
    assert (row.state, row.agent, row.attempt) == ("running", "x", 1)
    assert row.duration(103.5) == 2.5 and board.elapsed(104.0) == 4.0
    board.apply(
        ev("agent_stream", 102.0, step_id="a", content="first\nhalf", data={"progress": 0.5})
    )
    assert (row.last_line, row.fraction) == ("half", 0.5)
    board.apply(ev("agent_completed", 103.0, step_id="a", execution_time=2.0))
    assert (row.state, row.duration(999.0), board.completed()) == ("completed", 2.0, 1)


def test_a_retried_step_and_a_cancelled_run() -> None:
    board = Board.from_status(STATUS)
    board.apply(ev("workflow_started", 0.0))
    board.apply(ev("agent_started", 1.0, step_id="a", agent_id="x", attempt=1))
    board.apply(
        ev("agent_error", 2.0, step_id="a", error_type="E", error_message="boom", will_retry=True)
    )
    assert (board.steps["a"].state, board.steps["a"].last_line) == ("retry_wait", "E: boom")
    board.apply(ev("agent_started", 3.0, step_id="a", agent_id="y", attempt=2))
    board.apply(ev("workflow_cancelled", 5.0, state="cancelled", final_output={}))
    assert board.state == "cancelled" and board.elapsed(99.0) == 5.0
    assert [(r.state, r.attempt, r.seconds) for r in board.steps.values()] == [
        ("cancelled", 2, 2.0),
        ("cancelled", 0, None),
    ]
    assert board.completed() == 0  # the view's progress counts completed steps only
