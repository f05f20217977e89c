"""The server's metrics in the Prometheus text exposition format, read on demand.

For ``GET /metrics`` on the server's HTTP port::

    body = prometheus_text(server.metrics_reader)   # bytes
    headers = {"Content-Type": CONTENT_TYPE}         # text/plain; version=0.0.4

``server.metrics_reader`` is a ``ScrapeReader`` the server attaches to its own
``MeterProvider`` whatever ``OTEL_METRICS_EXPORTER`` says, so the endpoint is
always there. Call ``prometheus_text`` on the server's event loop: collecting
runs the observable instruments' callbacks, which read the scheduler.

Names follow the OpenTelemetry-to-Prometheus rules: dots become underscores, a
unit of seconds adds ``_seconds``, monotonic sums are counters with ``_total``,
histograms give cumulative ``_bucket{le=...}``, ``_sum`` and ``_count``.
Attributes become labels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    InMemoryMetricReader,
    Metric,
    Sum,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes"}


class ScrapeReader(InMemoryMetricReader):
    """A reader that exports nothing by itself: each scrape collects the current values."""


def prometheus_text(reader: InMemoryMetricReader) -> bytes:
    """The current metrics of ``reader`` in the Prometheus text format (empty when the
    reader is attached to no provider or was shut down)."""
    try:
        data = reader.get_metrics_data()
    except Exception:  # an unattached reader has no collect function yet
        return b""
    lines: list[str] = []
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                lines.extend(_metric_lines(metric))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _metric_lines(metric: Metric) -> list[str]:
    name = _name(metric.name, metric.unit or "")
    data: Any = metric.data
    if isinstance(data, Sum) and data.is_monotonic:
        kind, sample = "counter", name + "_total"
    elif isinstance(data, Sum | Gauge):
        kind, sample = "gauge", name
    elif isinstance(data, Histogram):
        kind, sample = "histogram", name
    else:
        return []  # exponential histograms are not made by the server
    lines = [f"# HELP {name} {_help(metric.description or metric.name)}", f"# TYPE {name} {kind}"]
    for point in data.data_points:
        labels = dict(point.attributes or {})
        if kind == "histogram":
            lines.extend(_histogram_lines(name, labels, point))
        else:
            lines.append(f"{sample}{_labels(labels)} {_value(point.value)}")
    return lines


def _histogram_lines(name: str, labels: dict[str, Any], point: Any) -> Iterable[str]:
    cumulative = 0
    for bound, count in zip(point.explicit_bounds, point.bucket_counts, strict=False):
        cumulative += count
        yield f"{name}_bucket{_labels({**labels, 'le': _value(float(bound))})} {cumulative}"
    yield f"{name}_bucket{_labels({**labels, 'le': '+Inf'})} {point.count}"
    yield f"{name}_sum{_labels(labels)} {_value(point.sum)}"
    yield f"{name}_count{_labels(labels)} {point.count}"


def _name(name: str, unit: str) -> str:
    out = _INVALID.sub("_", name)
    if out[:1].isdigit():
        out = "_" + out
    suffix = _UNITS.get(unit)
    if suffix and not out.endswith("_" + suffix):
        out += "_" + suffix
    return out


def _labels(labels: Mapping[str, Any]) -> str:
    if not labels:
        return ""
    parts = (f'{_INVALID.sub("_", str(k))}="{_escape(str(v))}"' for k, v in labels.items())
    return "{" + ",".join(parts) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))
