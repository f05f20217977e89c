"""EngineService: agent registry, agent list, engine metrics and pruning."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from importlib import metadata
from typing import Any

import grpc

from dwe.common.durations import MAX_DURATION_SECONDS, format_duration
from dwe.v1 import engine_pb2, service_pb2_grpc
from dwe.v1 import request_response_pb2 as rr

from ..runtime.coordinator import Coordinator
from ..runtime.metrics import MetricsSampler
from .agent_checks import registration_from_proto
from .convert import agent_to_proto
from .errors import unary
from .limits import SizeLimits, quote
from .scope import NamespaceDenied, Scopes
from .validation import ValidationError, duration_seconds

log = logging.getLogger("dwe.server.api")


class EngineServicer(service_pb2_grpc.EngineServiceServicer):
    def __init__(
        self,
        coordinator: Coordinator,
        sampler: MetricsSampler,
        sizes: SizeLimits | None = None,
        heartbeat_interval: float = 5.0,
        auth_refused: Callable[[], int] = lambda: 0,
        scopes: Scopes | None = None,
        replicas: Callable[[], Awaitable[tuple[str, list[Any]]]] | None = None,
    ) -> None:
        self._scopes = scopes or Scopes(None)
        # (this replica's id, every replica: pg_lease.Replica rows) for GetServerInfo.
        self._replicas = replicas
        self._c = coordinator
        self.admission = coordinator.admission  # read by the unary wrapper
        self._sampler = sampler
        self._sizes = sizes or SizeLimits()
        self._heartbeat = heartbeat_interval
        self._auth_refused = auth_refused

    @unary
    async def RegisterAgent(
        self, request: rr.RegisterAgentRequest, context: grpc.aio.ServicerContext
    ) -> rr.RegisterAgentResponse:
        scope = await self._scopes.of(context)
        reg = registration_from_proto(request.agent, self._sizes.max_payload)
        reg = replace(reg, namespace=scope.target(request.agent.namespace, "agent.namespace"))
        earlier = self._c.registration(reg.agent_id)
        if earlier is not None and not scope.sees(earlier.namespace):
            raise NamespaceDenied(
                f"agent id {quote(reg.agent_id)} is registered in a namespace the caller may"
                " not use; pick another id"
            )
        await self._c.register_agent(reg)
        return rr.RegisterAgentResponse(agent=agent_to_proto(self._c.agent(reg.agent_id)))

    @unary
    async def ListAgents(
        self, request: rr.ListAgentsRequest, context: grpc.aio.ServicerContext
    ) -> rr.ListAgentsResponse:
        response = rr.ListAgentsResponse()
        budget = self._sizes.budget
        views = self._c.agents((await self._scopes.of(context)).among(request.namespaces))
        for i, view in enumerate(views):
            info = agent_to_proto(view)
            size = info.ByteSize() + 8
            if size > budget and info.HasField("config"):  # configs go before entries do
                info.ClearField("config")
                info.config_omitted = True
                size = info.ByteSize() + 8
            if size > budget:
                response.omitted_agents = len(views) - i
                break
            budget -= size
            response.agents.append(info)
        return response

    @unary
    async def GetServerInfo(
        self, request: rr.GetServerInfoRequest, context: grpc.aio.ServicerContext
    ) -> rr.GetServerInfoResponse:
        scope = await self._scopes.of(context)
        info = rr.GetServerInfoResponse(
            version=_version(),
            max_message_bytes=self._sizes.max_message,
            max_payload_bytes=self._sizes.max_payload,
            subject=scope.subject,
            role=scope.role,
            namespace=scope.home,
            namespaces=scope.listed(),
        )
        info.heartbeat_interval.FromNanoseconds(int(self._heartbeat * 1e9))
        if self._replicas is not None:
            info.replica_id, found = await self._replicas()
            for r in found:
                info.replicas.add(
                    replica_id=r.replica_id,
                    address=r.address,
                    owner=r.owner,
                    heartbeat_age_seconds=r.heartbeat_age,
                    epoch=r.epoch,
                )
        return info

    @unary
    async def GetEngineMetrics(
        self, request: rr.GetEngineMetricsRequest, context: grpc.aio.ServicerContext
    ) -> rr.GetEngineMetricsResponse:
        scope = await self._scopes.of(context)
        namespaces = scope.among(request.namespaces)
        snap = self._sampler.snapshot()
        # Workflow and agent figures of the namespaces asked for; the process's own figures
        # (resources, refused calls) as they are; the sampled series, which mix every
        # namespace, only for callers who see them all.
        whole = namespaces is None
        s = snap.stats if whole else self._c.stats(namespaces)
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
            cancels_unanswered=s.cancels_unanswered,
            auth_refused=self._auth_refused(),
            connected_agents=s.connected_agents,
            uptime_seconds=snap.uptime_seconds,
            sample_interval_seconds=snap.sample_interval,
            agent_load=s.agent_load,
            resource_usage=engine_pb2.ResourceUsage(
                cpu_percent=snap.cpu_percent, memory_mb=snap.memory_mb
            ),
        )
        if whole:
            for name, values in snap.history.items():
                m.performance_metrics[name].values.extend(values)
        return rr.GetEngineMetricsResponse(metrics=m)

    @unary
    async def PruneWorkflows(
        self, request: rr.PruneWorkflowsRequest, context: grpc.aio.ServicerContext
    ) -> rr.PruneWorkflowsResponse:
        namespaces = (await self._scopes.of(context)).among(request.namespaces)
        if not request.HasField("older_than"):
            raise ValidationError("older_than is required (0s prunes every ended workflow)")
        older_than = duration_seconds(request.older_than, "older_than", MAX_DURATION_SECONDS)
        count = await self._c.prune(older_than, request.dry_run, namespaces)
        log.info(
            "PruneWorkflows from %s: %s %d workflows and %d events that ended over %s ago",
            context.peer(),
            "would delete" if request.dry_run else "deleted",
            count.workflows,
            count.events,
            format_duration(older_than),
        )
        return rr.PruneWorkflowsResponse(workflows=count.workflows, events=count.events)


def _version() -> str:
    try:
        return metadata.version("dwe")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"
