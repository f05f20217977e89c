"""W2 callers that survive server crashes: each creates a diamond (with a request id,
so a create retried across a crash is idempotent), runs it with ExecuteWorkflow and
follows it to its end, resuming with ``after_seq`` whenever the stream breaks.

Every seq a caller receives is kept, so the checks can tell a gap or a repeat.
Failed calls are retried when their code says the server was away (UNAVAILABLE,
CANCELLED, DEADLINE_EXCEEDED); every such failure is counted by call and code.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from dwe.clients import DweError, FailedPreconditionError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.common.backoff import backoff_delay
from dwe.v1 import enums_pb2, workflow_pb2

from ..support.specs import DIAMOND

T = TypeVar("T")

STEPS = len(DIAMOND)
TERMINAL = frozenset(
    {
        enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED,
        enums_pb2.EVENT_TYPE_WORKFLOW_FAILED,
        enums_pb2.EVENT_TYPE_WORKFLOW_CANCELLED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT,
    }
)
#: Codes that mean "the server was away or could not commit": the call is retried.
RETRIED = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
#: Reconnect quickly after a restart (gRPC's default backoff grows to two minutes).
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 300),
]


def fault_client(address: str) -> DweClient:
    """A client whose calls wait (up to 20 s) for a restarting server to listen again."""
    return DweClient(address, options=CHANNEL_OPTIONS, rpc_timeout=20.0, wait_for_ready=True)


@dataclass
class Caller:
    """One workflow as its caller saw it."""

    request_id: str
    context: dict[str, object] = field(default_factory=dict)
    workflow_id: str = ""
    acknowledged: bool = False
    seqs: list[int] = field(default_factory=list)
    terminal: int = 0
    resumes: int = 0
    #: "call CODE: details" of each retried failure.
    failures: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(default_factory=random.Random)

    @property
    def done(self) -> bool:
        return self.terminal != 0


class Load:
    """Callers launched in batches, each following its workflow in a task."""

    def __init__(self, client: DweClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.callers: list[Caller] = []
        self.tasks: list[asyncio.Task[None]] = []

    def launch(self, n: int) -> None:
        for _ in range(n):
            i = len(self.callers)
            caller = Caller(f"faults-{i}", {"n": i})
            caller.rng = random.Random(self.rng.random())
            self.callers.append(caller)
            self.tasks.append(asyncio.create_task(follow(self.client, caller)))

    def acknowledged(self) -> int:
        return sum(c.acknowledged for c in self.callers)

    async def settle(self, timeout: float) -> list[str]:
        """Wait for every caller; those still running after ``timeout`` seconds are
        cancelled (their workflows then count as lost). Returns what callers raised."""
        if not self.tasks:
            return []
        done, pending = await asyncio.wait(self.tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        return [f"a caller raised {t.exception()!r}" for t in done if t.exception() is not None]


def diamond_spec(caller: Caller) -> workflow_pb2.WorkflowSpec:
    return build_workflow_spec("W2-faults", DIAMOND, context=caller.context)


async def retrying(caller: Caller, call: str, fn: Callable[[], Awaitable[T]]) -> T:
    """``fn()`` until it returns; failures with a RETRIED code are counted and retried
    after a short jittered backoff (docs/protocol.md: UNAVAILABLE means retry)."""
    attempt = 0
    while True:
        try:
            return await fn()
        except DweError as err:
            if err.code not in RETRIED:
                raise
            caller.failures[f"{call} {err.code.name}: {err.details[:160]}"] += 1
        attempt += 1
        await asyncio.sleep(_pause(caller, attempt))


def _pause(caller: Caller, n: int) -> float:
    """Seconds before retry ``n``: 20 ms doubling to 0.5 s, jittered."""
    return backoff_delay(n, 0.02, 2.0, 0.5, 0.5, caller.rng.random())


async def follow(client: DweClient, caller: Caller) -> None:
    """Create, execute and follow one diamond to its end, across any number of crashes."""
    spec = diamond_spec(caller)
    created = await retrying(
        caller, "create", lambda: client.create_workflow(spec, caller.request_id)
    )
    caller.workflow_id, caller.acknowledged = created.workflow_id, True
    await _consume(caller, client.execute_workflow(caller.workflow_id), "execute")
    if caller.done:
        return
    if not caller.seqs:  # the start may not have been committed
        await retrying(caller, "start", lambda: _start(client, caller.workflow_id))
    idle = 0  # resumes in a row that received nothing
    while not caller.done:
        if idle:
            await asyncio.sleep(_pause(caller, idle))
        caller.resumes += 1
        seen = len(caller.seqs)
        after = caller.seqs[-1] if caller.seqs else 0
        await _consume(caller, client.watch_workflow(caller.workflow_id, after), "watch")
        idle = idle + 1 if len(caller.seqs) == seen else 0


async def _start(client: DweClient, workflow_id: str) -> None:
    with contextlib.suppress(FailedPreconditionError):  # started before the crash
        await client.start_workflow(workflow_id)


async def _consume(
    caller: Caller, stream: AsyncGenerator[workflow_pb2.WorkflowEvent, None], call: str
) -> None:
    """Keep the seq of each event until the terminal one or a retried failure."""
    try:
        async with contextlib.aclosing(stream):
            async for event in stream:
                caller.seqs.append(event.seq)
                if event.type in TERMINAL:
                    caller.terminal = event.type
                    return
    except DweError as err:
        if err.code not in RETRIED:
            raise
        caller.failures[f"{call} {err.code.name}: {err.details[:160]}"] += 1
        return
    caller.failures[f"{call} ended before the terminal event"] += 1
