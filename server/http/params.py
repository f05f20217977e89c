"""Query parameters of the HTTP API, read into dwe.v1 requests; a bad one is a
``BadParam`` that names it (the gateway answers 400 INVALID_ARGUMENT)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2
from multidict import MultiMapping

from dwe.v1 import enums_pb2
from dwe.v1 import request_response_pb2 as rr


class BadParam(ValueError):
    """A query parameter or body field the API cannot use."""


def _ints(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadParam(f"{name}: {text!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadParam(f"{name}: {value} is not between {low} and {high}")
    return value


def _enum(enum: Any, prefix: str, name: str, text: str) -> int:
    """An enum value by its full name (WORKFLOW_STATE_RUNNING) or its short one (running)."""
    key = text.strip().upper()
    for candidate in (key, prefix + key):
        if candidate in enum.DESCRIPTOR.values_by_name and not candidate.endswith("_UNSPECIFIED"):
            return int(enum.Value(candidate))
    raise BadParam(f"{name}: unknown value {text!r}")


def _instant(name: str, text: str) -> timestamp_pb2.Timestamp:
    """RFC 3339 (``2026-12-03T10:00:00Z``) or epoch seconds."""
    stamp = timestamp_pb2.Timestamp()
    try:
        moment = datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadParam(f"{name}: {text!r} is neither RFC 3339 nor epoch seconds") from None
    except (OverflowError, OSError):
        raise BadParam(f"{name}: {text!r} is out of range") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp.FromDatetime(moment)
    return stamp


def list_request(query: MultiMapping[str]) -> rr.ListWorkflowsRequest:
    """GET /api/v1/workflows?state=&namespace=&name=&since=&until=&pageSize=&pageToken="""
    request = rr.ListWorkflowsRequest(
        page_token=query.get("pageToken", ""),
        name_prefix=query.get("name", ""),
        namespaces=query.getall("namespace", []),
    )
    states = [
        _enum(enums_pb2.WorkflowState, "WORKFLOW_STATE_", "state", s)
        for s in query.getall("state", [])
    ]
    request.states.extend(states)  # type: ignore[arg-type]
    if "pageSize" in query:
        request.page_size = _ints("pageSize", query["pageSize"], 0, 1000)
    if "since" in query:
        request.created_after.CopyFrom(_instant("since", query["since"]))
    if "until" in query:
        request.created_before.CopyFrom(_instant("until", query["until"]))
    return request


def watch_request(query: MultiMapping[str], headers: Mapping[str, str]) -> rr.WatchEventsRequest:
    """GET /api/v1/events?workflowId=&type=&namespace=&afterPosition= ; an EventSource's
    Last-Event-ID (the last position it saw) wins over afterPosition."""
    request = rr.WatchEventsRequest(
        workflow_ids=query.getall("workflowId", []), namespaces=query.getall("namespace", [])
    )
    types = [_enum(enums_pb2.EventType, "EVENT_TYPE_", "type", t) for t in query.getall("type", [])]
    request.types.extend(types)  # type: ignore[arg-type]
    after = headers.get("Last-Event-ID") or query.get("afterPosition")
    if after:
        request.after_position = _ints("afterPosition", after, 0, 2**62)
    return request


def cancel_request(workflow_id: str, body: Any) -> rr.CancelWorkflowRequest:
    """POST /api/v1/workflows/{id}/cancel with an optional {"reason": "..."}."""
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    if not isinstance(reason, str):
        raise BadParam("reason: must be a string")
    return rr.CancelWorkflowRequest(workflow_id=workflow_id, reason=reason)
