"""prometheus_text: the exposition format of the server's metrics, scraped while a workflow runs."""

from __future__ import annotations

import asyncio
import re

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.runtime.prometheus import CONTENT_TYPE, ScrapeReader, prometheus_text

from ..conftest import MakeServer, wait_for
from ..server.helpers import serving

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: bytes) -> tuple[dict[str, str], Samples]:
    """A strict reading of the text format: every sample belongs to a declared family."""
    types: dict[str, str] = {}
    samples: Samples = {}
    assert text.endswith(b"\n")
    for line in text.decode().splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in _SUFFIXES and name not in types
            types[name] = kind
            continue
        m = _SAMPLE.match(line)
        assert m, line
        name, raw_labels, value = m.groups()
        labels = frozenset(_LABEL.findall(raw_labels or ""))
        assert "".join(f'{k}="{v}",' for k, v in sorted(labels)) or not raw_labels
        family = next(f for f in types if name in {f + s for s in _SUFFIXES[types[f]]})
        assert family
        samples[(name, labels)] = float(value)
    return types, samples


def test_rendering_of_each_kind() -> None:
    reader = ScrapeReader()
    provider = MeterProvider([reader])
    meter = provider.get_meter("t")
    meter.create_counter("jobs.done", description="Jobs\nended").add(3, {"q": 'a"b\\c'})
    meter.create_up_down_counter("jobs.open").add(-2)
    meter.create_observable_gauge("temp", [lambda _o: [Observation(1.5)]])
    hist = meter.create_histogram("wait", unit="s", explicit_bucket_boundaries_advisory=[1, 2])
    for v in (0.5, 1.5, 9):
        hist.record(v)
    text = prometheus_text(reader)
    types, samples = parse(text)
    assert types == {
        "jobs_done": "counter",
        "jobs_open": "gauge",
        "temp": "gauge",
        "wait_seconds": "histogram",
    }
    assert samples[("jobs_done_total", frozenset({("q", 'a\\"b\\\\c')}))] == 3
    assert b"# HELP jobs_done Jobs\\nended\n" in text
    assert samples[("jobs_open", frozenset())] == -2
    assert samples[("temp", frozenset())] == 1.5
    buckets = [
        samples[("wait_seconds_bucket", frozenset({("le", le)}))] for le in ["1.0", "2.0", "+Inf"]
    ]
    assert buckets == [1, 2, 3]
    assert samples[("wait_seconds_sum", frozenset())] == 11
    assert samples[("wait_seconds_count", frozenset())] == 3
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    provider.shutdown()
    assert prometheus_text(ScrapeReader()) == b""  # attached to nothing


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_scrape_while_a_workflow_runs(make_server: MakeServer) -> None:
    server = await make_server()
    release = asyncio.Event()
    running = asyncio.Event()
    agent = Agent("prom", capabilities=["work"])

    @agent.handler("work")
    async def work(task: Task) -> dict:
        running.set()
        await asyncio.wait_for(release.wait(), 15)
        return {}

    async with DweClient(server.address) as client, serving(server.address, agent):
        spec = build_workflow_spec("scraped", [{"step_id": "a", "agent_capability": "work"}])
        created = await client.create_workflow(spec)
        run = asyncio.create_task(_drain(client.execute_workflow(created.workflow_id)))
        await asyncio.wait_for(running.wait(), 15)

        types, samples = parse(server.prometheus_text())
        assert _value(samples, "dwe_workflows_active") == 1
        assert _value(samples, "dwe_agents_connected") == 1
        assert _value(samples, "dwe_workflows_completed_total") == 0
        assert types["dwe_workflow_queue_wait_seconds"] == "histogram"
        assert _value(samples, "dwe_workflow_queue_wait_seconds_count") == 1

        release.set()
        await asyncio.wait_for(run, 15)
        _, samples = await wait_for(
            lambda: (
                (r := parse(server.prometheus_text()))
                and _value(r[1], "dwe_workflows_completed_total") == 1
                and r
            ),
            what="completed workflow counted",
        )
    assert _value(samples, "dwe_workflows_active") == 0
    assert _value(samples, "dwe_steps_completed_total") == 1
    assert _value(samples, "dwe_step_duration_seconds_count", outcome="completed") == 1
    step_seconds = _value(samples, "dwe_step_duration_seconds_sum", outcome="completed")
    assert step_seconds is not None and step_seconds >= 0
    assert _value(samples, "dwe_workflow_duration_seconds_count", state="completed") == 1
    assert (
        _value(samples, "dwe_workflow_duration_seconds_bucket", state="completed", le="+Inf") == 1
    )


async def _drain(stream: object) -> None:
    async for _ in stream:  # type: ignore[attr-defined]
        pass


def test_the_server_provider_adds_the_exporters_otel_asks_for(monkeypatch) -> None:
    from dwe.server.runtime.metrics import meter_provider_from_env

    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "console,prometheus")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "metered")
    scrape = ScrapeReader()
    provider = meter_provider_from_env(scrape)
    try:
        readers = provider._metric_readers
        assert readers[0] is scrape and len(readers) == 2  # prometheus adds no reader
        assert provider._sdk_config.resource.attributes["service.name"] == "metered"
        provider.get_meter("t").create_counter("c").add(1)
        assert prometheus_text(scrape) == b"# HELP c c\n# TYPE c counter\nc_total 1\n"
    finally:
        provider.shutdown()
