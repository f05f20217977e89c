"""Async typed client: one method per RPC of WorkflowService and EngineService.

Methods take and return dwe.v1 protobuf messages; stream methods yield single
``WorkflowEvent`` messages (batches are flattened). Each RPC is declared once in
:mod:`dwe.clients.rpcs`. Every call carries the caller's OpenTelemetry context
as W3C ``traceparent`` metadata (unless ``trace_context=False``), and every gRPC
error is raised as a :class:`~dwe.clients.errors.DweError`.

Example::

    async with DweClient("127.0.0.1:50051") as client:
        created = await client.create_workflow(spec)
        async for event in client.execute_workflow(created.workflow_id):
            print(event.seq, event.type)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any, Self, TypeVar

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from dwe.clients import _common as c
from dwe.clients import rpcs
from dwe.clients.errors import DweError, from_status, translate_errors
from dwe.common.namespaces import default as default_namespace
from dwe.common.namespaces import names
from dwe.common.tls import TlsFiles, bearer, open_channel
from dwe.common.tls import resolve as resolve_tls
from dwe.v1 import agent_pb2, engine_pb2, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

__all__ = ["ChannelOptions", "DweClient"]

ChannelOptions = Sequence[tuple[str, Any]]

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)
Batch = TypeVar("Batch", bound=rpcs.EventBatch)


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
        trace_context: Send the caller's OpenTelemetry context with each call.
        tls: TLS files (:class:`~dwe.common.tls.TlsFiles`); None takes
            ``DWE_TLS_CA``/``DWE_TLS_CERT``/``DWE_TLS_KEY`` when any is set, else
            plaintext; True is TLS with those or the system's roots; False plaintext.
        token: Bearer token for a server with auth on; None takes DWE_TOKEN.
        namespace: Where ``create_workflow`` and ``start_intent`` create workflows
            when the call names no namespace; None takes DWE_NAMESPACE; empty:
            the caller's namespace ("default" with auth off, else the token's first).

    Attributes:
        namespace: That default namespace ("" for the caller's).
    """

    def __init__(
        self,
        target: str = c.DEFAULT_TARGET,
        *,
        options: ChannelOptions | None = None,
        rpc_timeout: float | None = c.DEFAULT_RPC_TIMEOUT,
        wait_for_ready: bool = False,
        trace_context: bool = True,
        tls: TlsFiles | bool | None = None,
        token: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self.target = target
        self.namespace = default_namespace(namespace)
        self._auth = bearer(token)
        self._tls = resolve_tls(tls)
        self._hint = (
            "if the server uses TLS, give its CA: tls=, --tls-ca or DWE_TLS_CA"
            if self._tls is None
            else "check the CA, and for mTLS the client certificate and key;"
            " a plaintext server needs tls=False"
        )
        self._options = list(options or ())
        if not any(name == "grpc.max_receive_message_length" for name, _ in self._options):
            # The server never sends more than its --max-message-bytes (GetServerInfo).
            self._options.append(("grpc.max_receive_message_length", -1))
        self._timeout = rpc_timeout
        self._wait = wait_for_ready
        self._trace = trace_context
        self._channel: grpc.aio.Channel | None = None
        self._bound: dict[str, Any] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channel, cancelling open streams. Safe to call twice."""
        self._closed = True
        channel, self._channel = self._channel, None
        self._bound.clear()
        if channel is not None:
            await channel.close()

    def _callable(self, rpc: rpcs.UnaryRpc[Any, Any] | rpcs.StreamRpc[Any, Any]) -> Any:
        """The RPC's callable on this client's channel, opening the channel on first use."""
        if self._closed:
            raise RuntimeError("DweClient is closed")
        if self._channel is None:
            self._channel = open_channel(self.target, self._tls, self._options)
        bound = self._bound.get(rpc.path)
        if bound is None:
            bound = self._bound[rpc.path] = rpc.bind(self._channel)
        return bound

    def _metadata(self) -> c.Metadata:
        return (*self._auth, *c.trace_metadata()) if self._trace else self._auth

    async def _unary(self, rpc: rpcs.UnaryRpc[Req, Resp], request: Req) -> Resp:
        call = self._callable(rpc)
        with translate_errors(self.target, self._hint):
            response: Resp = await call(
                request, timeout=self._timeout, metadata=self._metadata(), wait_for_ready=self._wait
            )
        return response

    async def _stream(
        self, rpc: rpcs.StreamRpc[Req, Batch], request: Req
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        responses: AsyncGenerator[Batch, None] = self._responses(rpc, request)
        async with aclosing(responses):
            async for batch in responses:
                for event in batch.events:
                    yield event

    # WorkflowService

    async def create_workflow(
        self, spec: workflow_pb2.WorkflowSpec, request_id: str | None = None, namespace: str = ""
    ) -> rr.CreateWorkflowResponse:
        """CreateWorkflow: validates and stores ``spec``; idempotent by ``request_id``.

        Args:
            spec: The workflow (see :func:`dwe.clients.spec.build_workflow_spec`).
            request_id: Idempotency key (unique per namespace); a fresh one when None.
            namespace: Where to create it; empty: the client's ``namespace``.

        Raises:
            ValidationError: The spec or the namespace name is invalid (nothing was stored).
            PermissionDeniedError: The token does not grant the namespace.
        """
        request = c.create_request(spec, request_id, namespace or self.namespace)
        return await self._unary(rpcs.CREATE_WORKFLOW, request)

    async def create_workflows(
        self, requests: Sequence[rr.CreateWorkflowRequest]
    ) -> list[rr.CreateWorkflowResponse | DweError]:
        """CreateWorkflows: up to 1,000 creates in one call, each created on its own.

        Returns, in request order, each workflow's response or the error its own
        CreateWorkflow would have raised (nothing of a failed item is stored). Build
        requests with :func:`dwe.clients._common.create_request`; an empty namespace
        takes the client's.
        """
        batch = rr.CreateWorkflowsRequest()
        for request in requests:
            item = batch.requests.add()
            item.CopyFrom(request)
            item.namespace = item.namespace or self.namespace
        response: rr.CreateWorkflowsResponse = await self._unary(rpcs.CREATE_WORKFLOWS, batch)
        return [
            from_status(r.error.code, r.error.message) if r.HasField("error") else r.created
            for r in response.results
        ]

    def execute_workflows(
        self,
        requests: Sequence[rr.ExecuteWorkflowRequest]
        | AsyncIterable[Sequence[rr.ExecuteWorkflowRequest]],
    ) -> AsyncGenerator[rr.ExecuteWorkflowsResponse, None]:
        """ExecuteWorkflows: starts PENDING workflows (up to 1,000 per message) and yields
        the stream's messages: the events of all of them, interleaved, and the errors of
        items that did not start. Given a sequence, it is one message and the stream
        ends when each of its workflows has; given an async iterable of sequences, each
        is a message sent as it comes, and the stream ends once the iterable has ended
        and every workflow has. Leaving early cancels the stream."""
        batches = _once(requests) if isinstance(requests, Sequence) else _each(requests)
        return self._responses(rpcs.EXECUTE_WORKFLOWS, batches)

    async def _responses(
        self, rpc: rpcs.StreamRpc[Req, Batch], request: Req | AsyncIterator[Req]
    ) -> AsyncGenerator[Batch, None]:
        call = self._callable(rpc)(request, metadata=self._metadata(), wait_for_ready=self._wait)
        try:
            with translate_errors(self.target, self._hint):
                async for response in call:
                    yield response
        finally:
            call.cancel()

    async def start_workflow(
        self, workflow_id: str, context: c.Context = None, session_id: str | None = None
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
        request = c.start_request(workflow_id, context, session_id)
        return await self._unary(rpcs.START_WORKFLOW, request)

    def execute_workflow(
        self, workflow_id: str, context: c.Context = None, session_id: str | None = None
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """ExecuteWorkflow: starts a PENDING workflow and yields its events to the terminal one.

        Leaving the loop early cancels the stream (not the workflow).
        """
        request = c.execute_request(workflow_id, context, session_id)
        return self._stream(rpcs.EXECUTE_WORKFLOW, request)

    def watch_workflow(
        self, workflow_id: str, after_seq: int = 0
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """WatchWorkflow: replays events with seq > ``after_seq``, then follows live ones."""
        request = rr.WatchWorkflowRequest(workflow_id=workflow_id, after_seq=after_seq)
        return self._stream(rpcs.WATCH_WORKFLOW, request)

    def watch_events(
        self,
        types: Iterable[int | str] = (),
        workflow_ids: Iterable[str] = (),
        namespaces: c.Namespaces = (),
        after_position: int | None = None,
    ) -> AsyncGenerator[workflow_pb2.WorkflowEvent, None]:
        """WatchEvents: live events of all workflows, filtered by type names/numbers, ids
        and namespaces (empty: every namespace the caller may see). With
        ``after_position``, stored events after it come first (0: from the start): pass
        the last ``event.position`` seen to resume a broken stream without a gap."""
        request = c.watch_events_request(types, workflow_ids, namespaces)
        if after_position is not None:
            request.after_position = after_position
        return self._stream(rpcs.WATCH_EVENTS, request)

    async def get_workflow_status(
        self, workflow_id: str, step_ids: Iterable[str] = ()
    ) -> workflow_pb2.WorkflowStatus:
        """GetWorkflowStatus, of every step or only of ``step_ids``.

        A status larger than the server's message limit leaves outputs out
        (``output_omitted``) and then the last steps (``omitted_steps``); ask for
        those by ``step_ids``. Raises NotFoundError for an unknown id.
        """
        request = rr.GetWorkflowStatusRequest(workflow_id=workflow_id, step_ids=step_ids)
        return (await self._unary(rpcs.GET_WORKFLOW_STATUS, request)).status

    async def list_workflows(
        self,
        page_size: int = 0,
        page_token: str = "",
        states: Iterable[c.StateFilter] = (),
        namespaces: c.Namespaces = (),
        name_prefix: str = "",
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> rr.ListWorkflowsResponse:
        """ListWorkflows: one page, newest first; follow ``next_page_token``.

        ``namespaces`` keeps those namespaces' workflows only (empty: every namespace
        the caller may see); one the token does not grant is PermissionDeniedError.
        ``name_prefix`` and ``created_after`` (at or after) / ``created_before`` narrow
        the list further.
        """
        created = (created_after, created_before)
        request = c.list_request(page_size, page_token, states, namespaces, name_prefix, created)
        return await self._unary(rpcs.LIST_WORKFLOWS, request)

    async def cancel_workflow(
        self, workflow_id: str, reason: str = ""
    ) -> rr.CancelWorkflowResponse:
        """CancelWorkflow; ``cancelled`` is False when the workflow had already ended."""
        request = rr.CancelWorkflowRequest(workflow_id=workflow_id, reason=reason)
        return await self._unary(rpcs.CANCEL_WORKFLOW, request)

    async def analyze_intent(self, message: str) -> workflow_pb2.DetectedIntent:
        """AnalyzeIntent: the server's reading of a message."""
        request = rr.AnalyzeIntentRequest(message=message)
        return (await self._unary(rpcs.ANALYZE_INTENT, request)).intent

    async def start_intent(
        self,
        message: str,
        context: c.Context = None,
        session_id: str | None = None,
        request_id: str | None = None,
        namespace: str = "",
    ) -> rr.StartIntentResponse:
        """StartIntent: create and start the workflow the message's intent maps to,
        in ``namespace`` (empty: the client's ``namespace``).

        Raises:
            FailedPreconditionError: No confident intent, or no template for it.
        """
        namespace = namespace or self.namespace
        request = c.intent_request(message, context, session_id, request_id, namespace)
        return await self._unary(rpcs.START_INTENT, request)

    # EngineService

    async def register_agent(self, agent: agent_pb2.AgentInfo) -> agent_pb2.AgentInfo:
        """RegisterAgent: adds or replaces a registry entry, in ``agent.namespace``
        (empty: the caller's namespace)."""
        request = rr.RegisterAgentRequest(agent=agent)
        return (await self._unary(rpcs.REGISTER_AGENT, request)).agent

    async def list_agents(self, namespaces: c.Namespaces = ()) -> list[agent_pb2.AgentInfo]:
        """ListAgents: registered and connected agents with their load, of ``namespaces``
        (empty: every namespace the caller may see)."""
        request = rr.ListAgentsRequest(namespaces=names(namespaces))
        return list((await self._unary(rpcs.LIST_AGENTS, request)).agents)

    async def get_engine_metrics(self, namespaces: c.Namespaces = ()) -> engine_pb2.EngineMetrics:
        """GetEngineMetrics: counters, agent load, resource use and history.

        With ``namespaces`` (or a token that sees only some namespaces) the workflow and
        agent figures are those namespaces'; the history series are left out then.
        """
        request = rr.GetEngineMetricsRequest(namespaces=names(namespaces))
        return (await self._unary(rpcs.GET_ENGINE_METRICS, request)).metrics

    async def get_server_info(self) -> rr.GetServerInfoResponse:
        """GetServerInfo: the server's version and its message and payload limits, and who
        the caller is: ``subject``, ``role``, ``namespace`` (where its creates go) and
        ``namespaces`` (what it may see; ``["*"]``: every namespace)."""
        return await self._unary(rpcs.GET_SERVER_INFO, rr.GetServerInfoRequest())

    async def prune_workflows(
        self, older_than: float, dry_run: bool = False, namespaces: c.Namespaces = ()
    ) -> rr.PruneWorkflowsResponse:
        """PruneWorkflows: deletes workflows that ended over ``older_than`` seconds ago.

        Their steps, events and pipeline records go with them; running, queued and
        pending workflows stay. ``workflows`` and ``events`` of the response count
        what was deleted, or with ``dry_run`` what would be (nothing is deleted).
        Only ``namespaces``' workflows (empty: every namespace the caller may see).

        Raises:
            ValidationError: ``older_than`` is negative or over 100 years.
        """
        older = Duration()
        older.FromNanoseconds(round(older_than * 1e9))
        request = rr.PruneWorkflowsRequest(
            older_than=older, dry_run=dry_run, namespaces=names(namespaces)
        )
        return await self._unary(rpcs.PRUNE_WORKFLOWS, request)


async def _once(
    requests: Sequence[rr.ExecuteWorkflowRequest],
) -> AsyncIterator[rr.ExecuteWorkflowsRequest]:
    yield rr.ExecuteWorkflowsRequest(workflows=requests)


async def _each(
    batches: AsyncIterable[Sequence[rr.ExecuteWorkflowRequest]],
) -> AsyncIterator[rr.ExecuteWorkflowsRequest]:
    async for requests in batches:
        yield rr.ExecuteWorkflowsRequest(workflows=requests)
