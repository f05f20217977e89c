"""The group commit: everything decided since the last commit, in one transaction, then announced.

Commit-before-publish: nobody hears of a decision before the transaction that
stores it has committed. A commit starts as soon as the event loop is free
when none is running; whatever is decided while one runs goes into the next,
so an idle server adds no batching delay and a busy one writes big batches.

Batches go to a writer thread, so the loop serves calls while SQLite writes.
A batch of at most ``INLINE_ROWS`` rows on a store that allows it (SQLite below
synchronous=FULL: no fsync) is written on the loop itself: it takes less time
than the two thread hand-offs it saves, which dominate a chain of one-step
commits (W3 in docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from dwe.common.backoff import backoff_delay

from ..engine.events import Event, StepEvent
from ..engine.model import AgentRegistration, WorkflowSpec
from ..engine.recorder import Outbox
from ..engine.runs import WorkflowRun
from ..store import mapping
from ..store.base import Store
from ..store.rows import AgentRow, EventRow, WriteBatch

NewWorkflow = tuple[str, str, WorkflowSpec, float, str]

log = logging.getLogger("dwe.server")

T = TypeVar("T")

# After a failed commit the next one waits 0.1 s, doubling up to 5 s, until one succeeds.
RETRY_BASE = 0.1
RETRY_CAP = 5.0
#: The largest batch written on the event loop (when the store allows it at all).
INLINE_ROWS = 32


class StoreUnavailable(RuntimeError):
    """A commit failed (disk full, I/O error): nothing of it was announced."""


class CommitLoop:
    """Takes the scheduler's outbox, writes it on the writer thread, then announces it.

    Args:
        store: Where batches are written (``write`` runs on one writer thread).
        take: Hands over the scheduler's outbox.
        pending: True when the scheduler has decided something since ``take``.
        encode: The transport's encoding of an event (cached on it, stored as is).
        announce: Called with each committed outbox (spans, events, agent work).
        roll_back: Called with an outbox whose commit failed, before its callers hear
            of it: the runs it touched must return to their stored state.
    """

    def __init__(
        self,
        store: Store,
        take: Callable[[], Outbox],
        pending: Callable[[], bool],
        encode: Callable[[Event], bytes],
        announce: Callable[[Outbox], None],
        roll_back: Callable[[Outbox], None],
    ) -> None:
        self._store = store
        self._take = take
        self._pending = pending
        self._encode = encode
        self._announce = announce
        self._roll_back = roll_back
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="dwe-store-writer")
        self._loop: asyncio.AbstractEventLoop | None = None
        # New workflows, mapped to rows on the writer thread (encoding a spec is not free).
        # (id, request_id, spec, created_at, namespace): fields that never change
        self._new: list[NewWorkflow] = []
        self._agents: list[AgentRow] = []
        # Ids of new workflows the store skipped: their request_id was stored already.
        self.skipped: set[str] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._scheduled = False
        self._committing = False
        self._writer_jobs = 0  # on_writer calls queued or running: the connection is busy
        # Failed commits in a row: while the store cannot write, retries back off
        # instead of spinning (each failure rolls runs back, which decides anew).
        self._failures = 0
        self.commits = 0
        self.events_committed = 0
        # The last event position handed out (read from the store at open): commits are
        # serial, so positions grow in commit order; a failed commit leaves a gap.
        self.position = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop that runs commits and announcements."""
        self._loop = loop

    def add_workflow(self, run: WorkflowRun) -> None:
        """A new workflow's rows go into the next commit."""
        self._new.append((run.id, run.request_id, run.spec, run.created_at, run.namespace))

    def add_agent(self, reg: AgentRegistration) -> None:
        """A registry entry goes into the next commit."""
        self._agents.append(mapping.agent_row(reg))

    def request(self) -> None:
        """Commit soon: at once when the loop is free, else right after the running commit."""
        if not self._committing and not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            if self._failures:
                delay = backoff_delay(self._failures, RETRY_BASE, cap=RETRY_CAP)
                self._loop.call_later(delay, self._commit)
            else:
                self._loop.call_soon(self._commit)

    def flush(self) -> asyncio.Future[None]:
        """A future that resolves once everything decided so far is committed and announced."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        self.request()
        return fut

    async def on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread, between two commits (never during one)."""
        loop = self._loop
        assert loop is not None
        self._writer_jobs += 1  # until the job has ended, even if its caller is cancelled
        job = self._writer.submit(fn, *args)
        job.add_done_callback(lambda _: self._job_ended(loop))
        return await asyncio.wrap_future(job, loop=loop)

    def _job_ended(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the writer thread: count the job out on the loop (unless it has closed)."""
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._count_job_out)

    def _count_job_out(self) -> None:
        self._writer_jobs -= 1

    @property
    def failing(self) -> bool:
        """The latest commit failed, and none has succeeded since."""
        return self._failures > 0

    def close(self) -> None:
        """Stop the writer thread (after the last flush)."""
        self._writer.shutdown(wait=True)

    def _commit(self) -> None:
        self._scheduled = False
        out = self._take()
        batch = self._batch(out)
        new, self._new = self._new, []
        waiters, self._waiters = self._waiters, []
        if not batch and not new:
            self._done(out, waiters)
            return
        self._committing = True
        if self._inline(batch, new):
            try:
                skipped = self._store.write(batch)
            except Exception as exc:
                self._committed(out, waiters, [], exc)
            else:
                self._committed(out, waiters, skipped, None)
            return
        assert self._loop is not None
        fut = self._loop.run_in_executor(self._writer, self._write, batch, new)
        fut.add_done_callback(lambda f: self._committed(out, waiters, *_outcome(f)))

    def _inline(self, batch: WriteBatch, new: list[NewWorkflow]) -> bool:
        """Write this batch on the loop: small, no spec to encode, the connection free."""
        return (
            not new
            and self._writer_jobs == 0
            and self._store.inline_writes
            and batch.rows() <= INLINE_ROWS
        )

    def _write(self, batch: WriteBatch, new: list[NewWorkflow]) -> list[str]:
        """On the writer thread: map the new workflows, then write everything."""
        for workflow_id, request_id, spec, created_at, namespace in new:
            row, steps = mapping.workflow_insert(
                workflow_id, request_id, spec, created_at, namespace
            )
            batch.new_workflows.append(row)
            batch.new_steps.extend(steps)
        return self._store.write(batch)

    def _batch(self, out: Outbox) -> WriteBatch:
        encode = self._encode
        events = []
        position = self.position
        for e in out.events:
            position += 1
            e.position = position  # before the encoding, which carries it
            if isinstance(e, StepEvent):
                step_id, attempt, agent_id = e.step_id, e.attempt, e.agent_id
            else:
                step_id, attempt, agent_id = "", 0, ""
            events.append(
                EventRow(
                    e.workflow_id,
                    e.seq,
                    e.type.value,
                    e.time,
                    step_id,
                    attempt,
                    agent_id,
                    encode(e),
                    position,
                )
            )
        self.position = position
        batch = WriteBatch(
            workflow_updates=[mapping.workflow_update(wf) for wf in out.workflows],
            step_updates=[mapping.step_update(s) for s in out.steps],
            events=events,
            agents=self._agents,
            pipe_updates=[mapping.pipe_update(s, j) for s, j in out.pipe_states.items()],
            pipe_records=[mapping.pipe_record(*r) for r in out.pipe_records],
            progress_updates=[mapping.progress_update(s, p[2]) for s, p in out.progress.items()],
        )
        self._agents = []
        return batch

    def _committed(
        self,
        out: Outbox,
        waiters: list[asyncio.Future[None]],
        skipped: list[str],
        exc: BaseException | None,
    ) -> None:
        self._committing = False
        self.commits += 1
        if exc is not None:
            # Nothing of this batch may be announced; callers waiting on it get the error.
            log.error("store commit failed; %d events withheld", len(out.events), exc_info=exc)
            self._failures += 1
            self._roll_back(out)
            # The first line: PostgreSQL adds CONTEXT and DETAIL lines callers need not see.
            cause = (str(exc).strip().splitlines() or [repr(exc)])[0]
            error = StoreUnavailable(f"the store could not commit: {cause}")
            for w in waiters:
                if not w.done():
                    w.set_exception(error)
        else:
            self._failures = 0
            for wf, seq in out.last_seq.items():
                wf.stored_seq = seq
            self.skipped.update(skipped)
            self.events_committed += len(out.events)
            self._done(out, waiters)
        if self._pending() or self._new or self._agents or self._waiters:
            self.request()

    def _done(self, out: Outbox, waiters: list[asyncio.Future[None]]) -> None:
        self._announce(out)
        for w in waiters:
            if not w.done():
                w.set_result(None)


def _outcome(fut: asyncio.Future[list[str]]) -> tuple[list[str], BaseException | None]:
    """(skipped ids, None) of a write that succeeded, ([], the error) of one that failed."""
    exc = fut.exception()
    return ([], exc) if exc is not None else (fut.result(), None)
