"""The live terminal view of ``dwe run --watch`` and ``dwe watch`` (stdout a terminal).

A ``rich`` table redrawn as events arrive: one row per step (state, agent, attempt,
duration, a progress bar, the last streamed line) under a header with the
workflow's name, id, state and elapsed time. Each event replaces the snapshot
the view draws; rich's own refresh thread redraws it a few times a second, which
is what makes running durations tick without a polling loop here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from dwe.cli.board import Board, StepRow
from dwe.clients.events import TERMINAL_EVENTS

__all__ = ["follow_live", "render_board"]

_STYLES = {
    "completed": "green",
    "running": "cyan",
    "assigned": "cyan",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "yellow",
    "skipped": "yellow",
    "retry_wait": "magenta",
    "queued": "blue",
}


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return (
        f"{minutes // 60}:{minutes % 60:02d}:{rest:02d}"
        if minutes >= 60
        else f"{minutes}:{rest:02d}"
    )


def _state(state: str) -> Text:
    return Text(state, style=_STYLES.get(state, "dim"))


def _bar(row: StepRow) -> ProgressBar:
    """Full once completed, the streamed fraction if any, else a pulse while running."""
    running = row.state in ("running", "assigned")
    done = 1.0 if row.state == "completed" else row.fraction or 0.0
    return ProgressBar(total=1.0, completed=done, width=12, pulse=running and row.fraction is None)


def _header(board: Board, now: float) -> RenderableType:
    total = len(board.steps)
    done = board.completed()
    line = Text.assemble(
        (board.name or "workflow", "bold"),
        f"  {board.workflow_id}  ",
        _state(board.state),
        f"  elapsed {_clock(board.elapsed(now))}",
    )
    bar = Table.grid(padding=(0, 1))  # a grid ends its line, a bare ProgressBar does not
    bar.add_row(
        ProgressBar(total=max(total, 1), completed=done, width=30),
        f"{done}/{total} steps completed",
    )
    return Group(line, bar)


def render_board(board: Board, now: float) -> RenderableType:
    """The header and the step table of ``board`` at time ``now`` (epoch seconds)."""
    table = Table(expand=False, box=None, pad_edge=False, header_style="bold")
    for column in ("STEP", "STATE", "AGENT", "ATTEMPT", "TIME", "PROGRESS"):
        table.add_column(column, no_wrap=True)
    table.add_column("LAST LINE", no_wrap=True, overflow="ellipsis", max_width=60)
    for row in board.steps.values():
        table.add_row(
            row.step_id,
            _state(row.state),
            row.agent or "-",
            str(row.attempt or "-"),
            _clock(row.duration(now)),
            _bar(row),
            row.last_line,
        )
    return Group(_header(board, now), table)


class _View:
    """What Live draws: the latest snapshot, rendered at the time of each redraw."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def __rich__(self) -> RenderableType:
        return render_board(self.board, time.time())


def follow_live(
    board: Board, events: Iterable[dict[str, Any]], console: Console | None = None
) -> dict[str, Any] | None:
    """Draws ``board`` and keeps it current with ``events`` until the terminal one.

    Returns:
        The terminal event, or None when the stream ended before it.
    """
    view = _View(board.snapshot())
    with Live(view, console=console, refresh_per_second=4, transient=False) as live:
        for event in events:
            board.apply(event)
            view.board = board.snapshot()  # one reference swap: the refresh thread sees old or new
            live.refresh()
            if event["event"] in TERMINAL_EVENTS:
                return event
    return None
