"""Engine metrics: the scheduler's stats, process resources, sampled history.

The same figures are exported as OpenTelemetry observable instruments on the
server's ``MeterProvider`` (``meter_provider_from_env``): the Prometheus scrape
reader always, plus the readers ``OTEL_METRICS_EXPORTER`` asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
from opentelemetry import metrics as otel_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader

from dwe.common import otel

from ..engine.stats import EngineStats

HISTORY = 120
SERIES = ("workflow_count", "active_workflows", "steps_per_second", "step_latency_ms")


def meter_provider_from_env(scrape: MetricReader, service: str = "dwe-server") -> MeterProvider:
    """The server's provider: ``scrape`` (read on demand) and the ``OTEL_METRICS_EXPORTER``
    readers, on the ``OTEL_*`` resource. The server shuts it down when it stops."""
    settings = otel.read_settings(service)
    return MeterProvider(
        metric_readers=[scrape, *otel.metric_readers(settings)],
        resource=otel.make_resource(settings),
        shutdown_on_exit=False,
    )


@dataclass(slots=True)
class MetricsSnapshot:
    """The scheduler's stats with the process's resources and the sampled history."""

    stats: EngineStats
    cpu_percent: float
    memory_mb: float
    uptime_seconds: float
    sample_interval: float
    history: dict[str, list[float]] = field(default_factory=dict)


class MetricsSampler:
    def __init__(
        self,
        stats: Callable[[], EngineStats],
        interval: float = 1.0,
        meter_provider: Any = None,
    ) -> None:
        self._stats = stats
        self.interval = interval
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)
        self._started = time.monotonic()
        self._history: dict[str, deque[float]] = {name: deque(maxlen=HISTORY) for name in SERIES}
        self._last_steps = 0
        self._last_t = time.monotonic()
        self._cpu = 0.0
        self._task: asyncio.Task[None] | None = None
        self._register_otel(meter_provider)

    def _register_otel(self, provider: Any) -> None:
        meter = otel_metrics.get_meter("dwe.server", meter_provider=provider)
        stats = self._stats

        def observe(name: str) -> Callable[[Any], list[otel_metrics.Observation]]:
            return lambda _options: [otel_metrics.Observation(getattr(stats(), name))]

        gauges = {
            "dwe.workflows.active": "active_workflows",
            "dwe.workflows.queued": "queued_workflows",
            "dwe.agents.connected": "connected_agents",
        }
        counters = {
            "dwe.workflows.completed": "completed_workflows",
            "dwe.workflows.failed": "failed_workflows",
            "dwe.workflows.cancelled": "cancelled_workflows",
            "dwe.workflows.timed_out": "timed_out_workflows",
            "dwe.steps.completed": "completed_steps",
            "dwe.steps.failed": "failed_steps",
            "dwe.rules.errors": "rule_errors",
            "dwe.cancels.unanswered": "cancels_unanswered",
        }
        for metric, attr in gauges.items():
            meter.create_observable_gauge(metric, [observe(attr)])
        for metric, attr in counters.items():
            meter.create_observable_counter(metric, [observe(attr)])

    def start(self) -> None:
        """Start sampling the history series; an interval <= 0 keeps no history."""
        if self.interval <= 0:
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        dt = max(now - self._last_t, 1e-6)
        st = self._stats()
        steps = st.completed_steps + st.failed_steps
        h = self._history
        h["workflow_count"].append(float(st.active_workflows + st.queued_workflows))
        h["active_workflows"].append(float(st.active_workflows))
        h["steps_per_second"].append((steps - self._last_steps) / dt)
        h["step_latency_ms"].append(1000.0 * st.mean_step_seconds)
        self._last_steps, self._last_t = steps, now
        self._cpu = self._proc.cpu_percent(None)

    def snapshot(self) -> MetricsSnapshot:
        return MetricsSnapshot(
            stats=self._stats(),
            cpu_percent=self._cpu,
            memory_mb=self._proc.memory_info().rss / (1024 * 1024),
            uptime_seconds=time.monotonic() - self._started,
            sample_interval=self.interval,
            history={name: list(values) for name, values in self._history.items()},
        )
