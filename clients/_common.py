"""Request builders, defaults and trace metadata of the typed client core."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeAlias, cast

from dwe.clients.errors import ValidationError
from dwe.common.enums import WorkflowState
from dwe.common.namespaces import names
from dwe.common.wire import encode_json
from dwe.v1 import common_pb2, enums_pb2, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_RPC_TIMEOUT = 30.0

Metadata: TypeAlias = tuple[tuple[str, str], ...]
#: A start context: a JSON object, an already encoded Payload, or nothing.
Context: TypeAlias = Mapping[str, Any] | common_pb2.Payload | None
#: A workflow state filter: a member, its name (any case) or its proto number.
StateFilter: TypeAlias = WorkflowState | str | int
#: A namespace filter: names (empty: every namespace the caller may see), or one name.
Namespaces: TypeAlias = Iterable[str] | str


def trace_metadata() -> Metadata:
    """The caller's OpenTelemetry context (W3C traceparent, tracestate, baggage) as metadata.

    Empty when no span is active, so untraced callers pay only the lookup.
    """
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple((k.lower(), v) for k, v in carrier.items())


def context_payload(context: Context) -> common_pb2.Payload | None:
    """A start context (dict, Payload or None) as a Payload."""
    if context is None:
        return None
    if isinstance(context, common_pb2.Payload):
        return context
    if not isinstance(context, Mapping):
        raise ValidationError("context must be a dict (a JSON object)")
    return encode_json(dict(context), where="context")


def create_request(
    spec: workflow_pb2.WorkflowSpec, request_id: str | None, namespace: str = ""
) -> rr.CreateWorkflowRequest:
    """CreateWorkflowRequest with a fresh request_id when none is given."""
    return rr.CreateWorkflowRequest(
        request_id=request_id or uuid.uuid4().hex, spec=spec, namespace=namespace
    )


def _set_context(field: common_pb2.Payload, context: Context) -> None:
    payload = context_payload(context)
    if payload is not None:
        field.CopyFrom(payload)


def start_request(
    workflow_id: str, context: Context, session_id: str | None
) -> rr.StartWorkflowRequest:
    """StartWorkflowRequest with the context encoded."""
    request = rr.StartWorkflowRequest(workflow_id=workflow_id, session_id=session_id or "")
    _set_context(request.context, context)
    return request


def execute_request(
    workflow_id: str, context: Context, session_id: str | None
) -> rr.ExecuteWorkflowRequest:
    """ExecuteWorkflowRequest with the context encoded."""
    request = rr.ExecuteWorkflowRequest(workflow_id=workflow_id, session_id=session_id or "")
    _set_context(request.context, context)
    return request


def intent_request(
    message: str,
    context: Context,
    session_id: str | None,
    request_id: str | None,
    namespace: str = "",
) -> rr.StartIntentRequest:
    """StartIntentRequest with a fresh request_id when none is given."""
    request = rr.StartIntentRequest(
        message=message,
        session_id=session_id or "",
        request_id=request_id or uuid.uuid4().hex,
        namespace=namespace,
    )
    _set_context(request.context, context)
    return request


def watch_events_request(
    types: Iterable[int | str], workflow_ids: Iterable[str], namespaces: Namespaces = ()
) -> rr.WatchEventsRequest:
    """WatchEventsRequest; types as EventType numbers or guide names (``"agent_started"``)."""
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
    # Enum fields take plain numbers at run time; the generated stubs only name the enum type.
    return rr.WatchEventsRequest(
        types=cast(list[enums_pb2.EventType], numbers),
        workflow_ids=list(workflow_ids),
        namespaces=names(namespaces),
    )


def list_request(
    page_size: int,
    page_token: str,
    states: Iterable[StateFilter],
    namespaces: Namespaces = (),
    name_prefix: str = "",
    created: tuple[datetime | None, datetime | None] = (None, None),
) -> rr.ListWorkflowsRequest:
    """ListWorkflowsRequest; states as WorkflowState members, names or numbers; created
    as (at or after, before), timezone-aware or UTC."""
    numbers = [WorkflowState.parse(s).to_proto() for s in states]
    request = rr.ListWorkflowsRequest(
        page_size=page_size,
        page_token=page_token,
        states=cast(list[enums_pb2.WorkflowState], numbers),
        namespaces=names(namespaces),
        name_prefix=name_prefix,
    )
    for field, instant in zip(("created_after", "created_before"), created, strict=True):
        if instant is not None:
            getattr(request, field).FromDatetime(instant)
    return request
