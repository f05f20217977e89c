"""Async typed client: one method per RPC of WorkflowService and EngineService.

Methods take and return dwe.v1 protobuf messages; stream methods yield single
``WorkflowEvent`` messages (batches are flattened). Every call carries the
caller's OpenTelemetry context as W3C ``traceparent`` metadata, and every gRPC
error is raised as a :class:`~dwe.clients.errors.DweError`.

Example::

    async with DweClient("127.0.0.1:50051") as client:
        created = await client.create_workflow(spec)
        async for event in client.execute_workflow(created.workflow_id):
            print(event.seq, event.type)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any, Self

import grpc

from dwe.clients import _common as c
from dwe.clients.errors import translate_errors
from dwe.v1 import agent_pb2, engine_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

__all__ = ["DweClient"]

ChannelOptions = Sequence[tuple[str, Any]]


class DweClient:
    """Async client for a dwe server, usable with ``async with``.

    The channel is opened on first use, in the running event loop; use one
    client per event loop. ``close()`` is safe to call twice.

    Args:
        target: ``host:port`` of the server.
        options: gRPC channel options, e.g. ``[("grpc.max_receive_message_length", n)]``.
        rpc_timeout: Deadline in seconds of each unary call; None for none.
        wait_for_ready: Queue calls while the server is unreachable instead of
            failing at once with UnavailableError (bounded by ``rpc_timeout``).
    """

    def __init__(
        self,
        target: str = c.DEFAULT_TARGET,
        *,
        options: ChannelOptions | None = None,
        rpc_timeout: float | None = c.DEFAULT_RPC_TIMEOUT,
        wait_for_ready: bool = False,
    ) -> None:
        self.target = target
        self._options = list(options or ())
        self._timeout = rpc_timeout
        self._wait = wait_for_ready
        self._channel: grpc.aio.Channel | None = None
        self._workflows: service_pb2_grpc.WorkflowServiceStub | None = None
        self._engine: service_pb2_grpc.EngineServiceStub | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channel, cancelling open streams. Safe to call twice."""
        self._closed = True
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()

    def _method(self, name: str) -> Any:
        if self._closed:
            raise RuntimeError("DweClient is closed")
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.target, options=self._options)
            self._workflows = service_pb2_grpc.WorkflowServiceStub(self._channel)
            self._engine = service_pb2_grpc.EngineServiceStub(self._channel)
        stub = self._engine if name in c.ENGINE_METHODS else self._workflows
        return getattr(stub, name)

    async def _unary(self, name: str, request: Any) -> Any:
        method = self._method(name)
        with translate_errors(self.target):
            return await method(
                request,
                timeout=self._timeout,
                metadata=c.trace_metadata(),
                wait_for_ready=self._wait,
            )

    async def _stream(
        self, name: str, request: Any
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        call = self._method(name)(request, metadata=c.trace_metadata(), wait_for_ready=self._wait)
        try:
            with translate_errors(self.target):
                async for response in call:
                    for event in response.events:
                        yield event
        finally:
            call.cancel()

    # WorkflowService

    async def create_workflow(
        self, spec: workflow_pb2.WorkflowSpec, request_id: str | None = None
    ) -> rr.CreateWorkflowResponse:
        """CreateWorkflow: validates and stores ``spec``; idempotent by ``request_id``.

        Raises:
            ValidationError: The spec is invalid (nothing was stored).
        """
        request = c.create_request(spec, request_id)
        return await self._unary("CreateWorkflow", request)

    async def start_workflow(
        self, workflow_id: str, context: Any = None, session_id: str | None = None
    ) -> rr.StartWorkflowResponse:
        """StartWorkflow: starts a PENDING workflow and returns at once.

        Args:
            workflow_id: The workflow to start.
            context: A dict (or Payload) merged over the spec's context.
            session_id: Carried into events for correlation.

        Raises:
            NotFoundError: Unknown workflow.
            FailedPreconditionError: Already started.
        """
        request = c.start_request(rr.StartWorkflowRequest, workflow_id, context, session_id)
        return await self._unary("StartWorkflow", request)

    def execute_workflow(
        self, workflow_id: str, context: Any = None, session_id: str | None = None
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """ExecuteWorkflow: starts a PENDING workflow and yields its events to the terminal one.

        Leaving the loop early cancels the stream (not the workflow).
        """
        request = c.start_request(rr.ExecuteWorkflowRequest, workflow_id, context, session_id)
        return self._stream("ExecuteWorkflow", request)

    def watch_workflow(
        self, workflow_id: str, after_seq: int = 0
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """WatchWorkflow: replays events with seq > ``after_seq``, then follows live ones."""
        request = rr.WatchWorkflowRequest(workflow_id=workflow_id, after_seq=after_seq)
        return self._stream("WatchWorkflow", request)

    def watch_events(
        self, types: Iterable[int | str] = (), workflow_ids: Iterable[str] = ()
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """WatchEvents: live events of all workflows, filtered by type names/numbers and ids."""
        request = rr.WatchEventsRequest(types=c.event_types(types), workflow_ids=list(workflow_ids))
        return self._stream("WatchEvents", request)

    async def get_workflow_status(self, workflow_id: str) -> workflow_pb2.WorkflowStatus:
        """GetWorkflowStatus. Raises NotFoundError for an unknown id."""
        request = rr.GetWorkflowStatusRequest(workflow_id=workflow_id)
        response = await self._unary("GetWorkflowStatus", request)
        return response.status

    async def list_workflows(
        self, page_size: int = 0, page_token: str = "", states: Iterable[Any] = ()
    ) -> rr.ListWorkflowsResponse:
        """ListWorkflows: one page, newest first; follow ``next_page_token``."""
        request = c.list_request(page_size, page_token, states)
        return await self._unary("ListWorkflows", request)

    async def cancel_workflow(
        self, workflow_id: str, reason: str = ""
    ) -> rr.CancelWorkflowResponse:
        """CancelWorkflow; ``cancelled`` is False when the workflow had already ended."""
        request = rr.CancelWorkflowRequest(workflow_id=workflow_id, reason=reason)
        return await self._unary("CancelWorkflow", request)

    async def analyze_intent(self, message: str) -> workflow_pb2.DetectedIntent:
        """AnalyzeIntent: the server's reading of a message."""
        response = await self._unary("AnalyzeIntent", rr.AnalyzeIntentRequest(message=message))
        return response.intent

    async def start_intent(
        self,
        message: str,
        context: Any = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> rr.StartIntentResponse:
        """StartIntent: create and start the workflow the message's intent maps to.

        Raises:
            FailedPreconditionError: No confident intent, or no template for it.
        """
        request = c.intent_request(message, context, session_id, request_id)
        return await self._unary("StartIntent", request)

    # EngineService

    async def register_agent(self, agent: agent_pb2.AgentInfo) -> agent_pb2.AgentInfo:
        """RegisterAgent: adds or replaces a registry entry."""
        request = rr.RegisterAgentRequest(agent=agent)
        response = await self._unary("RegisterAgent", request)
        return response.agent

    async def list_agents(self) -> list[agent_pb2.AgentInfo]:
        """ListAgents: registered and connected agents with their load."""
        response = await self._unary("ListAgents", rr.ListAgentsRequest())
        return list(response.agents)

    async def get_engine_metrics(self) -> engine_pb2.EngineMetrics:
        """GetEngineMetrics: counters, agent load, resource use and history."""
        request = rr.GetEngineMetricsRequest()
        response = await self._unary("GetEngineMetrics", request)
        return response.metrics
