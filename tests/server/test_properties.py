"""Property tests of the api edge (issue 7): validation and the event/status encodings.

- Any WorkflowSpec, Hello or AgentInfo hypothesis can build either validates or
  raises ValidationError, never another exception; what validates has every
  number within its documented bound, and can be stored and encoded.
- Any bytes given to a request decoder give a message or an Undecodable marker.
- Every domain event and status view with values the edge lets in encodes, and
  decodes back to the same values (and into the Python client's dicts).
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import orjson
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dwe.clients.events import event_to_dict, status_to_dict
from dwe.server.api import limits as L
from dwe.server.api.agent_checks import hello_from_proto, registration_from_proto, result_seconds
from dwe.server.api.convert import status_to_proto
from dwe.server.api.event_codec import EVENT_TYPES_IN, event_bytes
from dwe.server.api.handlers import Undecodable, decoder
from dwe.server.api.validation import ValidationError, spec_from_proto
from dwe.server.api.wire import (
    MODES_OUT,
    PRIORITIES_OUT,
    STEP_STATES,
    WORKFLOW_STATES,
    WORKFLOW_STATES_IN,
)
from dwe.server.engine import events as ev
from dwe.server.engine.model import (
    Blob,
    ErrorInfo,
    ExecutionMode,
    Priority,
    StepState,
    WorkflowSpec,
    WorkflowState,
)
from dwe.server.runtime.views import StatusView, StepStatusView
from dwe.server.store.codec import spec_from_json, spec_to_json
from dwe.v1 import agent_pb2, common_pb2, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
# Protobuf strings are UTF-8: no lone surrogates (the decoder refuses those bytes).
CHARS = st.characters(blacklist_categories=("Cs",))
TEXT = st.text(CHARS, max_size=12)


# How much of one drawn value is bad: nothing, a little, or anything (the same for
# every field of one test case), so that valid specs are drawn as often as broken ones.
CHAOS = st.shared(st.sampled_from(["clean", "some", "wild"]), key="chaos")


def mostly(good: st.SearchStrategy[Any], *bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good``, or sometimes one of ``bad``, as the test case's CHAOS says."""

    def choose(level: str) -> st.SearchStrategy[Any]:
        if level == "clean" or not bad:
            return good
        if level == "wild":
            return st.one_of(good, *bad)
        return st.integers(0, 9).flatmap(lambda i: st.one_of(*bad) if i == 9 else good)

    return CHAOS.flatmap(choose)


def _around(limit: int) -> st.SearchStrategy[str]:
    return st.integers(limit - 2, limit + 2).map(lambda n: "x" * n)


IDS = mostly(
    st.sampled_from(["a", "b", "c", "d"]),
    st.just(""),
    TEXT,
    _around(L.MAX_ID_LENGTH),
    st.sampled_from(["a\x00", "a\nb", "\x7f", "\u0085", "\U0001f600" * 201]),
)


def _counts(limit: int) -> st.SearchStrategy[int]:
    return mostly(st.integers(0, 3), st.integers(-2, -1), st.integers(limit - 2, limit + 2), INT32)


DURATIONS = mostly(
    st.none() | st.builds(Duration, seconds=st.integers(0, 100), nanos=st.integers(0, 999)),
    st.builds(Duration, seconds=INT64, nanos=INT32),
    st.builds(
        Duration,
        seconds=st.integers(-2, int(L.MAX_DURATION) + 2),
        nanos=st.integers(-1_000_000_000, 1_000_000_000),
    ),
    st.builds(Duration, seconds=st.just(int(L.MAX_DURATION)), nanos=st.integers(-1, 1)),
)
JSON = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


PAYLOADS = mostly(
    st.none()
    | st.builds(
        common_pb2.Payload,
        encoding=st.sampled_from(["", "json/plain"]),
        data=st.dictionaries(TEXT, JSON, max_size=3).map(orjson.dumps),
    ),
    st.builds(
        common_pb2.Payload,
        encoding=st.sampled_from(["", "json/plain", "application/x-rot13"]),
        data=st.one_of(
            JSON.map(orjson.dumps),
            st.binary(max_size=20),
            st.integers(60, 70).map(_nested),
            st.integers(250, 300).map(_nested),
        ),
    ),
)
TRANSFORMATIONS = st.builds(
    workflow_pb2.DataTransformation,
    type=st.sampled_from(["filter", "map", "aggregate", "explode", ""]),
    params=st.one_of(
        st.builds(
            common_pb2.Payload,
            data=st.sampled_from(
                [
                    b'{"criteria": {"s": {"equals": 1}}}',
                    b'{"select": ["a"]}',
                    b'{"operation": "sum", "field": "x"}',
                    b"{}",
                    b"[",
                ]
            ),
        ),
        PAYLOADS.filter(lambda p: p is not None),
    ),
)
LABELS = mostly(
    st.dictionaries(st.text(CHARS, min_size=1, max_size=8), TEXT, max_size=4),
    st.dictionaries(TEXT, TEXT, max_size=4),
    st.dictionaries(st.text(CHARS, min_size=1, max_size=3), st.just("v"), min_size=63, max_size=66),
    st.builds(dict, st.just([("k", "v" * L.MAX_LABEL_VALUE_LENGTH)])),
    st.builds(dict, st.just([("k" * (L.MAX_LABEL_KEY_LENGTH + 1), "v")])),
)
STEP_DURATION_FIELDS = (
    "timeout",
    "retry_delay",
    "max_retry_delay",
    "estimated_duration",
    "schedule_to_start_timeout",
)


@st.composite
def steps(draw: st.DrawFn, ids: list[str], index: int) -> workflow_pb2.StepSpec:
    """Step ``index``; with ``ids`` its id is ids[index] and it depends on earlier ones."""
    msg = workflow_pb2.StepSpec(
        step_id=draw(mostly(st.just(ids[index]), IDS) if ids else IDS),
        name=draw(mostly(TEXT, _around(L.MAX_NAME_LENGTH))),
        description=draw(TEXT),
        agent_type=draw(mostly(st.just(""), IDS)),
        capability=draw(mostly(st.just("analysis"), IDS)),
        dependencies=draw(
            mostly(
                st.lists(st.sampled_from(ids[:index]), max_size=2, unique=True)
                if ids[:index]
                else st.just([]),
                st.lists(IDS, max_size=3),
            )
        ),
        retry_count=draw(_counts(L.MAX_RETRIES)),
        backoff_coefficient=draw(
            mostly(st.sampled_from([0.0, 1.0, 2.0, 100.0]), st.floats(), st.just(100.5))
        ),
        optional=draw(st.booleans()),
        pipeline_batch_size=draw(_counts(L.MAX_PIPELINE_BATCH)),
        data_transformations=draw(mostly(st.just([]), st.lists(TRANSFORMATIONS, max_size=2))),
    )
    for name in STEP_DURATION_FIELDS:
        value = draw(DURATIONS)
        if value is not None:
            getattr(msg, name).CopyFrom(value)
    return msg


@st.composite
def specs(draw: st.DrawFn) -> workflow_pb2.WorkflowSpec:
    ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=4, unique=True))
    n = draw(mostly(st.just(len(ids)), st.integers(0, 5)))
    pool = ids[:n] if n <= len(ids) else []
    msg = workflow_pb2.WorkflowSpec(
        name=draw(mostly(st.just("wf"), TEXT, _around(L.MAX_NAME_LENGTH))),
        description=draw(TEXT),
        steps=[draw(steps(pool, i)) for i in range(n)],
        priority=draw(mostly(st.integers(0, 5), INT32)),
        execution_mode=draw(mostly(st.integers(0, 4), INT32)),
        max_parallel_steps=draw(_counts(L.MAX_STEPS)),
        labels=draw(LABELS),
    )
    context = draw(PAYLOADS)
    if context is not None:
        msg.context.CopyFrom(context)
    timeout = draw(DURATIONS)
    if timeout is not None:
        msg.default_timeout.CopyFrom(timeout)
    return msg


def _id_ok(value: str) -> bool:
    return len(value) <= L.MAX_ID_LENGTH and not any(
        ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value
    )


def _encodable(seconds: float) -> None:
    """A deadline this far from now encodes as a Timestamp, the span as a Duration."""
    Timestamp().FromNanoseconds(int((time.time() + seconds) * 1e9))
    Duration().FromNanoseconds(int(seconds * 1e9))


def _check_bounds(spec: WorkflowSpec) -> None:
    assert 0 <= spec.max_parallel_steps <= L.MAX_STEPS
    assert len(spec.labels) <= L.MAX_LABELS
    assert len(spec.name) <= L.MAX_NAME_LENGTH
    assert spec.default_timeout is None or 0 < spec.default_timeout <= L.MAX_DURATION
    assert 1 <= len(spec.steps) <= L.MAX_STEPS
    for s in spec.steps:
        assert s.step_id and _id_ok(s.step_id)
        assert s.capability and _id_ok(s.capability)
        assert all(_id_ok(d) for d in s.dependencies)
        assert 0 <= s.retry_count <= L.MAX_RETRIES
        assert 1 <= s.backoff_coefficient <= L.MAX_BACKOFF_COEFFICIENT
        assert 0 <= s.pipeline_batch_size <= L.MAX_PIPELINE_BATCH
        assert len(s.transformations) <= L.MAX_TRANSFORMATIONS
        spans = [s.retry_delay, s.estimated_duration]
        spans += [v for v in (s.timeout, s.max_retry_delay, s.schedule_to_start_timeout) if v]
        for value in spans:
            assert math.isfinite(value) and 0 <= value <= L.MAX_DURATION
            _encodable(value)
        # The longest wait the engine derives: the retry cap (100 x delay when unset).
        _encodable(s.max_retry_delay or s.retry_delay * 100)


@SETTINGS
@given(specs())
def test_any_spec_validates_or_raises_validation_error(msg: workflow_pb2.WorkflowSpec) -> None:
    try:
        spec = spec_from_proto(msg)
    except ValidationError as exc:
        assert len(str(exc)) < 2_000, str(exc)[:200]  # quoted input is cut short
        return
    _check_bounds(spec)
    # What validates can be stored: the store's JSON form reads back the same.
    assert spec_from_json(spec_to_json(spec)) == spec


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_request_or_a_marker(data: bytes) -> None:
    for cls in (rr.CreateWorkflowRequest, agent_pb2.ConnectRequest, rr.ListWorkflowsRequest):
        decoded = decoder(cls)(data)
        assert isinstance(decoded, cls | Undecodable)
        if isinstance(decoded, Undecodable):
            assert decoded.message.startswith(f"request is not a valid {cls.DESCRIPTOR.full_name}")
        elif isinstance(decoded, rr.CreateWorkflowRequest) and decoded.HasField("spec"):
            with contextlib.suppress(ValidationError):
                _check_bounds(spec_from_proto(decoded.spec))


@SETTINGS
@given(
    agent_id=IDS,
    agent_type=st.one_of(st.just(""), IDS),
    capabilities=st.one_of(
        st.lists(IDS, max_size=4), st.lists(st.just("c"), min_size=99, max_size=102)
    ),
    max_tasks=_counts(L.MAX_AGENT_TASKS),
    labels=LABELS,
    held=st.lists(IDS, max_size=3),
    registered=st.booleans(),
)
def test_any_hello_and_registration_validate_or_raise(
    agent_id: str,
    agent_type: str,
    capabilities: list[str],
    max_tasks: int,
    labels: dict[str, str],
    held: list[str],
    registered: bool,
) -> None:
    hello = agent_pb2.Hello(
        agent_id=agent_id,
        agent_type=agent_type,
        capabilities=capabilities,
        max_concurrent_tasks=max_tasks,
        labels=labels,
        held_attempt_ids=held,
    )
    try:
        h = hello_from_proto(hello, registered)
    except ValidationError:
        pass
    else:
        assert h.agent_id and _id_ok(h.agent_id) and _id_ok(h.agent_type)
        assert len(h.capabilities) <= L.MAX_CAPABILITIES
        assert all(c and _id_ok(c) for c in h.capabilities)
        assert 0 <= h.max_tasks <= L.MAX_AGENT_TASKS
        assert len(h.labels) <= L.MAX_LABELS and all(_id_ok(a) for a in h.held)
    info = agent_pb2.AgentInfo(
        agent_id=agent_id,
        agent_type=agent_type,
        capabilities=capabilities,
        max_concurrent_tasks=max_tasks,
    )
    try:
        reg = registration_from_proto(info)
    except ValidationError:
        return
    assert reg.agent_id and _id_ok(reg.agent_id)
    assert 1 <= reg.max_concurrent_tasks <= L.MAX_AGENT_TASKS
    assert 1 <= len(reg.capabilities) <= L.MAX_CAPABILITIES


@SETTINGS
@given(st.builds(Duration, seconds=INT64, nanos=INT32))
def test_any_result_duration_is_a_bounded_hint(duration: Duration) -> None:
    seconds = result_seconds(duration, "attempt")
    assert 0 <= seconds <= L.MAX_DURATION
    _encodable(seconds)


# -- event and status encodings ------------------------------------------------------------

# What the server's own values can be: clock times up to year 2200, spans up to the
# longest retry wait the edge allows (100 x 365 days).
TIMES = st.floats(0, 7.3e9, allow_nan=False)
SPANS = st.floats(0, 100 * L.MAX_DURATION, allow_nan=False)
SEQS = st.integers(1, L.MAX_SEQ)
BLOBS = st.builds(
    Blob,
    encoding=st.sampled_from(["json/plain", "application/octet-stream"]),
    data=st.binary(max_size=30),
    metadata=st.dictionaries(TEXT, TEXT, max_size=2).map(lambda d: tuple(sorted(d.items()))),
)
ERRORS = st.builds(ErrorInfo, TEXT, TEXT, st.booleans())
STEP = {
    "workflow_id": TEXT,
    "seq": SEQS,
    "time": TIMES,
    "step_id": TEXT,
    "step_name": TEXT,
    "attempt": st.integers(1, 2**31 - 1),
    "agent_id": TEXT,
}
SUMMARIES = st.builds(
    ev.RunSummary,
    success_rate=st.floats(0, 1),
    total_execution_time=SPANS,
    results=st.dictionaries(TEXT, st.none() | BLOBS, max_size=3),
    omitted_results=st.lists(TEXT, max_size=2).map(tuple),
    completed_steps=st.integers(0, L.MAX_STEPS),
    failed_steps=st.integers(0, L.MAX_STEPS),
    skipped_steps=st.integers(0, L.MAX_STEPS),
    cancelled_steps=st.integers(0, L.MAX_STEPS),
    total_steps=st.integers(0, L.MAX_STEPS),
    error_message=TEXT,
)
RUN = {"workflow_id": TEXT, "seq": SEQS, "time": TIMES}
OPENED = {
    **RUN,
    "name": TEXT,
    "session_id": TEXT,
    "context": BLOBS,
    "total_steps": st.integers(0, L.MAX_STEPS),
    "mode": st.sampled_from(list(ExecutionMode)),
    "priority": st.sampled_from(list(Priority)),
}
EVENTS = st.one_of(
    st.builds(ev.WorkflowStarted, **OPENED),
    st.builds(ev.WorkflowQueued, **OPENED),
    st.builds(ev.StepAssigned, **STEP, task=TEXT, capability=TEXT),
    st.builds(ev.StepStreamed, **STEP, content=TEXT, data=st.none() | BLOBS),
    st.builds(ev.StepCompleted, **STEP, output=st.none() | BLOBS, execution_time=SPANS),
    st.builds(
        ev.StepAttemptFailed, **STEP, error=ERRORS, will_retry=st.booleans(), execution_time=SPANS
    ),
    st.builds(ev.StepRetrying, **STEP, next_attempt=st.integers(1, 101), delay=SPANS, reason=TEXT),
    st.builds(ev.StepSkipped, **STEP, error=ERRORS, dependency=TEXT),
    st.builds(ev.WorkflowAdapted, **RUN, decision=TEXT, reason=TEXT, step_ids=st.tuples(TEXT)),
    *(
        st.builds(cls, **RUN, summary=SUMMARIES)
        for cls in (ev.WorkflowCompleted, ev.WorkflowFailed, ev.WorkflowCancelled)
    ),
    st.builds(ev.WorkflowTimedOut, **RUN, summary=SUMMARIES),
)


def _seconds(msg: Any) -> float:
    return float(msg.seconds + msg.nanos / 1e9)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=2e-6)


def _same_blob(msg: common_pb2.Payload, blob: Blob | None) -> bool:
    if blob is None:
        return msg.ByteSize() == 0
    return (msg.encoding, msg.data, tuple(sorted(msg.metadata.items()))) == (
        blob.encoding,
        blob.data,
        blob.metadata,
    )


def _check_detail(msg: workflow_pb2.WorkflowEvent, e: ev.Event) -> None:
    detail = getattr(msg, msg.WhichOneof("detail"))
    if isinstance(e, ev.StepCompleted):
        assert _same_blob(detail.output, e.output)
        assert _close(_seconds(detail.execution_time), e.execution_time)
    elif isinstance(e, ev.StepAttemptFailed):
        assert (detail.error.message, detail.error.type, detail.error.retryable) == e.error
        assert _close(_seconds(detail.execution_time), e.execution_time)
    elif isinstance(e, ev.StepRetrying):
        assert (detail.next_attempt, detail.reason) == (e.next_attempt, e.reason)
        assert _close(_seconds(detail.delay), e.delay)
    elif isinstance(e, ev.StepStreamed):
        assert detail.content == e.content
        assert _same_blob(detail.data, e.data)
    elif isinstance(e, ev.WorkflowStarted | ev.WorkflowQueued):
        assert (detail.name, detail.total_steps) == (e.name, e.total_steps)
        assert (detail.execution_mode, detail.priority) == (
            MODES_OUT[e.mode],
            PRIORITIES_OUT[e.priority],
        )
        assert _same_blob(detail.context, e.context)
    elif isinstance(e, ev.RunEnded):
        s = detail.summary
        assert s.error_message == e.summary.error_message
        assert (s.completed_steps, s.total_steps) == (
            e.summary.completed_steps,
            e.summary.total_steps,
        )
        assert _close(_seconds(s.total_execution_time), e.summary.total_execution_time)
        assert set(s.results) == set(e.summary.results)
        for step_id, blob in e.summary.results.items():
            assert _same_blob(s.results[step_id], blob)


@SETTINGS
@given(EVENTS)
def test_every_event_encodes_and_decodes_back(e: ev.Event) -> None:
    msg = workflow_pb2.WorkflowEvent.FromString(event_bytes(e))
    assert (msg.workflow_id, msg.seq, EVENT_TYPES_IN[msg.type]) == (e.workflow_id, e.seq, e.type)
    assert _close(msg.time.ToNanoseconds() / 1e9, e.time)
    if isinstance(e, ev.StepEvent):
        assert (msg.step_id, msg.step_name, msg.attempt, msg.agent_id) == (
            e.step_id,
            e.step_name,
            e.attempt,
            e.agent_id,
        )
    _check_detail(msg, e)
    guide = event_to_dict(msg)  # and the Python client reads it
    assert guide["seq"] == e.seq and guide["event"] == e.type.name.lower()


STEP_VIEWS = st.builds(
    StepStatusView,
    step_id=TEXT,
    name=TEXT,
    capability=TEXT,
    state=st.sampled_from(list(StepState)),
    attempts=st.integers(0, L.MAX_RETRIES + 1),
    agent_id=TEXT,
    execution_time=SPANS,
    output=st.none() | BLOBS,
    error=st.none() | ERRORS,
)
STATUSES = st.builds(
    StatusView,
    workflow_id=TEXT,
    name=TEXT,
    description=TEXT,
    state=st.sampled_from(list(WorkflowState)),
    priority=st.sampled_from(list(Priority)),
    mode=st.sampled_from(list(ExecutionMode)),
    progress=st.floats(0, 1),
    current_step=TEXT,
    total_execution_time=SPANS,
    created_at=TIMES,
    started_at=TIMES,
    finished_at=TIMES,
    last_seq=st.integers(0, L.MAX_SEQ),
    error_message=TEXT,
    total_steps=st.integers(0, L.MAX_STEPS),
    completed_steps=st.integers(0, L.MAX_STEPS),
    steps=st.lists(STEP_VIEWS, max_size=3),
)


@SETTINGS
@given(STATUSES)
def test_every_status_encodes_and_decodes_back(v: StatusView) -> None:
    msg = workflow_pb2.WorkflowStatus.FromString(status_to_proto(v).SerializeToString())
    assert (msg.workflow_id, msg.name, msg.last_seq, msg.error_message) == (
        v.workflow_id,
        v.name,
        v.last_seq,
        v.error_message,
    )
    assert WORKFLOW_STATES_IN[msg.state] is v.state and msg.state == WORKFLOW_STATES[v.state]
    assert msg.progress == v.progress
    assert _close(_seconds(msg.total_execution_time), v.total_execution_time)
    assert _close(msg.created_at.ToNanoseconds() / 1e9, v.created_at)
    assert len(msg.steps) == len(v.steps)
    for got, want in zip(msg.steps, v.steps, strict=True):
        assert (got.step_id, got.state, got.attempts) == (
            want.step_id,
            STEP_STATES[want.state],
            want.attempts,
        )
        assert _close(_seconds(got.execution_time), want.execution_time)
        assert _same_blob(got.output, want.output)
        if want.error is not None:
            assert (got.error.message, got.error.type, got.error.retryable) == want.error
    assert status_to_dict(msg)["last_seq"] == v.last_seq
