"""The shared OTEL_* reading: exporter lists, resource, OTLP endpoints and protocols."""

from __future__ import annotations

import logging

import pytest

from dwe.common import otel
from dwe.common.otel import Otlp, read_settings


def test_defaults_are_off_with_the_process_service_name() -> None:
    s = read_settings("dwe-server", {})
    assert s.service_name == "dwe-server"
    assert s.traces_exporters == () and s.metrics_exporters == ()
    assert not s.tracing
    assert s.traces_otlp == Otlp("http/protobuf", "http://localhost:4318/v1/traces")
    assert s.metrics_otlp == Otlp("http/protobuf", "http://localhost:4318/v1/metrics")
    assert otel.tracer_provider(s) is None
    assert otel.metric_readers(s) == []


def test_comma_lists_dedupe_and_none_wins() -> None:
    env = {"OTEL_TRACES_EXPORTER": " Console , otlp,console", "OTEL_METRICS_EXPORTER": "prometheus"}
    s = read_settings("x", env)
    assert s.traces_exporters == ("console", "otlp")
    assert s.metrics_exporters == ("prometheus",)
    assert read_settings("x", {"OTEL_TRACES_EXPORTER": "console,none"}).traces_exporters == ()


def test_unknown_exporters_give_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "dwe.otel"):
        s = read_settings("x", {"OTEL_TRACES_EXPORTER": "zipkin,console,jaeger"})
    assert s.traces_exporters == ("console",)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "OTEL_TRACES_EXPORTER: ignoring unknown exporter 'zipkin', 'jaeger' "
        "(supported: console, otlp, none)"
    ]


def test_prometheus_is_a_metrics_name_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "dwe.otel"):
        s = read_settings("x", {"OTEL_TRACES_EXPORTER": "prometheus"})
    assert s.traces_exporters == ()
    assert "OTEL_TRACES_EXPORTER" in caplog.text


def test_resource_service_name_precedence_and_percent_decoding() -> None:
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=attr,deployment.environment=a%20b,k=v=w"}
    s = read_settings("default", env)
    assert s.service_name == "attr"
    assert dict(s.resource_attributes)["deployment.environment"] == "a b"
    assert dict(s.resource_attributes)["k"] == "v=w"
    s = read_settings("default", {**env, "OTEL_SERVICE_NAME": "named"})
    resource = otel.make_resource(s)
    assert resource.attributes["service.name"] == "named"
    assert resource.attributes["deployment.environment"] == "a b"


def test_malformed_resource_attributes_are_dropped_whole(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "dwe.otel"):
        s = read_settings("d", {"OTEL_RESOURCE_ATTRIBUTES": "a=1,oops"})
    assert dict(s.resource_attributes) == {"service.name": "d"}
    assert "oops" in caplog.text


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
            Otlp("http/protobuf", "http://collector:4318/v1/traces"),
            Otlp("http/protobuf", "http://collector:4318/v1/metrics"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            Otlp("grpc", "http://localhost:4317"),
            Otlp("grpc", "http://localhost:4317"),
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317",
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:9/custom",
            },
            Otlp("grpc", "https://c:4317"),
            Otlp("http/protobuf", "http://m:9/custom"),
        ),
    ],
)
def test_otlp_endpoints_follow_the_spec(env: dict[str, str], traces: Otlp, metrics: Otlp) -> None:
    s = read_settings("x", env)
    assert (s.traces_otlp, s.metrics_otlp) == (traces, metrics)


def test_unsupported_protocol_warns_and_uses_the_default(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "dwe.otel"):
        s = read_settings("x", {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"})
    assert s.traces_otlp.protocol == "http/protobuf"
    assert "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL='http/json' is not supported" in caplog.text


def test_exporters_are_built_for_both_protocols() -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.grpc")
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as Http
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    env = {
        "OTEL_TRACES_EXPORTER": "console,otlp",
        "OTEL_METRICS_EXPORTER": "otlp,prometheus",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
    }
    s = read_settings("x", env)
    console, grpc_exporter = otel.span_exporters(s)
    assert isinstance(console, ConsoleSpanExporter) and isinstance(grpc_exporter, Grpc)
    (reader,) = otel.metric_readers(s)
    try:
        assert isinstance(reader._exporter, Http)
    finally:
        reader.shutdown()
    assert otel.metric_readers(read_settings("x", {**env, "OTEL_SDK_DISABLED": "true"})) == []
