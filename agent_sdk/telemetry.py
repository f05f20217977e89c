"""OpenTelemetry for the agent: the handler span and exporter set-up from OTEL_* env."""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger("dwe.agent_sdk")

#: Tracer for handler spans; a proxy until an SDK provider is installed.
tracer = trace.get_tracer("dwe.agent_sdk")

_PROPAGATOR = TraceContextTextMapPropagator()
_NOOP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_installed: Any = None


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

    ``OTEL_TRACES_EXPORTER`` is a comma-separated list: ``console`` prints spans,
    ``otlp`` exports with the OTLP exporter when its package is importable (a
    warning otherwise), ``none`` or unset installs nothing. The service name is
    ``OTEL_SERVICE_NAME`` when set. Calling it again is a no-op.

    Args:
        service_name: Default ``service.name`` resource attribute.

    Returns:
        The installed ``TracerProvider``, or None when nothing was installed.
    """
    global _installed
    if _installed is not None:
        return _installed
    names = [
        n.strip().lower()
        for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if n.strip() and n.strip().lower() != "none"
    ]
    exporters = [e for e in (_exporter(n) for n in names) if e is not None]
    if not exporters:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _installed = provider
    logger.info("tracing enabled, exporters=%s", ",".join(names))
    return provider


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        )
        modules = ["opentelemetry.exporter.otlp.proto.grpc.trace_exporter"]
        http = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
        if protocol.startswith("http"):
            modules.insert(0, http)
        else:
            modules.append(http)
        for module in modules:
            try:
                mod = __import__(module, fromlist=["OTLPSpanExporter"])
            except ImportError:
                continue
            return mod.OTLPSpanExporter()
        logger.warning("OTEL_TRACES_EXPORTER=otlp but no OTLP exporter package is installed")
        return None
    logger.warning("unsupported OTEL_TRACES_EXPORTER value %r ignored", name)
    return None
