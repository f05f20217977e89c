"""The Coordinator on a real SQLite file, without gRPC: what it keeps in memory is
bounded, and what it forgot is answered from the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from dwe.server.api.event_codec import event_bytes
from dwe.server.engine.model import StepSpec, WorkflowSpec, WorkflowState
from dwe.server.runtime.coordinator import Coordinator
from dwe.server.store.base import WorkflowQuery
from dwe.server.store.sqlite import SqliteStore

SPEC = WorkflowSpec("w", (StepSpec("a", capability="nobody-has-it"),))

MakeCoordinator = Callable[..., Awaitable[Coordinator]]


@pytest.fixture
async def make_coordinator(tmp_path: Path) -> AsyncIterator[MakeCoordinator]:
    """``await make_coordinator(keep_ended=2)``: an opened Coordinator on tmp_path/dwe.db."""
    made: list[tuple[Coordinator, SqliteStore]] = []

    async def make(**options: Any) -> Coordinator:
        store = SqliteStore(tmp_path / "dwe.db")
        coordinator = Coordinator(store, event_bytes, **options)
        await coordinator.open()
        made.append((coordinator, store))
        return coordinator

    yield make
    for coordinator, store in made:
        await coordinator.close()
        store.close()


async def test_ended_runs_beyond_keep_ended_leave_memory_and_are_read_from_the_store(
    make_coordinator: MakeCoordinator,
) -> None:
    coordinator = await make_coordinator(keep_ended=2)
    ids, in_memory = [], []
    for _ in range(5):
        workflow_id, created = await coordinator.create_workflow(SPEC)
        assert created
        assert await coordinator.cancel_workflow(workflow_id, "done with it") == (
            True,
            WorkflowState.CANCELLED,
        )
        ids.append(workflow_id)
        in_memory.append(coordinator.stats().runs_in_memory)
    assert in_memory == [1, 2, 2, 2, 2]
    first = await coordinator.status(ids[0])  # evicted: answered from the store
    assert (first.workflow_id, first.state) == (ids[0], WorkflowState.CANCELLED)
    assert first.error_message == "done with it"
    assert (await coordinator.status(ids[-1])).state is WorkflowState.CANCELLED  # in memory
    # An evicted run cannot be cancelled again, and says so from the store too.
    assert await coordinator.cancel_workflow(ids[0]) == (False, WorkflowState.CANCELLED)


async def test_idempotency_cache_is_bounded_and_the_store_answers_for_evicted_keys(
    make_coordinator: MakeCoordinator,
) -> None:
    coordinator = await make_coordinator(cache_size=100)
    first, created = await coordinator.create_workflow(SPEC, "req-0")
    assert created
    rest = await asyncio.gather(
        *(coordinator.create_workflow(SPEC, f"req-{i}") for i in range(1, 1000))
    )
    assert all(created for _, created in rest)
    assert len({first, *(wid for wid, _ in rest)}) == 1000
    assert coordinator.cached_requests() == 100
    assert coordinator._commands.requests.get("req-0") is None  # the oldest key was evicted

    assert await coordinator.create_workflow(SPEC, "req-0") == (first, False)  # from the store
    assert coordinator.cached_requests() == 100


async def test_concurrent_creates_with_one_new_request_id_make_one_workflow(
    make_coordinator: MakeCoordinator,
) -> None:
    coordinator = await make_coordinator(cache_size=100)
    answers = await asyncio.gather(*(coordinator.create_workflow(SPEC, "req-x") for _ in range(2)))
    (workflow_id,) = {wid for wid, _ in answers}
    assert sorted(created for _, created in answers) == [False, True]
    stored, _ = await coordinator.list_page(WorkflowQuery(), 10, None)
    assert [view.workflow_id for view in stored] == [workflow_id]


async def test_workflow_ids_are_32_hex_digits_that_grow_with_creation_time(
    make_coordinator: MakeCoordinator,
) -> None:
    coordinator = await make_coordinator()
    first, _ = await coordinator.create_workflow(SPEC)
    start_ms = int(first[:12], 16)
    assert abs(start_ms - time.time() * 1000) < 60_000  # the prefix is the clock's ms
    while time.time_ns() // 1_000_000 <= start_ms:  # the next millisecond (a condition)
        await asyncio.sleep(0)
    second, _ = await coordinator.create_workflow(SPEC)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in (first, second))
    assert first < second  # rows keyed by id append at the end of their B-trees
    assert first[12:] != second[12:]  # the random part differs
