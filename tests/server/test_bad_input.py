"""A table of bad and extreme input across every method (issue 7, "a fault suite").

Each case sends one kind of bad input to a real server (port 0, its own SQLite
file) and expects a named status code with a message naming the field, a server
that still answers a health check, and unchanged row counts. Agent-side abuse
that the protocol acknowledges and ignores (results for unknown, foreign or
finished attempts) expects the stream to stay open and end OK when the agent
half-closes, with nothing stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from dwe.server.app import DweServer
from dwe.v1 import agent_pb2, common_pb2, enums_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

from ..conftest import WAIT
from .helpers import connect_raw_agent
from .raw import METHODS, call_raw, healthy, path_of, row_counts, writer_idle

S = workflow_pb2.StepSpec
OK = grpc.StatusCode.OK
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
EXISTS = grpc.StatusCode.ALREADY_EXISTS
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
YEAR = 365 * 24 * 3600
JSON = "json/plain"


@dataclass
class Ctx:
    """What a case acts on. ``mark()`` takes the row counts the case must leave as they
    are; cases that set something up first call it after their setup."""

    server: DweServer
    channel: grpc.aio.Channel
    before: dict[str, int] = field(default_factory=dict)
    # Streams of the setup, kept open until the rows have been counted.
    keep: list[Any] = field(default_factory=list)

    def mark(self) -> None:
        self.before = row_counts(self.server.config.db_path)


Outcome = tuple[grpc.StatusCode, str]
Act = Callable[[Ctx], Awaitable[Outcome]]


@dataclass(frozen=True)
class Case:
    act: Act
    code: grpc.StatusCode
    fragment: str


# -- calls -------------------------------------------------------------------------------


def _outcome(err: grpc.aio.AioRpcError | None) -> Outcome:
    return (OK, "") if err is None else (err.code(), err.details() or "")


async def _call(ctx: Ctx, method: str, request: Message) -> Outcome:
    service = next(s for s, m in METHODS if m == method)
    return _outcome(await call_raw(ctx.channel, service, method, request.SerializeToString()))


def call(method: str, request: Message) -> Act:
    async def act(ctx: Ctx) -> Outcome:
        return await _call(ctx, method, request)

    return act


def raw(method: str, data: bytes) -> Act:
    service = next(s for s, m in METHODS if m == method)

    async def act(ctx: Ctx) -> Outcome:
        return _outcome(await call_raw(ctx.channel, service, method, data))

    return act


def create(spec: workflow_pb2.WorkflowSpec | None = None, **kw: Any) -> Act:
    return call("CreateWorkflow", rr.CreateWorkflowRequest(spec=spec, **kw))


def spec(*steps: workflow_pb2.StepSpec, **kw: Any) -> workflow_pb2.WorkflowSpec:
    return workflow_pb2.WorkflowSpec(
        name=kw.pop("name", "wf"), steps=list(steps or [S(step_id="a", capability="x")]), **kw
    )


def step(**kw: Any) -> workflow_pb2.StepSpec:
    kw.setdefault("step_id", "a")
    kw.setdefault("capability", "x")
    durations = {k: kw.pop(k) for k in list(kw) if isinstance(kw[k], Duration)}
    msg = S(**kw)
    for name, value in durations.items():
        getattr(msg, name).CopyFrom(value)
    return msg


def timed_spec(value: Duration) -> workflow_pb2.WorkflowSpec:
    msg = spec()
    msg.default_timeout.CopyFrom(value)
    return msg


def register(**kw: Any) -> Act:
    kw.setdefault("agent_id", "reg")
    if "capabilities" not in kw:
        kw["capabilities"] = ["x"]
    return call("RegisterAgent", rr.RegisterAgentRequest(agent=agent_pb2.AgentInfo(**kw)))


async def _stream_end(call: Any) -> Outcome:
    try:
        while await asyncio.wait_for(call.read(), WAIT) is not grpc.aio.EOF:
            pass
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return await call.code(), await call.details()


def connect(*messages: agent_pb2.ConnectRequest | bytes) -> Act:
    """A raw Connect stream that sends ``messages`` then half-closes."""

    async def act(ctx: Ctx) -> Outcome:
        path = path_of("AgentService", "Connect")
        stream = ctx.channel.stream_stream(path, _bytes, agent_pb2.ConnectResponse.FromString)
        c = stream(timeout=WAIT)
        for m in messages:
            await c.write(m if isinstance(m, bytes) else m.SerializeToString())
        await c.done_writing()
        return await _stream_end(c)

    return act


def hello(**kw: Any) -> agent_pb2.ConnectRequest:
    kw.setdefault("agent_id", "bad")
    if "capabilities" not in kw:
        kw["capabilities"] = ["x"]
    return agent_pb2.ConnectRequest(hello=agent_pb2.Hello(**kw))


def _bytes(data: bytes) -> bytes:
    return data


# -- agent-side abuse with setup ----------------------------------------------------------


async def _assigned(ctx: Ctx, agent_id: str = "holder") -> tuple[Any, agent_pb2.Assignment]:
    """A live raw agent holding the one step of a started workflow."""
    holder, _ = await connect_raw_agent(ctx.channel, agent_id, ["x"])
    stub = service_pb2_grpc.WorkflowServiceStub(ctx.channel)
    created = await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec()))
    await stub.StartWorkflow(rr.StartWorkflowRequest(workflow_id=created.workflow_id))
    (assignment,) = (await asyncio.wait_for(holder.read(), WAIT)).assignments
    return holder, assignment


def _result(attempt_id: str) -> agent_pb2.ConnectRequest:
    output = common_pb2.Payload(encoding=JSON, data=b"{}")
    return agent_pb2.ConnectRequest(
        results=[agent_pb2.StepResult(attempt_id=attempt_id, output=output)]
    )


async def _duplicate_session(ctx: Ctx) -> Outcome:
    live, _ = await connect_raw_agent(ctx.channel, "twin", ["x"])
    ctx.mark()
    outcome = await connect(hello(agent_id="twin"))(ctx)
    assert ctx.server.coordinator.agent("twin").connected  # the first one stays
    ctx.keep.append(live)
    return outcome


async def _foreign_result(ctx: Ctx) -> Outcome:
    holder, assignment = await _assigned(ctx)
    ctx.mark()
    outcome = await connect(hello(agent_id="thief"), _result(assignment.attempt_id))(ctx)
    stub = service_pb2_grpc.WorkflowServiceStub(ctx.channel)
    status = await stub.GetWorkflowStatus(
        rr.GetWorkflowStatusRequest(workflow_id=assignment.workflow_id)
    )
    assert status.status.steps[0].state == enums_pb2.STEP_STATE_ASSIGNED  # still the holder's
    ctx.keep.append(holder)
    return outcome


async def _duplicate_result(ctx: Ctx) -> Outcome:
    holder, assignment = await _assigned(ctx)
    await holder.write(_result(assignment.attempt_id))
    # Events are published only once committed: the terminal one means the
    # first result is stored.
    stub = service_pb2_grpc.WorkflowServiceStub(ctx.channel)
    watch = stub.WatchWorkflow(rr.WatchWorkflowRequest(workflow_id=assignment.workflow_id))
    events = [e async for r in watch for e in r.events]
    assert events[-1].type == enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED
    ctx.mark()
    await holder.write(_result(assignment.attempt_id))  # again, on the same session
    await holder.done_writing()
    return await _stream_end(holder)


def _many(n: int, length: int = 1) -> list[str]:
    return [f"{i:0{length}d}" for i in range(n)]


# -- the table ---------------------------------------------------------------------------

GARBAGE = b"\xff\xff\xff\xff"
TRUNCATED = b"\x0a\x10only-part"
BAD_UTF8 = b"\x0a\x02\xc3\x28"

CASES: dict[str, Case] = {
    # Raw bytes to every method.
    **{
        f"garbage-{m}": Case(raw(m, GARBAGE), INVALID, f"not a valid dwe.v1.{m}Request")
        for _, m in METHODS
        if m != "Connect"
    },
    "garbage-Connect": Case(raw("Connect", GARBAGE), INVALID, "not a valid dwe.v1.ConnectRequest"),
    "truncated-CreateWorkflow": Case(raw("CreateWorkflow", TRUNCATED), INVALID, "not a valid"),
    "truncated-RegisterAgent": Case(raw("RegisterAgent", TRUNCATED), INVALID, "not a valid"),
    "truncated-Connect": Case(raw("Connect", TRUNCATED), INVALID, "not a valid"),
    "utf8-GetWorkflowStatus": Case(raw("GetWorkflowStatus", BAD_UTF8), INVALID, "UTF-8"),
    "utf8-AnalyzeIntent": Case(raw("AnalyzeIntent", BAD_UTF8), INVALID, "UTF-8"),
    "utf8-Connect-hello": Case(
        raw("Connect", b"\x0a\x04\x0a\x02\xc3\x28"), INVALID, "ConnectRequest"
    ),
    # CreateWorkflow: the spec.
    "no-spec": Case(create(), INVALID, "spec is required"),
    "empty-name": Case(create(spec(name=" ")), INVALID, "spec.name is empty"),
    "name-1001": Case(create(spec(name="n" * 1001)), INVALID, "spec.name is longer than 1000"),
    "description-10001": Case(
        create(spec(description="d" * 10_001)), INVALID, "spec.description is longer than 10000"
    ),
    "no-steps": Case(create(workflow_pb2.WorkflowSpec(name="wf")), INVALID, "no steps"),
    "100001-steps": Case(
        create(spec(*[S(step_id=str(i), capability="x") for i in range(100_001)])),
        INVALID,
        "100001 steps exceed the limit of 100000",
    ),
    "step-id-201": Case(create(spec(step(step_id="s" * 201))), INVALID, "step_id is longer than"),
    "step-id-nul": Case(create(spec(step(step_id="a\x00b"))), INVALID, "control character"),
    "step-id-newline": Case(create(spec(step(step_id="a\nb"))), INVALID, "control character"),
    "duplicate-step": Case(create(spec(step(), step())), INVALID, "duplicate step_id 'a'"),
    "unknown-dependency": Case(
        create(spec(step(dependencies=["ghost"]))), INVALID, "unknown dependency 'ghost'"
    ),
    "dependency-20k": Case(
        create(spec(step(dependencies=["g" * 20_000]))), INVALID, "dependencies[0] is longer"
    ),
    "self-dependency": Case(create(spec(step(dependencies=["a"]))), INVALID, "depends on itself"),
    "dependency-twice": Case(
        create(spec(step(step_id="b"), step(dependencies=["b", "b"]))), INVALID, "listed twice"
    ),
    "cycle": Case(
        create(spec(step(dependencies=["b"]), step(step_id="b", dependencies=["a"]))),
        INVALID,
        "dependency cycle: a -> b -> a",
    ),
    "no-capability": Case(create(spec(step(capability=""))), INVALID, "capability is empty"),
    "capability-201": Case(create(spec(step(capability="c" * 201))), INVALID, "capability is"),
    "agent-type-201": Case(create(spec(step(agent_type="t" * 201))), INVALID, "agent_type is"),
    "step-name-1001": Case(create(spec(step(name="n" * 1001))), INVALID, "name is longer"),
    "step-description-10001": Case(
        create(spec(step(description="d" * 10_001))), INVALID, "description is longer"
    ),
    "dependency-nul": Case(
        create(spec(step(step_id="b"), step(dependencies=["b", "b\x00"]))),
        INVALID,
        "steps[1] ('a'): dependencies[1] contains a control character",
    ),
    "retries-negative": Case(create(spec(step(retry_count=-1))), INVALID, "retry_count -1"),
    "retries-101": Case(create(spec(step(retry_count=101))), INVALID, "retry_count 101"),
    "backoff-nan": Case(
        create(spec(step(backoff_coefficient=float("nan")))), INVALID, "backoff_coefficient"
    ),
    "backoff-half": Case(create(spec(step(backoff_coefficient=0.5))), INVALID, "backoff_coeff"),
    "backoff-101": Case(create(spec(step(backoff_coefficient=101))), INVALID, "backoff_coeff"),
    "batch-negative": Case(create(spec(step(pipeline_batch_size=-1))), INVALID, "pipeline_batch"),
    "batch-10001": Case(create(spec(step(pipeline_batch_size=10_001))), INVALID, "pipeline_batch"),
    "timeout-3e11": Case(
        create(spec(step(timeout=Duration(seconds=300_000_000_000)))),
        INVALID,
        "steps[0] ('a'): timeout of 300000000000 s exceeds the maximum",
    ),
    "timeout-negative": Case(
        create(spec(step(timeout=Duration(seconds=-1)))), INVALID, "timeout must not be negative"
    ),
    "timeout-year+1": Case(
        create(spec(step(timeout=Duration(seconds=YEAR + 1)))), INVALID, "timeout of"
    ),
    "retry-delay-bad-nanos": Case(
        create(spec(step(retry_delay=Duration(seconds=1, nanos=-1)))),
        INVALID,
        "retry_delay is not a valid Duration",
    ),
    "max-retry-delay-year+1": Case(
        create(spec(step(max_retry_delay=Duration(seconds=YEAR + 1)))), INVALID, "max_retry_delay"
    ),
    "estimate-negative": Case(
        create(spec(step(estimated_duration=Duration(nanos=-1)))), INVALID, "estimated_duration"
    ),
    "schedule-to-start-year+1": Case(
        create(spec(step(schedule_to_start_timeout=Duration(seconds=YEAR + 1)))),
        INVALID,
        "schedule_to_start_timeout",
    ),
    "default-timeout-int64": Case(
        create(timed_spec(Duration(seconds=2**63 - 1))), INVALID, "spec.default_timeout"
    ),
    "parallel-negative": Case(
        create(spec(max_parallel_steps=-1)), INVALID, "spec.max_parallel_steps -1"
    ),
    "parallel-100001": Case(
        create(spec(max_parallel_steps=100_001)), INVALID, "spec.max_parallel_steps 100001"
    ),
    "bad-priority": Case(create(spec(priority=42)), INVALID, "spec.priority"),
    "bad-mode": Case(create(spec(execution_mode=9)), INVALID, "spec.execution_mode"),
    "context-not-json": Case(
        create(spec(context=common_pb2.Payload(encoding=JSON, data=b"{nope"))),
        INVALID,
        "spec.context: not valid JSON",
    ),
    "context-list": Case(
        create(spec(context=common_pb2.Payload(data=b"[1]"))), INVALID, "spec.context: must be"
    ),
    "context-encoding": Case(
        create(spec(context=common_pb2.Payload(encoding="x" * 5000, data=b"{}"))),
        INVALID,
        "spec.context: encoding",
    ),
    # Sizes: a payload past --max-payload-bytes (2 MiB), a message past
    # --max-message-bytes (4 MiB).
    "context-over-payload": Case(
        create(spec(context=common_pb2.Payload(data=b'{"b":"%s"}' % (b"x" * (2 << 20))))),
        EXHAUSTED,
        "spec.context is 2.0 MiB (2097160 bytes), over the payload limit",
    ),
    "context-over-message": Case(
        create(spec(context=common_pb2.Payload(data=b'{"b":"%s"}' % (b"x" * (5 << 20))))),
        EXHAUSTED,
        "Received message larger than max",
    ),
    "start-context-over-payload": Case(
        call(
            "StartWorkflow",
            rr.StartWorkflowRequest(
                workflow_id="w", context=common_pb2.Payload(data=b"{}" + b" " * (2 << 20))
            ),
        ),
        EXHAUSTED,
        "context is 2.0 MiB",
    ),
    "register-config-over-payload": Case(
        register(config=common_pb2.Payload(data=b"{}" + b" " * (2 << 20))),
        EXHAUSTED,
        "config is 2.0 MiB",
    ),
    "status-step-ids-1001": Case(
        call(
            "GetWorkflowStatus", rr.GetWorkflowStatusRequest(workflow_id="w", step_ids=_many(1001))
        ),
        INVALID,
        "number of step_ids 1001 exceeds",
    ),
    "context-300-deep": Case(
        create(spec(context=common_pb2.Payload(data=b'{"a":' * 300 + b"1" + b"}" * 300))),
        INVALID,
        "spec.context: JSON nested deeper than 64 levels",
    ),
    "labels-65": Case(
        create(spec(labels=dict.fromkeys(_many(65), "v"))), INVALID, "65 labels exceed"
    ),
    "label-key-empty": Case(create(spec(labels={"": "v"})), INVALID, "label key is empty"),
    "label-value-1001": Case(
        create(spec(labels={"k": "v" * 1001})), INVALID, "spec.labels['k'] is longer"
    ),
    "transformations-101": Case(
        create(
            spec(
                step(
                    data_transformations=[
                        workflow_pb2.DataTransformation(type="map") for _ in range(101)
                    ]
                )
            )
        ),
        INVALID,
        "number of data_transformations 101",
    ),
    "transformation-unknown": Case(
        create(spec(step(data_transformations=[workflow_pb2.DataTransformation(type="boom")]))),
        INVALID,
        "data_transformations[0]",
    ),
    "request-id-201": Case(create(spec(), request_id="r" * 201), INVALID, "request_id is longer"),
    # The other WorkflowService methods.
    "start-empty-id": Case(
        call("StartWorkflow", rr.StartWorkflowRequest()), INVALID, "workflow_id is empty"
    ),
    "start-unknown": Case(
        call("StartWorkflow", rr.StartWorkflowRequest(workflow_id="nope")), NOT_FOUND, "'nope'"
    ),
    "start-id-20k": Case(
        call("StartWorkflow", rr.StartWorkflowRequest(workflow_id="w" * 20_000)),
        INVALID,
        "workflow_id is longer than 200",
    ),
    "start-context": Case(
        call(
            "StartWorkflow",
            rr.StartWorkflowRequest(workflow_id="w", context=common_pb2.Payload(data=b"7")),
        ),
        INVALID,
        "context: must be a JSON object",
    ),
    "start-session-201": Case(
        call("StartWorkflow", rr.StartWorkflowRequest(workflow_id="w", session_id="s" * 201)),
        INVALID,
        "session_id is longer",
    ),
    "execute-unknown": Case(
        call("ExecuteWorkflow", rr.ExecuteWorkflowRequest(workflow_id="nope")), NOT_FOUND, "nope"
    ),
    "watch-after-negative": Case(
        call("WatchWorkflow", rr.WatchWorkflowRequest(workflow_id="w", after_seq=-1)),
        INVALID,
        "after_seq -1 must not be negative",
    ),
    "watch-after-2^53": Case(
        call("WatchWorkflow", rr.WatchWorkflowRequest(workflow_id="w", after_seq=2**53)),
        INVALID,
        "after_seq 9007199254740992 exceeds",
    ),
    "watch-unknown": Case(
        call("WatchWorkflow", rr.WatchWorkflowRequest(workflow_id="nope")), NOT_FOUND, "'nope'"
    ),
    "events-bad-type": Case(
        call("WatchEvents", rr.WatchEventsRequest(types=[99])), INVALID, "types: unknown"
    ),
    "events-1001-ids": Case(
        call("WatchEvents", rr.WatchEventsRequest(workflow_ids=_many(1001))),
        INVALID,
        "number of workflow_ids 1001",
    ),
    "events-id-201": Case(
        call("WatchEvents", rr.WatchEventsRequest(workflow_ids=["w" * 201])),
        INVALID,
        "workflow_ids[0] is longer",
    ),
    "status-empty-id": Case(
        call("GetWorkflowStatus", rr.GetWorkflowStatusRequest()), INVALID, "workflow_id is empty"
    ),
    "status-unknown": Case(
        call("GetWorkflowStatus", rr.GetWorkflowStatusRequest(workflow_id="nope")),
        NOT_FOUND,
        "workflow 'nope' not found",
    ),
    "status-nul-id": Case(
        call("GetWorkflowStatus", rr.GetWorkflowStatusRequest(workflow_id="\x00")),
        INVALID,
        "workflow_id contains a control character",
    ),
    "list-page-negative": Case(
        call("ListWorkflows", rr.ListWorkflowsRequest(page_size=-1)), INVALID, "page_size -1"
    ),
    "list-page-1001": Case(
        call("ListWorkflows", rr.ListWorkflowsRequest(page_size=1001)), INVALID, "page_size 1001"
    ),
    "list-page-max-int": Case(
        call("ListWorkflows", rr.ListWorkflowsRequest(page_size=2**31 - 1)), INVALID, "page_size"
    ),
    "list-token": Case(
        call("ListWorkflows", rr.ListWorkflowsRequest(page_token="garbage!")),
        INVALID,
        "page_token",
    ),
    "list-state": Case(
        call("ListWorkflows", rr.ListWorkflowsRequest(states=[99])), INVALID, "states: unknown"
    ),
    "cancel-unknown": Case(
        call("CancelWorkflow", rr.CancelWorkflowRequest(workflow_id="nope")), NOT_FOUND, "nope"
    ),
    "cancel-reason-10001": Case(
        call("CancelWorkflow", rr.CancelWorkflowRequest(workflow_id="w", reason="r" * 10_001)),
        INVALID,
        "reason is longer",
    ),
    "intent-10001": Case(
        call("AnalyzeIntent", rr.AnalyzeIntentRequest(message="m" * 10_001)),
        INVALID,
        "message is longer",
    ),
    "start-intent-empty": Case(
        call("StartIntent", rr.StartIntentRequest(message=" ")), INVALID, "message is empty"
    ),
    "start-intent-context": Case(
        call(
            "StartIntent",
            rr.StartIntentRequest(message="hi", context=common_pb2.Payload(data=b"[")),
        ),
        INVALID,
        "context: not valid JSON",
    ),
    # EngineService.RegisterAgent.
    "register-no-agent": Case(
        call("RegisterAgent", rr.RegisterAgentRequest()), INVALID, "agent.agent_id is empty"
    ),
    "register-id-100k": Case(
        register(agent_id="a" * 100_000), INVALID, "agent.agent_id is longer than 200"
    ),
    "register-no-capabilities": Case(register(capabilities=[]), INVALID, "capabilities is empty"),
    "register-empty-capability": Case(
        register(capabilities=["x", ""]), INVALID, "capabilities[1] is empty"
    ),
    "register-capability-control": Case(
        register(capabilities=["x\ty"]), INVALID, "control character"
    ),
    "register-101-capabilities": Case(
        register(capabilities=_many(101)), INVALID, "number of capabilities 101"
    ),
    "register-tasks-negative": Case(
        register(max_concurrent_tasks=-1), INVALID, "max_concurrent_tasks -1"
    ),
    "register-tasks-10001": Case(
        register(max_concurrent_tasks=10_001), INVALID, "max_concurrent_tasks 10001 exceeds"
    ),
    "register-config": Case(
        register(config=common_pb2.Payload(data=b"{")), INVALID, "config: not valid JSON"
    ),
    "register-config-deep": Case(
        register(config=common_pb2.Payload(data=b'{"a":[' * 40 + b"1" + b"]}" * 40)),
        INVALID,
        "config: JSON nested deeper than 64",
    ),
    # AgentService.Connect: hello.
    "connect-no-hello": Case(
        connect(agent_pb2.ConnectRequest(started=["x"])), INVALID, "hello.agent_id"
    ),
    "connect-empty-id": Case(connect(hello(agent_id="")), INVALID, "hello.agent_id"),
    "connect-id-201": Case(
        connect(hello(agent_id="a" * 201)), INVALID, "hello.agent_id is longer than 200"
    ),
    "connect-id-nul": Case(connect(hello(agent_id="a\x00")), INVALID, "control character"),
    "connect-no-capabilities": Case(
        connect(hello(capabilities=[])), INVALID, "hello.capabilities is empty"
    ),
    "connect-empty-capability": Case(
        connect(hello(capabilities=[""])), INVALID, "hello.capabilities[0] is empty"
    ),
    "connect-101-capabilities": Case(
        connect(hello(capabilities=_many(101))), INVALID, "number of hello.capabilities"
    ),
    "connect-65-labels": Case(
        connect(hello(labels=dict.fromkeys(_many(65), "v"))), INVALID, "hello.labels: 65"
    ),
    "connect-label-1001": Case(
        connect(hello(labels={"k": "v" * 1001})), INVALID, "hello.labels['k']"
    ),
    "connect-tasks-negative": Case(
        connect(hello(max_concurrent_tasks=-1)), INVALID, "hello.max_concurrent_tasks -1"
    ),
    "connect-tasks-10001": Case(
        connect(hello(max_concurrent_tasks=10_001)), INVALID, "hello.max_concurrent_tasks 10001"
    ),
    "connect-held-10001": Case(
        connect(hello(held_attempt_ids=_many(10_001))), INVALID, "hello.held_attempt_ids"
    ),
    "connect-held-id-201": Case(
        connect(hello(held_attempt_ids=["h" * 201])), INVALID, "held_attempt_ids[0] is longer"
    ),
    # AgentService.Connect: after hello.
    "connect-hello-twice": Case(
        connect(hello(), hello()), INVALID, "hello is allowed only in the first message"
    ),
    "connect-garbage-after-hello": Case(
        connect(hello(), GARBAGE), INVALID, "not a valid dwe.v1.ConnectRequest"
    ),
    "connect-duplicate-agent-id": Case(
        _duplicate_session, EXISTS, "agent 'twin' already has a live session"
    ),
    "connect-unknown-attempt-result": Case(connect(hello(), _result("nope")), OK, ""),
    "connect-unknown-attempt-started": Case(
        connect(hello(), agent_pb2.ConnectRequest(started=["nope", "x" * 10_000])), OK, ""
    ),
    "connect-unknown-attempt-progress": Case(
        connect(
            hello(),
            agent_pb2.ConnectRequest(progress=[agent_pb2.StepProgress(attempt_id="nope")]),
        ),
        OK,
        "",
    ),
    "connect-foreign-attempt-result": Case(_foreign_result, OK, ""),
    "connect-duplicate-result": Case(_duplicate_result, OK, ""),
}


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    methods = {m for _, m in METHODS}
    assert methods <= {k.removeprefix("garbage-") for k in CASES if k.startswith("garbage-")}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_bad_input(server: DweServer, case: Case) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        ctx = Ctx(server, channel)
        ctx.mark()
        code, details = await case.act(ctx)
        assert code == case.code, (code, details[:500])
        assert case.fragment in details, details[:500]
        assert len(details.encode()) <= 4096
        assert await healthy(channel)
        # Nothing of the bad input was stored: any commit it asked for has been
        # handed to the writer by now (the call or stream ended before the health
        # check), and writer_idle waits for that commit to finish.
        await writer_idle(server)
        assert row_counts(server.config.db_path) == ctx.before
        for kept in ctx.keep:
            kept.cancel()


# -- at the limit: accepted ---------------------------------------------------------------

AT_LIMIT = {
    "name-1000": spec(name="n" * 1000),
    "step-id-200": spec(step(step_id="s" * 200)),
    "retries-100": spec(step(retry_count=100)),
    "backoff-100": spec(step(backoff_coefficient=100)),
    "batch-10000": spec(step(pipeline_batch_size=10_000)),
    "timeout-year": spec(step(timeout=Duration(seconds=YEAR))),
    "labels-64": spec(labels=dict.fromkeys(_many(64), "v" * 1000)),
    "parallel-100000": spec(max_parallel_steps=100_000),
    "emoji-id": spec(step(step_id="\U0001f600" * 200, capability="\u00e9" * 200)),
    # Not printable, yet no control character: the slow path of the check lets it by.
    "soft-hyphen-id": spec(step(step_id="a\u00adb"), step(step_id="c", dependencies=["a\u00adb"])),
}


@pytest.mark.parametrize("good_spec", list(AT_LIMIT.values()), ids=list(AT_LIMIT))
async def test_values_at_the_limit_are_accepted(
    server: DweServer, good_spec: workflow_pb2.WorkflowSpec
) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        created = await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=good_spec))
        assert created.created
        status = await stub.GetWorkflowStatus(
            rr.GetWorkflowStatusRequest(workflow_id=created.workflow_id)
        )
        assert status.status.name == good_spec.name
    assert row_counts(server.config.db_path)["workflows"] == 1


async def test_agent_at_the_limits_connects(server: DweServer) -> None:
    h = agent_pb2.Hello(
        agent_id="a" * 200,
        capabilities=_many(100, 3),
        max_concurrent_tasks=10_000,
        labels=dict.fromkeys(_many(64), "v" * 1000),
        held_attempt_ids=_many(10_000),
    )
    async with grpc.aio.insecure_channel(server.address) as channel:
        c = service_pb2_grpc.AgentServiceStub(channel).Connect()
        await c.write(agent_pb2.ConnectRequest(hello=h))
        first = await asyncio.wait_for(c.read(), WAIT)
        assert first.HasField("welcome")
        assert len(first.welcome.dropped_attempt_ids) == 10_000
        c.cancel()
