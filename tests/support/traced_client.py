"""A client process for the cross-process trace test: ``python -m tests.support.traced_client
TARGET CAPABILITY``. Under a span of its own it creates and runs a one-step workflow, then
prints ``{"workflow_id", "state", "trace_id", "span_id"}`` as one JSON line and flushes its
spans (exported as the OTEL_* variables say)."""

from __future__ import annotations

import json
import sys

from opentelemetry import trace

from dwe.clients.spec import build_workflow_spec
from dwe.clients.sync import SyncDweClient
from dwe.common.otel import configure_tracing
from dwe.v1 import enums_pb2


def main(target: str, capability: str) -> None:
    provider = configure_tracing("test-client")
    tracer = trace.get_tracer("tests.traced_client")
    spec = build_workflow_spec("traced", [{"step_id": "score", "agent_capability": capability}])
    with tracer.start_as_current_span("client.run") as span, SyncDweClient(target) as client:
        workflow_id = client.create_workflow(spec).workflow_id
        events = list(client.execute_workflow(workflow_id))
    ctx = span.get_span_context()
    print(
        json.dumps(
            {
                "workflow_id": workflow_id,
                "state": enums_pb2.EventType.Name(events[-1].type) if events else None,
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
            }
        ),
        flush=True,
    )
    if provider is not None:
        provider.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
