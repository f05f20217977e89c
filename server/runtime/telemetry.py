"""OpenTelemetry spans for workflow runs and step attempts, driven by committed events.

With no tracer provider configured (the default) every call is skipped, so the
hot path pays a dict lookup at most.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..engine import events as ev

_PROPAGATOR = TraceContextTextMapPropagator()
_NS = 1_000_000_000


def extract_context(metadata: Any) -> Context | None:
    """The caller's trace context from gRPC invocation metadata, if it sent one."""
    carrier = {k: v for k, v in (metadata or ()) if k in ("traceparent", "tracestate")}
    if "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


def _enabled(provider: Any) -> bool:
    return type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


class Telemetry:
    """Holds open spans keyed by workflow id and attempt id."""

    def __init__(self, provider: Any | None = None) -> None:
        provider = provider or trace.get_tracer_provider()
        self.enabled = _enabled(provider)
        self._tracer = trace.get_tracer("dwe.server", tracer_provider=provider)
        self._workflows: dict[str, Span] = {}
        self._steps: dict[str, Span] = {}
        self._parents: dict[str, Context] = {}

    def set_parent(self, workflow_id: str, metadata: Any) -> None:
        """Remember the caller's trace context (from gRPC metadata) for the run's span."""
        if not self.enabled:
            return
        ctx = extract_context(metadata)
        if ctx is not None:
            self._parents[workflow_id] = ctx

    def on_events(self, events: list[ev.Event]) -> None:
        if not self.enabled:
            return
        for e in events:
            if isinstance(e, ev.WorkflowStarted):
                self._start_workflow(e)
            elif isinstance(e, ev.StepAssigned):
                self._start_step(e)
            elif isinstance(e, ev.StepCompleted):
                self._end_step(e, "completed")
            elif isinstance(e, ev.StepAttemptFailed):
                self._end_step(e, "failed", e.error.message)
            elif isinstance(e, ev.StepRetrying):
                # Ends the span of an attempt lost with its agent (a failed one already ended).
                self._end_step(e, "lost", e.reason)
            elif isinstance(e, ev.RunEnded):
                self._end_workflow(e)

    def _start_workflow(self, e: ev.WorkflowStarted) -> None:
        parent = self._parents.pop(e.workflow_id, None)
        span = self._tracer.start_span(
            f"dwe.workflow {e.name}",
            context=parent,
            kind=SpanKind.SERVER,
            start_time=int(e.time * _NS),
            attributes={"dwe.workflow_id": e.workflow_id, "dwe.workflow_name": e.name},
        )
        self._workflows[e.workflow_id] = span

    def _start_step(self, e: ev.StepAssigned) -> None:
        parent = self._workflows.get(e.workflow_id)
        ctx = trace.set_span_in_context(parent) if parent is not None else None
        span = self._tracer.start_span(
            f"dwe.step {e.step_id}",
            context=ctx,
            kind=SpanKind.PRODUCER,
            start_time=int(e.time * _NS),
            attributes={
                "dwe.workflow_id": e.workflow_id,
                "dwe.step_id": e.step_id,
                "dwe.attempt": e.attempt,
                "dwe.agent_id": e.agent_id,
                "dwe.capability": e.capability,
            },
        )
        self._steps[f"{e.workflow_id}/{e.step_id}/{e.attempt}"] = span

    def carrier(self, workflow_id: str, step_id: str, attempt: int) -> tuple[str, str]:
        """traceparent and tracestate of an attempt's span, for the Assignment."""
        span = self._steps.get(f"{workflow_id}/{step_id}/{attempt}")
        if span is None or isinstance(span, NonRecordingSpan):
            return "", ""
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        return carrier.get("traceparent", ""), carrier.get("tracestate", "")

    def _end_step(self, e: ev.StepEvent, outcome: str, message: str = "") -> None:
        span = self._steps.pop(f"{e.workflow_id}/{e.step_id}/{e.attempt}", None)
        if span is None:
            return
        span.set_attribute("dwe.outcome", outcome)
        if outcome != "completed":
            span.set_status(Status(StatusCode.ERROR, message))
        span.end(end_time=int(e.time * _NS))

    def _end_workflow(self, e: ev.RunEnded) -> None:
        # Steps still open (cancelled) end with the workflow.
        prefix = f"{e.workflow_id}/"
        for key in [k for k in self._steps if k.startswith(prefix)]:
            span = self._steps.pop(key)
            span.set_attribute("dwe.outcome", "cancelled")
            span.end(end_time=int(e.time * _NS))
        run_span = self._workflows.pop(e.workflow_id, None)
        if run_span is None:
            return
        span = run_span
        state = str(e.state)
        span.set_attribute("dwe.outcome", state)
        if state != "completed":
            span.set_status(Status(StatusCode.ERROR, e.summary.error_message))
        span.end(end_time=int(e.time * _NS))
