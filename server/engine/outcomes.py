"""Pure helpers for step outcomes: transformed outputs and a run's final output."""

from __future__ import annotations

from typing import Any

import orjson

from .model import JSON_ENCODING, Blob, ErrorInfo, StepState, Transformation
from .runs import WorkflowRun
from .transforms import apply_transformations


def transform_output(
    output: Blob | None, transformations: tuple[Transformation, ...]
) -> tuple[Blob | None, ErrorInfo | None]:
    """Apply a step's data transformations to its JSON output."""
    if output is not None and output.encoding not in (JSON_ENCODING, ""):
        return None, ErrorInfo(
            f"data transformations need {JSON_ENCODING} output, got {output.encoding!r}",
            "TransformError",
            False,
        )
    try:
        value = orjson.loads(output.data) if output is not None and output.data else None
        value = apply_transformations(value, transformations)
    except Exception as exc:  # user data of any shape: every failure fails the step
        return None, ErrorInfo(f"data transformation failed: {exc}", "TransformError", False)
    return Blob(JSON_ENCODING, orjson.dumps(value)), None


def final_output(wf: WorkflowRun, now: float) -> dict[str, Any]:
    """The guide's final_output of a run."""
    begin = wf.started_at or wf.created_at
    return {
        "success_rate": wf.completed / wf.total if wf.total else 0.0,
        "total_execution_time": (wf.finished_at or now) - begin,
        "results": {s.spec.step_id: s.output for s in wf.order if s.state is StepState.COMPLETED},
        "completed_steps": wf.completed,
        "failed_steps": wf.failed,
        "skipped_steps": wf.skipped,
        "total_steps": wf.total,
    }
