"""Pieces shared by the async and sync typed clients: request builders and trace metadata."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from dwe.clients.errors import ValidationError
from dwe.common.enums import WorkflowState
from dwe.common.wire import encode_json
from dwe.v1 import common_pb2, enums_pb2, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_RPC_TIMEOUT = 30.0

Metadata = tuple[tuple[str, str], ...]


def trace_metadata() -> Metadata:
    """The caller's OpenTelemetry context (W3C traceparent, tracestate, baggage) as metadata.

    Empty when no span is active, so untraced callers pay only the lookup.
    """
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple((k.lower(), v) for k, v in carrier.items())


def context_payload(context: Any) -> common_pb2.Payload | None:
    """A start context (dict, Payload or None) as a Payload."""
    if context is None:
        return None
    if isinstance(context, common_pb2.Payload):
        return context
    if not isinstance(context, Mapping):
        raise ValidationError("context must be a dict (a JSON object)")
    return encode_json(dict(context), where="context")


def create_request(spec: workflow_pb2.WorkflowSpec, request_id: str | None) -> Any:
    """CreateWorkflowRequest with a fresh request_id when none is given."""
    return rr.CreateWorkflowRequest(request_id=request_id or uuid.uuid4().hex, spec=spec)


def start_request(cls: Any, workflow_id: str, context: Any, session_id: str | None) -> Any:
    """StartWorkflowRequest or ExecuteWorkflowRequest (same fields)."""
    request = cls(workflow_id=workflow_id, session_id=session_id or "")
    payload = context_payload(context)
    if payload is not None:
        request.context.CopyFrom(payload)
    return request


def intent_request(
    message: str, context: Any, session_id: str | None, request_id: str | None
) -> Any:
    """StartIntentRequest with a fresh request_id when none is given."""
    request = rr.StartIntentRequest(
        message=message, session_id=session_id or "", request_id=request_id or uuid.uuid4().hex
    )
    payload = context_payload(context)
    if payload is not None:
        request.context.CopyFrom(payload)
    return request


def event_types(types: Iterable[int | str]) -> list[int]:
    """EventType numbers from numbers or guide names (``"agent_started"``)."""
    numbers = []
    for t in types:
        if isinstance(t, int):
            numbers.append(t)
            continue
        name = str(t).upper()
        try:
            numbers.append(
                enums_pb2.EventType.Value(
                    name if name.startswith("EVENT_TYPE_") else f"EVENT_TYPE_{name}"
                )
            )
        except ValueError:
            raise ValidationError(f"unknown event type {t!r}") from None
    return numbers


def list_request(page_size: int, page_token: str, states: Iterable[Any]) -> Any:
    """ListWorkflowsRequest; states as WorkflowState members, names or numbers."""
    return rr.ListWorkflowsRequest(
        page_size=page_size,
        page_token=page_token,
        states=[WorkflowState.parse(s).to_proto() for s in states],
    )


ENGINE_METHODS = frozenset({"RegisterAgent", "ListAgents", "GetEngineMetrics"})
