"""Builders shared by the table tests: step specs, JSON blobs, the guide's example graph."""

from __future__ import annotations

from typing import Any

import orjson

from dwe.server.engine.model import JSON_ENCODING, Blob, StepSpec


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
