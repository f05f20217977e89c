"""Where a commit is written: a small batch on the event loop when the store allows it
(SQLite below synchronous=FULL), anything else on the writer thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from dwe.server.api.event_codec import event_bytes
from dwe.server.engine.model import StepSpec, WorkflowSpec, WorkflowState
from dwe.server.runtime.commit import INLINE_ROWS
from dwe.server.runtime.coordinator import Coordinator
from dwe.server.store.rows import WriteBatch
from dwe.server.store.sqlite import SqliteStore

from ..conftest import wait_for


class ThreadNoting(SqliteStore):
    """A real SQLite store that notes which thread wrote each batch, and its rows."""

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        super().__init__(path, synchronous)
        self.writes: list[tuple[str, int]] = []

    def write(self, batch: WriteBatch) -> list[str]:
        self.writes.append((threading.current_thread().name, batch.rows()))
        return super().write(batch)


def _spec(steps: int) -> WorkflowSpec:
    caps = "nobody-has-it"
    return WorkflowSpec("w", tuple(StepSpec(f"s{i}", capability=caps) for i in range(steps)))


async def _cancelled(store: ThreadNoting, steps: int) -> tuple[str, int]:
    """Create, start and cancel a workflow of ``steps`` steps; the cancel's write."""
    coordinator = Coordinator(store, event_bytes)
    await coordinator.open()
    try:
        workflow_id, _ = await coordinator.create_workflow(_spec(steps))
        await coordinator.start_workflow(workflow_id)
        store.writes.clear()
        assert await coordinator.cancel_workflow(workflow_id) == (True, WorkflowState.CANCELLED)
        (write,) = store.writes
        assert (await coordinator.status(workflow_id)).state is WorkflowState.CANCELLED
        return write
    finally:
        await coordinator.close()
        store.close()


async def test_a_small_commit_is_written_on_the_event_loop(tmp_path: Path) -> None:
    thread, rows = await _cancelled(ThreadNoting(tmp_path / "dwe.db"), 2)
    assert rows <= INLINE_ROWS
    assert thread == threading.current_thread().name  # the loop's own thread


async def test_a_large_commit_goes_to_the_writer_thread(tmp_path: Path) -> None:
    thread, rows = await _cancelled(ThreadNoting(tmp_path / "dwe.db"), INLINE_ROWS)
    assert rows > INLINE_ROWS
    assert thread.startswith("dwe-store-writer")


@pytest.mark.parametrize("synchronous", ["FULL", "EXTRA"])
async def test_with_an_fsync_per_commit_every_commit_goes_to_the_writer_thread(
    tmp_path: Path, synchronous: str
) -> None:
    thread, rows = await _cancelled(ThreadNoting(tmp_path / "dwe.db", synchronous), 2)
    assert rows <= INLINE_ROWS
    assert thread.startswith("dwe-store-writer")


async def test_while_a_writer_job_runs_a_small_commit_waits_for_the_writer_thread(
    tmp_path: Path,
) -> None:
    """Retention's prune runs on the writer's connection: an inline write must not
    use that connection at the same time."""
    store = ThreadNoting(tmp_path / "dwe.db")
    coordinator = Coordinator(store, event_bytes)
    await coordinator.open()
    release = threading.Event()
    try:
        workflow_id, _ = await coordinator.create_workflow(_spec(1))
        job = asyncio.ensure_future(coordinator._commit.on_writer(release.wait, 30))
        store.writes.clear()
        cancel = asyncio.ensure_future(coordinator.cancel_workflow(workflow_id))
        await wait_for(lambda: coordinator._commit._committing)
        assert store.writes == []  # queued behind the job, not written on the loop
        release.set()
        assert await cancel == (True, WorkflowState.CANCELLED)
        assert await job is True
        ((thread, _),) = store.writes
        assert thread.startswith("dwe-store-writer")
    finally:
        release.set()
        await coordinator.close()
        store.close()
