"""WorkflowService: create, start, stream, query and cancel workflows."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import grpc

from dwe.clients.errors import ValidationError as ClientValidationError
from dwe.clients.intents import Intent, IntentDetectionEngine
from dwe.clients.spec import workflow_spec_from_dict
from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import service_pb2_grpc, workflow_pb2

from ..coordinator import Coordinator
from ..engine.model import TERMINAL_EVENTS, Event, WorkflowState
from ..hub import SubscriberOverflow, Subscription
from ..views import StatusView, status_of_row, status_of_run
from .convert import (
    EVENT_TYPES_IN,
    WORKFLOW_STATES,
    WORKFLOW_STATES_IN,
    event_frame,
    status_to_proto,
    summary_to_proto,
)
from .errors import NotFound, Precondition, streaming, unary
from .handlers import frame
from .validation import ValidationError, decode_json_object, spec_from_proto

DEFAULT_PAGE = 50
MAX_PAGE = 1000


class WorkflowServicer(service_pb2_grpc.WorkflowServiceServicer):
    def __init__(
        self,
        coordinator: Coordinator,
        default_timeout: float = 0.0,
        intents: IntentDetectionEngine | None = None,
    ) -> None:
        self._c = coordinator
        self._default_timeout = default_timeout
        self._intents = intents or IntentDetectionEngine()

    # -- helpers ----------------------------------------------------------------

    async def _status(self, workflow_id: str, with_steps: bool = True) -> StatusView:
        now = self._c.clock()
        run = self._c.live(workflow_id)
        if run is not None:
            return status_of_run(run, now, with_steps)
        row = await self._c.stored(workflow_id)
        if row is None:
            raise NotFound(workflow_id)
        return status_of_row(row, now)

    async def _require_startable(self, workflow_id: str) -> None:
        if not workflow_id:
            raise ValidationError("workflow_id is empty")
        if self._c.live(workflow_id) is None:
            row = await self._c.stored(workflow_id)
            if row is None:
                raise NotFound(workflow_id)
            raise Precondition(f"workflow {workflow_id} already ended ({row.state})")

    async def _follow(self, sub: Subscription, after_seq: int) -> AsyncIterator[list[Event]]:
        """Live events with seq > after_seq until the terminal one."""
        last = after_seq
        async for batch in _batches(sub):
            fresh = [e for e in batch if e.seq > last]
            if fresh:
                last = fresh[-1].seq
                yield fresh
                if fresh[-1].type in TERMINAL_EVENTS:
                    return

    # -- RPCs ----------------------------------------------------------------------

    @unary
    async def CreateWorkflow(
        self, request: rr.CreateWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> rr.CreateWorkflowResponse:
        if not request.HasField("spec"):
            raise ValidationError("spec is required")
        spec = spec_from_proto(request.spec, self._default_timeout)
        workflow_id, created = await self._c.create_workflow(spec, request.request_id)
        status = await self._status(workflow_id)
        return rr.CreateWorkflowResponse(
            workflow_id=workflow_id, created=created, status=status_to_proto(status)
        )

    @unary
    async def StartWorkflow(
        self, request: rr.StartWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> rr.StartWorkflowResponse:
        await self._require_startable(request.workflow_id)
        ctx = decode_json_object(request.context, "context")
        state = await self._c.start_workflow(
            request.workflow_id,
            ctx,
            request.session_id,
            context.invocation_metadata(),
        )
        return rr.StartWorkflowResponse(state=WORKFLOW_STATES[state])

    @streaming
    async def ExecuteWorkflow(
        self, request: rr.ExecuteWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded ExecuteWorkflowResponse (see handlers.py)
        await self._require_startable(request.workflow_id)
        ctx = decode_json_object(request.context, "context")
        sub = self._c.subscribe([request.workflow_id])
        try:
            await self._c.start_workflow(
                request.workflow_id,
                ctx,
                request.session_id,
                context.invocation_metadata(),
            )
            async for batch in self._follow(sub, 0):
                yield b"".join([event_frame(e) for e in batch])
        finally:
            self._c.hub.unsubscribe(sub)

    @streaming
    async def WatchWorkflow(
        self, request: rr.WatchWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded WatchWorkflowResponse
        wid = request.workflow_id
        if not wid:
            raise ValidationError("workflow_id is empty")
        sub = self._c.subscribe([wid])
        try:
            run = self._c.live(wid)
            if run is None and await self._c.stored(wid) is None:
                raise NotFound(wid)
            last = request.after_seq
            replay = await self._c.events_after(wid, last)
            for i in range(0, len(replay), 500):
                yield b"".join([frame(e.data) for e in replay[i : i + 500]])
            if replay:
                last = replay[-1].seq
                if replay[-1].type in TERMINAL_EVENTS:
                    return
            run = self._c.live(wid)
            if run is None or (run.state.terminal and run.seq <= last):
                return
            async for batch in self._follow(sub, last):
                yield b"".join([event_frame(e) for e in batch])
        finally:
            self._c.hub.unsubscribe(sub)

    @streaming
    async def WatchEvents(
        self, request: rr.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded WatchEventsResponse
        types = []
        for t in request.types:
            if t not in EVENT_TYPES_IN:
                raise ValidationError(f"types: unknown EventType value {t}")
            types.append(EVENT_TYPES_IN[t])
        sub = self._c.hub.subscribe(request.workflow_ids, types)
        try:
            async for batch in _batches(sub):
                yield b"".join([event_frame(e) for e in batch])
        finally:
            self._c.hub.unsubscribe(sub)

    @unary
    async def GetWorkflowStatus(
        self, request: rr.GetWorkflowStatusRequest, context: grpc.aio.ServicerContext
    ) -> rr.GetWorkflowStatusResponse:
        if not request.workflow_id:
            raise ValidationError("workflow_id is empty")
        status = await self._status(request.workflow_id)
        return rr.GetWorkflowStatusResponse(status=status_to_proto(status))

    @unary
    async def ListWorkflows(
        self, request: rr.ListWorkflowsRequest, context: grpc.aio.ServicerContext
    ) -> rr.ListWorkflowsResponse:
        size = min(request.page_size or DEFAULT_PAGE, MAX_PAGE)
        states = []
        for s in request.states:
            if s not in WORKFLOW_STATES_IN:
                raise ValidationError(f"states: unknown WorkflowState value {s}")
            states.append(str(WORKFLOW_STATES_IN[s]))
        before = _decode_token(request.page_token) if request.page_token else None
        rows = await self._c.read(self._c.store.list_workflows, states, size + 1, before)
        now = self._c.clock()
        views = []
        for row in rows[:size]:
            run = self._c.live(row.workflow_id)
            views.append(
                status_of_run(run, now, with_steps=False) if run else status_of_row(row, now)
            )
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = _encode_token(last.created_at, last.workflow_id)
        return rr.ListWorkflowsResponse(
            workflows=[summary_to_proto(v) for v in views], next_page_token=token
        )

    @unary
    async def CancelWorkflow(
        self, request: rr.CancelWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> rr.CancelWorkflowResponse:
        wid = request.workflow_id
        if not wid:
            raise ValidationError("workflow_id is empty")
        if self._c.live(wid) is None:
            row = await self._c.stored(wid)
            if row is None:
                raise NotFound(wid)
            return rr.CancelWorkflowResponse(
                cancelled=False, state=WORKFLOW_STATES[WorkflowState(row.state)]
            )
        cancelled = await self._c.cancel_workflow(wid, request.reason)
        run = self._c.live(wid)
        state = run.state if run is not None else WorkflowState.CANCELLED
        return rr.CancelWorkflowResponse(cancelled=cancelled, state=WORKFLOW_STATES[state])

    # -- intents -------------------------------------------------------------------

    def _detected(self, intent: Intent) -> workflow_pb2.DetectedIntent:
        return workflow_pb2.DetectedIntent(
            primary_intent=intent.primary_intent,
            confidence=intent.confidence,
            entities=intent.entities,
            candidate=intent.candidate,
            threshold=self._intents.confidence_threshold,
        )

    @unary
    async def AnalyzeIntent(
        self, request: rr.AnalyzeIntentRequest, context: grpc.aio.ServicerContext
    ) -> rr.AnalyzeIntentResponse:
        return rr.AnalyzeIntentResponse(
            intent=self._detected(self._intents.analyze_intent(request.message))
        )

    @unary
    async def StartIntent(
        self, request: rr.StartIntentRequest, context: grpc.aio.ServicerContext
    ) -> rr.StartIntentResponse:
        if not request.message.strip():
            raise ValidationError("message is empty")
        extra = decode_json_object(request.context, "context")
        intent, workflow = self._intents.workflow_for(request.message)
        try:
            proto_spec = workflow_spec_from_dict(workflow)
        except ClientValidationError as exc:
            raise ValidationError(f"template for {intent.primary_intent!r}: {exc}") from None
        spec = spec_from_proto(proto_spec, self._default_timeout)
        workflow_id, created = await self._c.create_workflow(spec, request.request_id)
        run = self._c.live(workflow_id)
        state = run.state if run is not None else WorkflowState.COMPLETED
        if created or state is WorkflowState.PENDING:
            state = await self._c.start_workflow(
                workflow_id, extra, request.session_id, context.invocation_metadata()
            )
        return rr.StartIntentResponse(
            intent=self._detected(intent), workflow_id=workflow_id, state=WORKFLOW_STATES[state]
        )


async def _batches(sub: Subscription) -> AsyncIterator[list[Event]]:
    """Every batch a subscription receives, until it is closed."""
    while True:
        try:
            batch = await sub.next_batch()
        except SubscriberOverflow:
            raise Precondition(
                "subscriber fell too far behind; watch again with after_seq"
            ) from None
        if not batch:
            return
        yield batch


def _encode_token(created_at: float, workflow_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at!r}|{workflow_id}".encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        created, wid = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return float(created), wid
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("page_token is not a token this server issued") from None
