"""EngineService: agent registry, agent list and engine metrics."""

from __future__ import annotations

import grpc

from dwe.v1 import agent_pb2, engine_pb2, service_pb2_grpc
from dwe.v1 import request_response_pb2 as rr

from ..coordinator import Coordinator
from ..engine.model import AgentRegistration
from ..metrics import MetricsSampler
from .convert import json_payload
from .errors import unary
from .validation import ValidationError, decode_json_object


def _info(reg: AgentRegistration | None, c: Coordinator, agent_id: str) -> agent_pb2.AgentInfo:
    session = c.scheduler.agents_by_id.get(agent_id)
    info = agent_pb2.AgentInfo(agent_id=agent_id, registered=reg is not None)
    if reg is not None:
        info.agent_type = reg.agent_type
        info.capabilities.extend(reg.capabilities)
        info.max_concurrent_tasks = reg.max_concurrent_tasks
        if reg.config:
            info.config.CopyFrom(json_payload(reg.config))
    if session is not None:
        info.connected = True
        info.agent_type = session.agent_type or info.agent_type
        del info.capabilities[:]
        info.capabilities.extend(sorted(session.capabilities))
        info.max_concurrent_tasks = session.max_tasks
        info.current_load = len(session.held)
        info.labels.update(session.labels)
        info.completed_steps = session.completed
        info.failed_steps = session.failed
        info.connected_at.FromNanoseconds(int(session.connected_at * 1e9))
    return info


class EngineServicer(service_pb2_grpc.EngineServiceServicer):
    def __init__(self, coordinator: Coordinator, sampler: MetricsSampler) -> None:
        self._c = coordinator
        self._sampler = sampler

    @unary
    async def RegisterAgent(
        self, request: rr.RegisterAgentRequest, context: grpc.aio.ServicerContext
    ) -> rr.RegisterAgentResponse:
        a = request.agent
        if not a.agent_id:
            raise ValidationError("agent.agent_id is empty")
        if not a.capabilities:
            raise ValidationError(f"agent {a.agent_id!r}: capabilities is empty")
        if any(not cap for cap in a.capabilities):
            raise ValidationError(f"agent {a.agent_id!r}: a capability is empty")
        config = decode_json_object(a.config, f"agent {a.agent_id!r}: config")
        reg = AgentRegistration(
            agent_id=a.agent_id,
            agent_type=a.agent_type,
            capabilities=tuple(dict.fromkeys(a.capabilities)),
            max_concurrent_tasks=a.max_concurrent_tasks or 5,
            config=config,
        )
        await self._c.register_agent(reg)
        return rr.RegisterAgentResponse(agent=_info(reg, self._c, reg.agent_id))

    @unary
    async def ListAgents(
        self, request: rr.ListAgentsRequest, context: grpc.aio.ServicerContext
    ) -> rr.ListAgentsResponse:
        ids = dict.fromkeys([*self._c.registry, *self._c.scheduler.agents_by_id])
        return rr.ListAgentsResponse(
            agents=[_info(self._c.registry.get(i), self._c, i) for i in sorted(ids)]
        )

    @unary
    async def GetEngineMetrics(
        self, request: rr.GetEngineMetricsRequest, context: grpc.aio.ServicerContext
    ) -> rr.GetEngineMetricsResponse:
        s = self._sampler.snapshot()
        m = engine_pb2.EngineMetrics(
            active_workflows=s.active_workflows,
            queued_workflows=s.queued_workflows,
            completed_workflows=s.completed_workflows,
            failed_workflows=s.failed_workflows,
            cancelled_workflows=s.cancelled_workflows,
            timed_out_workflows=s.timed_out_workflows,
            completed_steps=s.completed_steps,
            failed_steps=s.failed_steps,
            adaptation_rule_errors=s.rule_errors,
            connected_agents=s.connected_agents,
            uptime_seconds=s.uptime_seconds,
            sample_interval_seconds=s.sample_interval,
            agent_load=s.agent_load,
            resource_usage=engine_pb2.ResourceUsage(
                cpu_percent=s.cpu_percent, memory_mb=s.memory_mb
            ),
        )
        for name, values in s.history.items():
            m.performance_metrics[name].values.extend(values)
        return rr.GetEngineMetricsResponse(metrics=m)
