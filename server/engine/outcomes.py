"""Pure helpers for step outcomes: transformed outputs and a run's bounded summary."""

from __future__ import annotations

import json

from .events import RunSummary
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
        value = json.loads(output.data) if output is not None and output.data else None
        value = apply_transformations(value, transformations)
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except Exception as exc:  # user data of any shape: every failure fails the step
        return None, ErrorInfo(f"data transformation failed: {exc}", "TransformError", False)
    return Blob(JSON_ENCODING, data.encode()), None


def run_summary(wf: WorkflowRun, now: float, inline_limit: int) -> RunSummary:
    """The guide's final_output of a run, with outputs inline up to ``inline_limit`` bytes.

    Outputs go inline in declaration order while they fit together; the ones
    that do not are named in ``omitted_results`` (clients read them from the
    run's status), so a terminal event stays small however large the outputs.
    """
    begin = wf.started_at or wf.created_at
    results: dict[str, Blob | None] = {}
    omitted: list[str] = []
    room = inline_limit
    for s in wf.order:
        if s.state is not StepState.COMPLETED:
            continue
        size = len(s.output.data) if s.output is not None else 0
        if size <= room:
            results[s.spec.step_id] = s.output
            room -= size
        else:
            omitted.append(s.spec.step_id)
    return RunSummary(
        success_rate=wf.completed / wf.total if wf.total else 0.0,
        total_execution_time=(wf.finished_at or now) - begin,
        results=results,
        omitted_results=tuple(omitted),
        completed_steps=wf.completed,
        failed_steps=wf.failed,
        skipped_steps=wf.skipped,
        cancelled_steps=wf.cancelled,
        total_steps=wf.total,
        error_message=wf.error_message,
    )
