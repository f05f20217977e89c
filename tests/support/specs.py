"""Builders shared by the table tests: step specs, JSON blobs, the guide's example graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from dwe.server.engine.model import JSON_ENCODING, Blob, StepSpec, WorkflowSpec


def S(
    step_id: str,
    *deps: str,
    cap: str = "c",
    est: float = 0.0,
    batch: int = 0,
    agent_type: str = "",
    **kw: Any,
) -> StepSpec:
    """A step with dependencies ``deps`` on capability ``cap`` (plus any StepSpec field)."""
    return StepSpec(
        step_id,
        dependencies=deps,
        capability=cap,
        estimated_duration=est,
        pipeline_batch_size=batch,
        agent_type=agent_type,
        **kw,
    )


def js(value: Any) -> Blob:
    """A json/plain blob of ``value``."""
    return Blob(JSON_ENCODING, orjson.dumps(value))


def unjs(blob: Blob | None) -> Any:
    """The value of a json/plain blob (None for no blob)."""
    return None if blob is None else orjson.loads(blob.data)


# The guide's account-analysis workflow: each step's dependencies, and its estimated seconds.
GUIDE = {
    "fetch_account_data": [],
    "analyze_risk": ["fetch_account_data"],
    "get_historical_context": ["fetch_account_data"],
    "generate_recommendations": ["analyze_risk", "get_historical_context"],
}
GUIDE_TIMES = {
    "fetch_account_data": 5.0,
    "analyze_risk": 3.0,
    "get_historical_context": 2.0,
    "generate_recommendations": 4.0,
}


@dataclass
class Row:
    """Anything with StoredStep's attributes will do."""

    step_id: str
    state: str = "pending"
    attempt: int = 0
    agent_id: str = ""
    attempt_id: str = ""
    assigned_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    output: Blob | None = None
    error_message: str = ""
    error_type: str = ""
    pipe: str = ""
    progress: int = 0


@dataclass
class WorkflowRow:
    """Anything with StoredWorkflow's attributes will do."""

    workflow_id: str
    spec: WorkflowSpec
    steps: list[Row]
    state: str = "running"
    request_id: str = "req-1"
    created_at: float = 0.0
    started_at: float = 1.0
    session_id: str = "sess"
    context: dict[str, Any] = field(default_factory=lambda: {"user": "u1"})
    last_seq: int = 7
    namespace: str = "default"
    records: list[tuple[str, str, int, Blob | None]] = field(default_factory=list)


#: The guide's account-analysis diamond as guide-style step dicts: fetch, then analyze and
#: history in parallel, then recommend (W2's shape).
DIAMOND = [
    {"step_id": "fetch", "agent_capability": "data_fetch"},
    {"step_id": "analyze", "agent_capability": "analysis", "dependencies": ["fetch"]},
    {"step_id": "history", "agent_capability": "memory", "dependencies": ["fetch"]},
    {
        "step_id": "recommend",
        "agent_capability": "recommendation",
        "dependencies": ["analyze", "history"],
    },
]
