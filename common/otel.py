"""The standard ``OTEL_*`` environment, read once into typed settings, and what it asks for.

The server, the agent SDK and ``dwe agent`` share this reading, so one set of
variables means the same thing in every process:

- ``OTEL_SDK_DISABLED=true`` turns everything off.
- ``OTEL_TRACES_EXPORTER``: a comma list of ``console``, ``otlp``, ``none``
  (the default: no tracing).
- ``OTEL_METRICS_EXPORTER``: a comma list of ``console``, ``otlp``,
  ``prometheus``, ``none`` (the default). Only the server has metrics;
  ``prometheus`` names the scrape text the server always offers
  (``dwe.server.runtime.prometheus``), so it adds no reader here.
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,k2=v2``,
  percent-encoded values) make the resource; the service name wins over a
  ``service.name`` in the attributes, and each process has its own default.
- ``OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]PROTOCOL``: ``http/protobuf`` (the
  spec's default) or ``grpc``. ``OTEL_EXPORTER_OTLP_[SIGNAL_]ENDPOINT``: a
  signal's own endpoint is used as it is; the shared one is a base URL to which
  HTTP appends ``v1/traces`` or ``v1/metrics`` (gRPC uses it as it is).
  Headers, timeouts, compression and certificates are read by the exporters
  themselves from their standard variables.

Unknown names are ignored with one warning line per variable. The OTLP exporters
come with ``pip install 'dwe[otlp]'``; without them ``otlp`` warns and exports nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from opentelemetry import trace

log = logging.getLogger("dwe.otel")

TRACES_EXPORTERS = ("console", "otlp")
METRICS_EXPORTERS = ("console", "otlp", "prometheus")
PROTOCOLS = ("http/protobuf", "grpc")
DEFAULT_PROTOCOL = "http/protobuf"
_DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}
_EXTRA_HINT = "pip install 'dwe[otlp]'"

_installed: Any = None  # the TracerProvider configure_tracing installed, once per process


@dataclass(frozen=True, slots=True)
class Otlp:
    """Where one signal's OTLP exporter sends: its protocol and its full endpoint."""

    protocol: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class OtelSettings:
    """What the ``OTEL_*`` variables ask of this process."""

    service_name: str
    resource_attributes: tuple[tuple[str, str], ...]
    traces_exporters: tuple[str, ...]
    metrics_exporters: tuple[str, ...]
    traces_otlp: Otlp
    metrics_otlp: Otlp
    disabled: bool = False

    @property
    def tracing(self) -> bool:
        return not self.disabled and bool(self.traces_exporters)


def read_settings(default_service: str, env: Mapping[str, str] | None = None) -> OtelSettings:
    """Read the ``OTEL_*`` variables (``os.environ`` unless ``env``); warns on unknown names."""
    env = os.environ if env is None else env
    attrs = _resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES", ""))
    service = env.get("OTEL_SERVICE_NAME", "").strip() or attrs.get("service.name", default_service)
    attrs["service.name"] = service
    return OtelSettings(
        service_name=service,
        resource_attributes=tuple(attrs.items()),
        traces_exporters=_exporters(env, "OTEL_TRACES_EXPORTER", TRACES_EXPORTERS),
        metrics_exporters=_exporters(env, "OTEL_METRICS_EXPORTER", METRICS_EXPORTERS),
        traces_otlp=_otlp(env, "TRACES", "v1/traces"),
        metrics_otlp=_otlp(env, "METRICS", "v1/metrics"),
        disabled=env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true",
    )


def _exporters(env: Mapping[str, str], variable: str, known: tuple[str, ...]) -> tuple[str, ...]:
    names = [n.strip().lower() for n in env.get(variable, "").split(",") if n.strip()]
    unknown = [n for n in names if n not in known and n != "none"]
    if unknown:
        log.warning(
            "%s: ignoring unknown exporter %s (supported: %s, none)",
            variable,
            ", ".join(repr(n) for n in unknown),
            ", ".join(known),
        )
    if "none" in names:
        return ()  # the spec: "none" means no exporter, whatever else is listed
    return tuple(dict.fromkeys(n for n in names if n in known))


def _resource_attributes(raw: str) -> dict[str, str]:
    """``k=v`` pairs, comma separated, values percent-decoded; a malformed list is
    dropped whole, as the spec says."""
    attrs: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            log.warning("OTEL_RESOURCE_ATTRIBUTES: %r is not key=value; all ignored", item)
            return {}
        attrs[key.strip()] = unquote(value.strip())
    return attrs


def _otlp(env: Mapping[str, str], signal: str, path: str) -> Otlp:
    variable = f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"
    raw = env.get(variable) or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or DEFAULT_PROTOCOL
    protocol = raw.strip().lower()
    if protocol not in PROTOCOLS:
        log.warning(
            "%s=%r is not supported (supported: %s); using %s",
            variable if env.get(variable) else "OTEL_EXPORTER_OTLP_PROTOCOL",
            raw,
            ", ".join(PROTOCOLS),
            DEFAULT_PROTOCOL,
        )
        protocol = DEFAULT_PROTOCOL
    own = env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "").strip()
    if own:
        return Otlp(protocol, own)
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or _DEFAULT_ENDPOINTS[protocol]
    if protocol == "grpc":
        return Otlp(protocol, base)
    return Otlp(protocol, base.rstrip("/") + "/" + path)


def make_resource(settings: OtelSettings) -> Any:
    """The SDK ``Resource`` of the settings (SDK defaults such as telemetry.sdk.* merged)."""
    from opentelemetry.sdk.resources import Resource

    return Resource.create(dict(settings.resource_attributes))


def span_exporters(settings: OtelSettings) -> list[Any]:
    """One SDK span exporter per name in ``OTEL_TRACES_EXPORTER`` that can be built."""
    out: list[Any] = []
    for name in settings.traces_exporters:
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            out.append(ConsoleSpanExporter())
        elif name == "otlp":
            exporter = _otlp_exporter(settings.traces_otlp, "trace_exporter", "OTLPSpanExporter")
            if exporter is not None:
                out.append(exporter)
    return out


def metric_readers(settings: OtelSettings) -> list[Any]:
    """Periodic readers for ``console`` and ``otlp`` in ``OTEL_METRICS_EXPORTER``.

    The interval is the reader's own ``OTEL_METRIC_EXPORT_INTERVAL`` (60 s by default).
    """
    if settings.disabled:
        return []
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )

    exporters: list[Any] = []
    for name in settings.metrics_exporters:
        if name == "console":
            exporters.append(ConsoleMetricExporter())
        elif name == "otlp":
            otlp = _otlp_exporter(settings.metrics_otlp, "metric_exporter", "OTLPMetricExporter")
            if otlp is not None:
                exporters.append(otlp)
    return [PeriodicExportingMetricReader(e) for e in exporters]


def _otlp_exporter(otlp: Otlp, module: str, cls: str) -> Any:
    package = "grpc" if otlp.protocol == "grpc" else "http"
    try:
        mod = __import__(f"opentelemetry.exporter.otlp.proto.{package}.{module}", fromlist=[cls])
    except ImportError:
        log.warning("OTLP export asked for, but the OTLP exporter is missing: %s", _EXTRA_HINT)
        return None
    return getattr(mod, cls)(endpoint=otlp.endpoint)


def tracer_provider(settings: OtelSettings) -> Any:
    """A new SDK ``TracerProvider`` exporting as the settings say (None: tracing off)."""
    exporters = span_exporters(settings) if settings.tracing else []
    if not exporters:
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=make_resource(settings))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(default_service: str, env: Mapping[str, str] | None = None) -> Any:
    """Install the global ``TracerProvider`` the environment asks for, once per process.

    Returns the installed provider (the same one on later calls), or None when
    tracing is off. Its spans are flushed at exit by the SDK, or by ``shutdown()``.
    """
    global _installed
    if _installed is not None:
        return _installed
    settings = read_settings(default_service, env)
    provider = tracer_provider(settings)
    if provider is None:
        return None
    trace.set_tracer_provider(provider)
    _installed = provider
    log.info(
        "tracing on: service %s, exporters %s",
        settings.service_name,
        ",".join(settings.traces_exporters),
    )
    return provider
