"""Retention in the runtime: Coordinator.prune on a real SQLite file, and the periodic prune
of a running server. The cut is driven through ``ended_before``, never by waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from dwe.server.api.event_codec import event_bytes
from dwe.server.engine.config import UnknownWorkflow
from dwe.server.engine.model import StepSpec, WorkflowSpec, WorkflowState
from dwe.server.runtime.coordinator import Coordinator
from dwe.server.runtime.retention import PruneCount
from dwe.server.store.sqlite import SqliteStore

from ..conftest import MakeServer, wait_for
from ..support import db

SPEC = WorkflowSpec("w", (StepSpec("a", capability="nobody-has-it"),))

MakeCoordinator = Callable[..., Awaitable[Coordinator]]


@pytest.fixture
async def coordinator(tmp_path: Path) -> AsyncIterator[Coordinator]:
    store = SqliteStore(tmp_path / "dwe.db")
    c = Coordinator(store, event_bytes)
    await c.open()
    yield c
    await c.close()
    store.close()


def rows(path: Path | str, table: str, workflow_id: str) -> int:
    key = "id" if table == "workflows" else "workflow_id"
    return db.count(str(path), table, f"{key}=?", (workflow_id,))


async def ended(coordinator: Coordinator, request_id: str = "") -> str:
    workflow_id, _ = await coordinator.create_workflow(SPEC, request_id)
    await coordinator.start_workflow(workflow_id)
    await coordinator.cancel_workflow(workflow_id, "done")
    return workflow_id


async def test_prune_forgets_ended_runs_in_memory_and_their_request_ids(
    coordinator: Coordinator, tmp_path: Path
) -> None:
    old = await ended(coordinator, "req-old")
    running, _ = await coordinator.create_workflow(SPEC, "req-running")
    await coordinator.start_workflow(running)
    assert coordinator.stats().runs_in_memory == 2  # the ended run is still held

    events = rows(tmp_path / "dwe.db", "events", old)
    assert events == 2  # started, cancelled
    assert await coordinator.prune(0.0, dry_run=True) == PruneCount(1, events)
    assert rows(tmp_path / "dwe.db", "events", old) == events  # a dry run deletes nothing
    assert await coordinator.prune(0.0) == PruneCount(1, events)
    assert rows(tmp_path / "dwe.db", "events", old) == 0

    assert coordinator.stats().runs_in_memory == 1
    with pytest.raises(UnknownWorkflow):
        await coordinator.status(old)
    with pytest.raises(UnknownWorkflow):
        await coordinator.replay(old, 0)
    assert (await coordinator.status(running)).state is WorkflowState.RUNNING
    # A repeat of the pruned request id creates anew; the running one's is still known.
    again, created = await coordinator.create_workflow(SPEC, "req-old")
    assert created and again != old
    assert await coordinator.create_workflow(SPEC, "req-running") == (running, False)


async def test_prune_cuts_at_ended_before_and_goes_in_batches(
    coordinator: Coordinator, tmp_path: Path
) -> None:
    first = [await ended(coordinator) for _ in range(5)]
    store = coordinator._store
    cut = max(r.finished_at for r in [store.load_workflow(w, False) for w in first] if r)
    later = [await ended(coordinator) for _ in range(3)]
    finished = [store.load_workflow(w, False) for w in later]
    assert all(r is not None and r.finished_at > cut for r in finished)
    coordinator._retention._batch = 2  # 5 workflows: batches of 2, 2 and 1

    assert await coordinator._retention.prune(cut + 1e-6) == PruneCount(5, 10)

    for w in first:
        assert rows(tmp_path / "dwe.db", "workflows", w) == 0
    for w in later:
        assert (await coordinator.status(w)).state is WorkflowState.CANCELLED
        assert rows(tmp_path / "dwe.db", "events", w) == 2
    assert await coordinator.prune(3600.0) == PruneCount(0, 0)  # all ended just now


async def test_retention_prunes_a_running_server_periodically(make_server: MakeServer) -> None:
    server = await make_server(retention=0.001, prune_interval=0.05)
    c = server.coordinator
    workflow_id = await ended(c)
    running, _ = await c.create_workflow(SPEC)
    await c.start_workflow(running)

    async def gone() -> bool:
        try:
            await c.status(workflow_id)
        except UnknownWorkflow:
            return True
        return False

    await wait_for(gone, what="the ended workflow pruned by retention")
    assert rows(server.config.db_path, "events", workflow_id) == 0
    assert (await c.status(running)).state is WorkflowState.RUNNING
    assert rows(server.config.db_path, "events", running) > 0


async def test_a_prune_interval_of_zero_is_refused(make_server: MakeServer) -> None:
    with pytest.raises(ValueError, match="prune_interval"):
        await make_server(retention=60.0, prune_interval=0.0)


def test_retention_settings_read_durations_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dwe.server.config import ServerConfig

    monkeypatch.setenv("DWE_RETENTION", "7d")
    monkeypatch.setenv("DWE_PRUNE_INTERVAL", "90")
    config = ServerConfig.from_env()
    assert (config.retention, config.prune_interval) == (604800.0, 90.0)
    assert ServerConfig.from_env(retention=60.0).retention == 60.0
    monkeypatch.setenv("DWE_RETENTION", "a week")
    with pytest.raises(ValueError, match="DWE_RETENTION: 'a week' is not a duration"):
        ServerConfig.from_env()
