"""OpenTelemetry for the agent: the handler span, and exporters from the OTEL_* environment.

The environment is read by ``dwe.common.otel``, as the server and ``dwe agent`` read it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from dwe.common.otel import configure_tracing

#: Tracer for handler spans; a proxy until an SDK provider is installed.
tracer = trace.get_tracer("dwe.agent_sdk")

_PROPAGATOR = TraceContextTextMapPropagator()
_NOOP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def tracing_enabled() -> bool:
    """True when a real TracerProvider is installed (so spans are worth making)."""
    return not isinstance(trace.get_tracer_provider(), _NOOP_PROVIDERS)


def parent_context(traceparent: str, tracestate: str) -> Context | None:
    """Extract the server's step-span context from W3C headers (None if absent)."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _PROPAGATOR.extract(carrier)


def configure_from_env(service_name: str = "dwe-agent") -> Any:
    """Install an SDK TracerProvider as the standard ``OTEL_*`` variables ask.

    ``OTEL_TRACES_EXPORTER`` is a comma list of ``console`` and ``otlp`` (``none``
    or unset: nothing is installed); the rest is in ``dwe.common.otel`` and
    docs/configuration.md. Calling it again returns the provider installed first.

    Args:
        service_name: ``service.name`` unless ``OTEL_SERVICE_NAME`` (or a
            ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) sets one.

    Returns:
        The installed ``TracerProvider``, or None when tracing is off.
    """
    return configure_tracing(service_name)
