"""configure_from_env installs nothing unless asked; parent_context parses W3C headers."""

import pytest
from opentelemetry import trace

from dwe.agent_sdk import telemetry


@pytest.mark.parametrize("value", [None, "", "none", "NONE", " none ", "zipkin_typo"])
def test_configure_from_env_installs_nothing(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    else:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", value)
    before = trace.get_tracer_provider()
    assert telemetry.configure_from_env() is None
    assert trace.get_tracer_provider() is before


@pytest.mark.parametrize(
    ("traceparent", "tracestate", "valid"),
    [
        ("", "", None),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "", True),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v", True),
        ("garbage", "", False),
    ],
)
def test_parent_context(traceparent: str, tracestate: str, valid: bool | None) -> None:
    ctx = telemetry.parent_context(traceparent, tracestate)
    if valid is None:
        assert ctx is None
        return
    span_ctx = trace.get_current_span(ctx).get_span_context()
    assert span_ctx.is_valid is valid
    if valid:
        assert format(span_ctx.span_id, "016x") == "b7ad6b7169203331"
        assert span_ctx.is_remote
