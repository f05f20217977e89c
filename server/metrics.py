"""Engine metrics: counters from the scheduler, process resources, sampled history.

The same figures are exported as OpenTelemetry observable instruments, so any
configured meter provider picks them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import psutil
from opentelemetry import metrics as otel_metrics

from .coordinator import Coordinator

HISTORY = 120
SERIES = ("workflow_count", "active_workflows", "steps_per_second", "step_latency_ms")


@dataclass(slots=True)
class MetricsSnapshot:
    active_workflows: int
    queued_workflows: int
    completed_workflows: int
    failed_workflows: int
    cancelled_workflows: int
    timed_out_workflows: int
    completed_steps: int
    failed_steps: int
    rule_errors: int
    agent_load: dict[str, int]
    connected_agents: int
    cpu_percent: float
    memory_mb: float
    uptime_seconds: float
    sample_interval: float
    history: dict[str, list[float]] = field(default_factory=dict)


class MetricsSampler:
    def __init__(
        self, coordinator: Coordinator, interval: float = 1.0, meter_provider: Any = None
    ) -> None:
        self._c = coordinator
        self.interval = interval
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)
        self._started = time.monotonic()
        self._history: dict[str, deque[float]] = {name: deque(maxlen=HISTORY) for name in SERIES}
        self._last_steps = 0
        self._last_workflows = 0
        self._last_t = time.monotonic()
        self._cpu = 0.0
        self._task: asyncio.Task[None] | None = None
        self._register_otel(meter_provider)

    def _register_otel(self, provider: Any) -> None:
        meter = otel_metrics.get_meter("dwe.server", meter_provider=provider)
        c = self._c.scheduler.counters

        def gauge(value: float) -> list[otel_metrics.Observation]:
            return [otel_metrics.Observation(value)]

        meter.create_observable_gauge(
            "dwe.workflows.active", [lambda _o: gauge(self._c.scheduler.active)]
        )
        meter.create_observable_counter(
            "dwe.workflows.completed", [lambda _o: gauge(c.completed_workflows)]
        )
        meter.create_observable_counter(
            "dwe.workflows.failed", [lambda _o: gauge(c.failed_workflows)]
        )
        meter.create_observable_counter(
            "dwe.steps.completed", [lambda _o: gauge(c.completed_steps)]
        )
        meter.create_observable_counter("dwe.steps.failed", [lambda _o: gauge(c.failed_steps)])
        meter.create_observable_counter("dwe.rules.errors", [lambda _o: gauge(c.rule_errors)])
        meter.create_observable_gauge(
            "dwe.agents.connected", [lambda _o: gauge(len(self._c.scheduler.sessions))]
        )

    def start(self) -> None:
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
        sched = self._c.scheduler
        c = sched.counters
        steps = c.completed_steps + c.failed_steps
        finished = c.completed_workflows + c.failed_workflows + c.cancelled_workflows
        h = self._history
        h["workflow_count"].append(float(sched.active + len(self._queued())))
        h["active_workflows"].append(float(sched.active))
        h["steps_per_second"].append((steps - self._last_steps) / dt)
        h["step_latency_ms"].append(self._recent_latency_ms())
        self._last_steps, self._last_workflows, self._last_t = steps, finished, now
        self._cpu = self._proc.cpu_percent(None)

    def _queued(self) -> list[str]:
        return [w.id for w in self._c.scheduler.workflows.values() if w.state == "queued"]

    def _recent_latency_ms(self) -> float:
        durations = [
            a.overall.duration for a in self._c.scheduler.sessions.values() if a.overall.samples
        ]
        return 1000.0 * sum(durations) / len(durations) if durations else 0.0

    def snapshot(self) -> MetricsSnapshot:
        sched = self._c.scheduler
        c = sched.counters
        return MetricsSnapshot(
            active_workflows=sched.active,
            queued_workflows=len(self._queued()),
            completed_workflows=c.completed_workflows,
            failed_workflows=c.failed_workflows,
            cancelled_workflows=c.cancelled_workflows,
            timed_out_workflows=c.timed_out_workflows,
            completed_steps=c.completed_steps,
            failed_steps=c.failed_steps,
            rule_errors=c.rule_errors,
            agent_load={a.agent_id: len(a.held) for a in sched.sessions.values()},
            connected_agents=len(sched.sessions),
            cpu_percent=self._cpu,
            memory_mb=self._proc.memory_info().rss / (1024 * 1024),
            uptime_seconds=time.monotonic() - self._started,
            sample_interval=self.interval,
            history={name: list(values) for name, values in self._history.items()},
        )
