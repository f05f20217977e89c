"""Reading outcomes: workflow results, attempt errors, payload values."""

from __future__ import annotations

import json
from typing import Any

from dwe.clients.spec import build_workflow_spec
from dwe.v1 import common_pb2, enums_pb2, workflow_pb2

Events = list[workflow_pb2.WorkflowEvent]
E = enums_pb2
Step = dict[str, Any]


def value(payload: common_pb2.Payload) -> Any:
    return json.loads(payload.data) if payload.data else None


def results(events: Events) -> dict[str, Any]:
    last = events[-1]
    assert last.type == E.EVENT_TYPE_WORKFLOW_COMPLETED, last
    return {k: value(v) for k, v in last.workflow_completed.summary.results.items()}


def errors(events: Events) -> list[tuple[str, bool]]:
    failed = [e.step_attempt_failed.error for e in events if e.type == E.EVENT_TYPE_AGENT_ERROR]
    return [(x.type, x.retryable) for x in failed]


def spec(steps: list[Step], **kw: Any) -> workflow_pb2.WorkflowSpec:
    return build_workflow_spec("conformance", steps, **kw)
