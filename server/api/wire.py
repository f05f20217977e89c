"""Small conversions between domain values and dwe.v1 wire types, and the enum tables."""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from dwe.v1 import common_pb2, enums_pb2

from ..engine.model import (
    JSON_ENCODING,
    Blob,
    ErrorInfo,
    ExecutionMode,
    Priority,
    StepState,
    WorkflowState,
)

_NS = 1_000_000_000

PRIORITIES_IN: dict[int, Priority] = {
    enums_pb2.WORKFLOW_PRIORITY_UNSPECIFIED: Priority.MEDIUM,
    **{enums_pb2.WorkflowPriority.Value(f"WORKFLOW_PRIORITY_{p.name}"): p for p in Priority},
}
PRIORITIES_OUT = {
    p: enums_pb2.WorkflowPriority.Value(f"WORKFLOW_PRIORITY_{p.name}") for p in Priority
}
MODES_IN: dict[int, ExecutionMode] = {
    enums_pb2.EXECUTION_MODE_UNSPECIFIED: ExecutionMode.PARALLEL,
    **{enums_pb2.ExecutionMode.Value(f"EXECUTION_MODE_{m.name}"): m for m in ExecutionMode},
}
MODES_OUT = {m: enums_pb2.ExecutionMode.Value(f"EXECUTION_MODE_{m.name}") for m in ExecutionMode}
WORKFLOW_STATES = {
    s: enums_pb2.WorkflowState.Value(f"WORKFLOW_STATE_{s.name}") for s in WorkflowState
}
WORKFLOW_STATES_IN = {v: k for k, v in WORKFLOW_STATES.items()}
STEP_STATES = {s: enums_pb2.StepState.Value(f"STEP_STATE_{s.name}") for s in StepState}


def set_time(ts: Timestamp, seconds: float) -> None:
    ts.FromNanoseconds(int(seconds * _NS))


def set_duration(d: Duration, seconds: float) -> None:
    d.FromNanoseconds(int(max(seconds, 0.0) * _NS))


def seconds_of(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def set_payload(msg: common_pb2.Payload, blob: Blob) -> None:
    """Write a blob into a Payload field in place (no intermediate message)."""
    msg.encoding = blob.encoding or JSON_ENCODING
    msg.data = blob.data
    if blob.metadata:
        msg.metadata.update(blob.metadata)


def payload(blob: Blob | None) -> common_pb2.Payload | None:
    if blob is None:
        return None
    msg = common_pb2.Payload()
    set_payload(msg, blob)
    return msg


def json_payload(value: Any) -> common_pb2.Payload:
    return common_pb2.Payload(encoding=JSON_ENCODING, data=orjson.dumps(value))


def blob_of(msg: common_pb2.Payload) -> Blob:
    """A received Payload as a domain Blob (empty encoding means json/plain)."""
    meta = tuple(sorted(msg.metadata.items())) if msg.metadata else ()
    return Blob(msg.encoding or JSON_ENCODING, msg.data, meta)


def error_info(err: ErrorInfo | None) -> common_pb2.ErrorInfo | None:
    if err is None:
        return None
    return common_pb2.ErrorInfo(message=err.message, type=err.type, retryable=err.retryable)
