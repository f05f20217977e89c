"""WorkflowService: create, start, stream, query and cancel workflows."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import grpc

from dwe.common.intents import Intent, IntentDetectionEngine
from dwe.common.spec import workflow_spec_from_dict
from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import service_pb2_grpc, workflow_pb2

from ..engine.config import UnknownWorkflow
from ..engine.events import Event
from ..engine.model import WorkflowState
from ..runtime.coordinator import Coordinator
from ..runtime.hub import SubscriberOverflow, Subscription
from ..runtime.views import StatusView, StepStatusView
from ..store.base import WorkflowQuery
from . import batch as batch_calls
from .convert import status_to_proto, summary_to_proto
from .errors import Precondition, streaming, unary
from .event_codec import EVENT_TYPES_IN, event_frame
from .handlers import frame, joined
from .limits import (
    MAX_EPOCH,
    MAX_NAME_LENGTH,
    MAX_PAGE,
    MAX_PAGE_TOKEN_LENGTH,
    MAX_SEQ,
    MAX_STATUS_STEPS,
    MAX_TEXT_LENGTH,
    MAX_WATCH_IDS,
    MAX_WATCH_TYPES,
    MIN_EPOCH,
    SizeLimits,
    quote,
)
from .scope import Scope, Scopes
from .validation import (
    ValidationError,
    check_count,
    check_id,
    check_length,
    decode_json_object,
    spec_from_proto,
)
from .wire import WORKFLOW_STATES, WORKFLOW_STATES_IN

DEFAULT_PAGE = 50
BEHIND = "subscriber fell too far behind; watch again with after_seq"
REPLAY_CHUNK = 500


class WorkflowServicer(service_pb2_grpc.WorkflowServiceServicer):
    def __init__(
        self,
        coordinator: Coordinator,
        default_timeout: float = 0.0,
        intents: IntentDetectionEngine | None = None,
        sizes: SizeLimits | None = None,
        scopes: Scopes | None = None,
    ) -> None:
        self._c = coordinator
        self._scopes = scopes or Scopes(None)
        self.admission = coordinator.admission  # read by the unary/streaming wrappers
        self._default_timeout = default_timeout
        self._intents = intents or IntentDetectionEngine()
        self._sizes = sizes or SizeLimits()
        self._budget = self._sizes.budget

    @unary
    async def CreateWorkflow(
        self, request: rr.CreateWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> rr.CreateWorkflowResponse:
        return await self._create(request, await self._scopes.of(context), self._budget - 512)

    @unary
    async def CreateWorkflows(
        self, request: rr.CreateWorkflowsRequest, context: grpc.aio.ServicerContext
    ) -> rr.CreateWorkflowsResponse:
        batch_calls.check_batch(len(request.requests), "requests")
        scope = await self._scopes.of(context)
        budget = batch_calls.item_budget(self._budget - 512, len(request.requests))
        outcomes = await batch_calls.each(self._create(r, scope, budget) for r in request.requests)
        return batch_calls.create_results(outcomes)

    async def _create(
        self, request: rr.CreateWorkflowRequest, scope: Scope, budget: int
    ) -> rr.CreateWorkflowResponse:
        if not request.HasField("spec"):
            raise ValidationError("spec is required")
        check_id(request.request_id, "request_id")
        spec = spec_from_proto(request.spec, self._default_timeout, self._sizes.max_payload)
        namespace = scope.target(request.namespace)
        workflow_id, created = await self._c.create_workflow(spec, request.request_id, namespace)
        status = await self._c.status(workflow_id)
        return rr.CreateWorkflowResponse(
            workflow_id=workflow_id, created=created, status=status_to_proto(status, budget)
        )

    @unary
    async def StartWorkflow(
        self, request: rr.StartWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> rr.StartWorkflowResponse:
        await self._visible(request.workflow_id, context)
        check_id(request.session_id, "session_id")
        ctx = decode_json_object(request.context, "context", self._sizes.max_payload)
        state = await self._c.start_workflow(
            request.workflow_id, ctx, request.session_id, context.invocation_metadata()
        )
        return rr.StartWorkflowResponse(state=WORKFLOW_STATES[state])

    @streaming
    async def ExecuteWorkflow(
        self, request: rr.ExecuteWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded ExecuteWorkflowResponse (see handlers.py)
        sub = self._c.subscribe([request.workflow_id])
        try:
            await self._start(request, context)
            async for events in _follow(sub, 0):
                for chunk in joined([event_frame(e) for e in events], self._budget):
                    yield chunk
        finally:
            self._c.unsubscribe(sub)

    @streaming
    async def ExecuteWorkflows(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded ExecuteWorkflowsResponse
        sub = self._c.hub.follower()
        following = batch_calls.Following(self._c.hub, sub)
        starts = batch_calls.start_each(
            requests, lambda item: self._start(item, context), following, context.peer()
        )
        reader = asyncio.create_task(starts)
        reader.add_done_callback(lambda _: sub.poke())
        try:
            while True:
                events = await _news(sub)
                if reader.done() and reader.exception() is not None:
                    raise reader.exception()  # type: ignore[misc]
                if errors := following.take_errors():
                    yield batch_calls.errors_frame(errors)
                if fresh := following.fresh(events):
                    for chunk in joined([event_frame(e) for e in fresh], self._budget):
                        yield chunk
                if reader.done() and not following.following:
                    return
        finally:
            reader.cancel()
            self._c.unsubscribe(sub)

    async def _start(
        self, request: rr.ExecuteWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> None:
        await self._visible(request.workflow_id, context)
        check_id(request.session_id, "session_id")
        ctx = decode_json_object(request.context, "context", self._sizes.max_payload)
        await self._c.start_workflow(
            request.workflow_id, ctx, request.session_id, context.invocation_metadata()
        )

    @streaming
    async def WatchWorkflow(
        self, request: rr.WatchWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded WatchWorkflowResponse
        wid = request.workflow_id
        await self._visible(wid, context)
        check_count(request.after_seq, "after_seq", MAX_SEQ)
        sub = self._c.subscribe([wid])  # before the replay, so nothing falls in between
        try:
            replay, follow = await self._c.replay(wid, request.after_seq)
            for i in range(0, len(replay), REPLAY_CHUNK):
                frames = [frame(e.data) for e in replay[i : i + REPLAY_CHUNK]]
                for chunk in joined(frames, self._budget):
                    yield chunk
            if follow:
                last = replay[-1].seq if replay else request.after_seq
                async for batch in _follow(sub, last):
                    for chunk in joined([event_frame(e) for e in batch], self._budget):
                        yield chunk
        finally:
            self._c.unsubscribe(sub)

    @streaming
    async def WatchEvents(
        self, request: rr.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:  # encoded WatchEventsResponse
        check_count(len(request.workflow_ids), "number of workflow_ids", MAX_WATCH_IDS)
        for i, wid in enumerate(request.workflow_ids):
            check_id(wid, f"workflow_ids[{i}]")
        check_count(len(request.types), "number of types", MAX_WATCH_TYPES)
        types = []
        for t in request.types:
            if t not in EVENT_TYPES_IN:
                raise ValidationError(f"types: unknown EventType value {t}")
            types.append(EVENT_TYPES_IN[t])
        namespaces = (await self._scopes.of(context)).among(request.namespaces)
        sub = self._c.subscribe(request.workflow_ids, types, namespaces)  # before the replay
        try:
            # Headers now, before any event: a caller (the HTTP gateway) learns the watch
            # was accepted without waiting for the first event, and where live events
            # begin: each one after this subscription has a greater position.
            await context.send_initial_metadata(((POSITION_HEADER, str(self._c.position)),))
            last = -1
            if request.HasField("after_position"):
                check_count(request.after_position, "after_position", MAX_SEQ)
                filters = ([str(t) for t in types] or None, list(request.workflow_ids) or None)
                scope = None if namespaces is None else sorted(namespaces)
                last = request.after_position
                while stored := await self._c.events_after(last, REPLAY_CHUNK, *filters, scope):
                    last = stored[-1][0]
                    for chunk in joined([frame(data) for _, data in stored], self._budget):
                        yield chunk
            async for batch in _batches(sub):
                fresh = [event_frame(e) for e in batch if e.position > last]
                for chunk in joined(fresh, self._budget):
                    yield chunk
        finally:
            self._c.unsubscribe(sub)

    @unary
    async def GetWorkflowStatus(
        self, request: rr.GetWorkflowStatusRequest, context: grpc.aio.ServicerContext
    ) -> rr.GetWorkflowStatusResponse:
        await self._visible(request.workflow_id, context)
        check_count(len(request.step_ids), "number of step_ids", MAX_STATUS_STEPS)
        for i, step_id in enumerate(request.step_ids):
            check_id(step_id, f"step_ids[{i}]")
        status = await self._c.status(request.workflow_id)
        if request.step_ids:
            status.steps = _only(status, request.step_ids)
        return rr.GetWorkflowStatusResponse(status=status_to_proto(status, self._budget))

    @unary
    async def ListWorkflows(
        self, request: rr.ListWorkflowsRequest, context: grpc.aio.ServicerContext
    ) -> rr.ListWorkflowsResponse:
        check_count(request.page_size, "page_size", MAX_PAGE)
        check_length(request.page_token, "page_token", MAX_PAGE_TOKEN_LENGTH)
        size = request.page_size or DEFAULT_PAGE
        before = _decode_token(request.page_token) if request.page_token else None
        namespaces = (await self._scopes.of(context)).among(request.namespaces)
        query = _list_query(request, namespaces)
        views, nxt = await self._c.list_page(query, size, before)
        response = rr.ListWorkflowsResponse()
        room = self._budget - 2 * MAX_PAGE_TOKEN_LENGTH
        for i, v in enumerate(views):
            row = summary_to_proto(v)
            room -= row.ByteSize() + 6
            if room < 0 and i:  # the rest on the next page
                nxt = (views[i - 1].created_at, views[i - 1].workflow_id)
                break
            response.workflows.append(row)
        response.next_page_token = _encode_token(*nxt) if nxt else ""
        return response

    @unary
    async def CancelWorkflow(
        self, request: rr.CancelWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> rr.CancelWorkflowResponse:
        await self._visible(request.workflow_id, context)
        check_length(request.reason, "reason", MAX_TEXT_LENGTH)
        cancelled, state = await self._c.cancel_workflow(request.workflow_id, request.reason)
        return rr.CancelWorkflowResponse(cancelled=cancelled, state=WORKFLOW_STATES[state])

    async def _visible(self, workflow_id: str, context: grpc.aio.ServicerContext) -> None:
        """A valid id of a workflow the caller may see; NOT_FOUND for one of another
        namespace, as for one that does not exist."""
        _require_id(workflow_id)
        if self._scopes.enabled:
            scope = await self._scopes.of(context)
            if not scope.unrestricted:
                namespace = await self._c.namespace_of(workflow_id)
                if namespace is None or not scope.sees(namespace):
                    raise UnknownWorkflow(workflow_id)

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
        check_length(request.message, "message", MAX_TEXT_LENGTH)
        return rr.AnalyzeIntentResponse(
            intent=self._detected(self._intents.analyze_intent(request.message))
        )

    @unary
    async def StartIntent(
        self, request: rr.StartIntentRequest, context: grpc.aio.ServicerContext
    ) -> rr.StartIntentResponse:
        if not request.message.strip():
            raise ValidationError("message is empty")
        check_length(request.message, "message", MAX_TEXT_LENGTH)
        check_id(request.request_id, "request_id")
        check_id(request.session_id, "session_id")
        namespace = (await self._scopes.of(context)).target(request.namespace)
        extra = decode_json_object(request.context, "context", self._sizes.max_payload)
        intent, workflow = self._intents.workflow_for(request.message)
        try:
            proto_spec = workflow_spec_from_dict(workflow)
        except ValueError as exc:
            raise ValidationError(f"template for {intent.primary_intent!r}: {exc}") from None
        spec = spec_from_proto(proto_spec, self._default_timeout, self._sizes.max_payload)
        workflow_id, created = await self._c.create_workflow(spec, request.request_id, namespace)
        state = (await self._c.status(workflow_id, with_steps=False)).state
        if created or state is WorkflowState.PENDING:
            state = await self._c.start_workflow(
                workflow_id, extra, request.session_id, context.invocation_metadata()
            )
        return rr.StartIntentResponse(
            intent=self._detected(intent), workflow_id=workflow_id, state=WORKFLOW_STATES[state]
        )


def _only(status: StatusView, step_ids: Sequence[str]) -> list[StepStatusView]:
    """The named steps of a status, in the order named; an unknown id is refused."""
    by_id = {s.step_id: s for s in status.steps}
    out = []
    for i, step_id in enumerate(step_ids):
        step = by_id.get(step_id)
        if step is None:
            raise ValidationError(
                f"step_ids[{i}]: workflow {quote(status.workflow_id)} has no step {quote(step_id)}"
            )
        out.append(step)
    return out


def _require_id(workflow_id: str) -> None:
    if not workflow_id:
        raise ValidationError("workflow_id is empty")
    check_id(workflow_id, "workflow_id")


async def _batches(sub: Subscription) -> AsyncIterator[list[Event]]:
    """Every batch a subscription receives, until it is closed."""
    while True:
        try:
            batch = await sub.next_batch()
        except SubscriberOverflow:
            raise Precondition(BEHIND) from None
        if not batch:
            return
        yield batch


async def _news(sub: Subscription) -> list[Event]:
    """A follower's next events (none when poked)."""
    try:
        return await sub.next_news()
    except SubscriberOverflow:
        raise Precondition(BEHIND) from None


async def _follow(sub: Subscription, after_seq: int) -> AsyncIterator[list[Event]]:
    """Live events with seq > after_seq until the terminal one."""
    last = after_seq
    async for batch in _batches(sub):
        fresh = [e for e in batch if e.seq > last]
        if fresh:
            last = fresh[-1].seq
            yield fresh
            if fresh[-1].terminal:
                return


#: WatchEvents' initial metadata: the last position before the watch (see above).
POSITION_HEADER = "dwe-position"


def _list_query(
    request: rr.ListWorkflowsRequest, namespaces: Collection[str] | None
) -> WorkflowQuery:
    """The store's query for a ListWorkflows request, its fields checked."""
    states = []
    for s in request.states:
        if s not in WORKFLOW_STATES_IN:
            raise ValidationError(f"states: unknown WorkflowState value {s}")
        states.append(str(WORKFLOW_STATES_IN[s]))
    check_length(request.name_prefix, "name_prefix", MAX_NAME_LENGTH)
    return WorkflowQuery(
        states=tuple(states),
        namespaces=None if namespaces is None else tuple(sorted(namespaces)),
        name_prefix=request.name_prefix,
        created_after=_instant(request, "created_after"),
        created_before=_instant(request, "created_before"),
    )


def _instant(request: rr.ListWorkflowsRequest, field: str) -> float | None:
    """A set Timestamp field as epoch seconds, None when unset."""
    if not request.HasField(field):
        return None
    stamp = getattr(request, field)
    if not 0 <= stamp.nanos < 1_000_000_000 or not MIN_EPOCH <= stamp.seconds <= MAX_EPOCH:
        raise ValidationError(f"{field}: not a valid timestamp")
    return float(stamp.seconds + stamp.nanos / 1e9)


def _encode_token(created_at: float, workflow_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at!r}|{workflow_id}".encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        created, wid = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return float(created), wid
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("page_token is not a token this server issued") from None
