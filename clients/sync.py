"""Blocking typed client over a plain (non-aio) gRPC channel.

Safe to call from inside a running event loop (it never touches the loop), which
the guide's synchronous methods need; also what the CLI uses. Same methods and
semantics as :class:`~dwe.clients.typed.DweClient`, without ``await``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Self

import grpc

from dwe.clients import _common as c
from dwe.clients.errors import translate_errors
from dwe.v1 import agent_pb2, engine_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

__all__ = ["SyncDweClient"]


class SyncDweClient:
    """Blocking client for a dwe server, usable with ``with``; thread-safe.

    Args:
        target: ``host:port`` of the server.
        options: gRPC channel options.
        rpc_timeout: Deadline in seconds of each unary call; None for none.
        wait_for_ready: Queue calls while the server is unreachable instead of
            failing at once with UnavailableError (bounded by ``rpc_timeout``).
    """

    def __init__(
        self,
        target: str = c.DEFAULT_TARGET,
        *,
        options: Sequence[tuple[str, Any]] | None = None,
        rpc_timeout: float | None = c.DEFAULT_RPC_TIMEOUT,
        wait_for_ready: bool = False,
    ) -> None:
        self.target = target
        self._timeout = rpc_timeout
        self._wait = wait_for_ready
        self._lock = threading.Lock()
        channel = grpc.insecure_channel(target, options=list(options or ()))
        self._channel: grpc.Channel | None = channel
        self._workflows = service_pb2_grpc.WorkflowServiceStub(channel)
        self._engine = service_pb2_grpc.EngineServiceStub(channel)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel, cancelling open streams. Safe to call twice."""
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def _method(self, name: str) -> Any:
        if self._channel is None:
            raise RuntimeError("SyncDweClient is closed")
        stub = self._engine if name in c.ENGINE_METHODS else self._workflows
        return getattr(stub, name)

    def _unary(self, name: str, request: Any) -> Any:
        method = self._method(name)
        with translate_errors(self.target):
            return method(
                request,
                timeout=self._timeout,
                metadata=c.trace_metadata(),
                wait_for_ready=self._wait,
            )

    def _stream(self, name: str, request: Any) -> Iterator[workflow_pb2.WorkflowEvent]:
        call = self._method(name)(request, metadata=c.trace_metadata(), wait_for_ready=self._wait)
        try:
            with translate_errors(self.target):
                for response in call:
                    yield from response.events
        finally:
            call.cancel()

    # WorkflowService

    def create_workflow(
        self, spec: workflow_pb2.WorkflowSpec, request_id: str | None = None
    ) -> rr.CreateWorkflowResponse:
        """CreateWorkflow; idempotent by ``request_id`` (a fresh one when None)."""
        return self._unary("CreateWorkflow", c.create_request(spec, request_id))

    def start_workflow(
        self, workflow_id: str, context: Any = None, session_id: str | None = None
    ) -> rr.StartWorkflowResponse:
        """StartWorkflow: starts a PENDING workflow and returns at once."""
        request = c.start_request(rr.StartWorkflowRequest, workflow_id, context, session_id)
        return self._unary("StartWorkflow", request)

    def execute_workflow(
        self, workflow_id: str, context: Any = None, session_id: str | None = None
    ) -> Iterator[workflow_pb2.WorkflowEvent]:
        """ExecuteWorkflow: starts the workflow and yields its events to the terminal one."""
        request = c.start_request(rr.ExecuteWorkflowRequest, workflow_id, context, session_id)
        return self._stream("ExecuteWorkflow", request)

    def watch_workflow(
        self, workflow_id: str, after_seq: int = 0
    ) -> Iterator[workflow_pb2.WorkflowEvent]:
        """WatchWorkflow: replays events with seq > ``after_seq``, then follows live ones."""
        request = rr.WatchWorkflowRequest(workflow_id=workflow_id, after_seq=after_seq)
        return self._stream("WatchWorkflow", request)

    def watch_events(
        self, types: Iterable[int | str] = (), workflow_ids: Iterable[str] = ()
    ) -> Iterator[workflow_pb2.WorkflowEvent]:
        """WatchEvents: live events of all workflows, optionally filtered."""
        request = rr.WatchEventsRequest(types=c.event_types(types), workflow_ids=list(workflow_ids))
        return self._stream("WatchEvents", request)

    def get_workflow_status(self, workflow_id: str) -> workflow_pb2.WorkflowStatus:
        """GetWorkflowStatus. Raises NotFoundError for an unknown id."""
        request = rr.GetWorkflowStatusRequest(workflow_id=workflow_id)
        return self._unary("GetWorkflowStatus", request).status

    def list_workflows(
        self, page_size: int = 0, page_token: str = "", states: Iterable[Any] = ()
    ) -> rr.ListWorkflowsResponse:
        """ListWorkflows: one page, newest first."""
        return self._unary("ListWorkflows", c.list_request(page_size, page_token, states))

    def cancel_workflow(self, workflow_id: str, reason: str = "") -> rr.CancelWorkflowResponse:
        """CancelWorkflow; ``cancelled`` is False when the workflow had already ended."""
        request = rr.CancelWorkflowRequest(workflow_id=workflow_id, reason=reason)
        return self._unary("CancelWorkflow", request)

    # EngineService

    def analyze_intent(self, message: str) -> workflow_pb2.DetectedIntent:
        """AnalyzeIntent: the server's reading of a message."""
        return self._unary("AnalyzeIntent", rr.AnalyzeIntentRequest(message=message)).intent

    def start_intent(
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
        return self._unary(
            "StartIntent", c.intent_request(message, context, session_id, request_id)
        )

    def register_agent(self, agent: agent_pb2.AgentInfo) -> agent_pb2.AgentInfo:
        """RegisterAgent: adds or replaces a registry entry."""
        return self._unary("RegisterAgent", rr.RegisterAgentRequest(agent=agent)).agent

    def list_agents(self) -> list[agent_pb2.AgentInfo]:
        """ListAgents: registered and connected agents with their load."""
        return list(self._unary("ListAgents", rr.ListAgentsRequest()).agents)

    def get_engine_metrics(self) -> engine_pb2.EngineMetrics:
        """GetEngineMetrics: counters, agent load, resource use and history."""
        return self._unary("GetEngineMetrics", rr.GetEngineMetricsRequest()).metrics
