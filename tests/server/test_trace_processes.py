"""One trace across three processes: a client, ``dwe server`` and an agent (``dwe agent``, or
the Node.js SDK's), over real gRPC, each exporting its spans over OTLP to a receiver in the
test. client.run -> dwe.workflow -> dwe.step -> dwe.handler, all with one trace id."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dwe.clients.local import ServerProcess, start_agent
from dwe.clients.local import stop as stop_processes
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan

from ..conftest import ROOT, wait_for

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

NODE_AGENT = ROOT / "clients" / "node" / "conformance" / "agent.mjs"
HAS_NODE = shutil.which("node") is not None and (NODE_AGENT.parent.parent / "dist").exists()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver()
    yield r
    r.close()


def _otel_env(receiver: OtlpReceiver, service: str) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_SERVICE_NAME": service,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        # Export each batch soon after its spans end, so the test waits on arrival only.
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }


def _start_agent(kind: str, address: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - the child holds it; closed with the process
    if kind == "python":
        agent_env = {**env, "DWE_TEST_AGENT_ID": "traced-py", "DWE_TEST_CAPS": "score"}
        # tests.support.agents:counting sets up no tracing itself: `dwe agent` must.
        return start_agent(
            "tests.support.agents:counting", address, agent_env, ROOT, stdout=out, stderr=out
        )
    node_env = {**os.environ, **env, "DWE_TARGET": address, "CONF_AGENT_ID": "traced-node"}
    node_env["CONF_CAPS"] = "quick.score"
    return subprocess.Popen(["node", str(NODE_AGENT)], env=node_env, stdout=out, stderr=out)


def _by_name(spans: list[ReceivedSpan], name: str) -> ReceivedSpan | None:
    return next((s for s in spans if s.name == name), None)


@pytest.mark.parametrize(
    "agent_kind",
    [
        "python",
        pytest.param(
            "node",
            marks=pytest.mark.skipif(not HAS_NODE, reason="needs node and `make node-deps`"),
        ),
    ],
)
async def test_one_trace_across_client_server_and_agent(
    agent_kind: str, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    capability = "score" if agent_kind == "python" else "quick.score"
    server = ServerProcess(tmp_path / "dwe.db", env=_otel_env(receiver, "trace-server"))
    agent = _start_agent(
        agent_kind, server.address, _otel_env(receiver, "trace-agent"), tmp_path / "agent.log"
    )
    try:
        client = subprocess.run(
            [sys.executable, "-m", "tests.support.traced_client", server.address, capability],
            cwd=ROOT,
            env={**os.environ, **_otel_env(receiver, "trace-client")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert client.returncode == 0, client.stderr
        result = json.loads(client.stdout.strip().splitlines()[-1])
        assert result["state"] == "EVENT_TYPE_WORKFLOW_COMPLETED"
        handler_name = f"dwe.handler {capability}"
        names = ("client.run", "dwe.workflow traced", "dwe.step score", handler_name)
        spans = await wait_for(
            lambda: (s := receiver.spans()) and all(_by_name(s, n) for n in names) and s,
            timeout=30,
            what=f"spans {names} received (got {[s.name for s in receiver.spans()]}; "
            f"agent log: {(tmp_path / 'agent.log').read_text(errors='replace')[-2000:]})",
        )
    finally:
        stop_processes([agent, server.proc])
    client_span, workflow, step, handler = (_by_name(spans, n) for n in names)
    assert client_span and workflow and step and handler
    trace_ids = {s.trace_id for s in (client_span, workflow, step, handler)}
    assert trace_ids == {result["trace_id"]}
    assert client_span.span_id == result["span_id"]
    assert workflow.parent_span_id == client_span.span_id
    assert step.parent_span_id == workflow.span_id
    assert handler.parent_span_id == step.span_id
    assert (client_span.service, workflow.service, handler.service) == (
        "trace-client",
        "trace-server",
        "trace-agent",
    )
    assert workflow.attributes["dwe.workflow_id"] == result["workflow_id"]
    assert handler.attributes["dwe.step_id"] == "score"
    assert handler.attributes["dwe.outcome"] == "completed"
