"""AgentService.Connect: one bidirectional stream per agent session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import orjson

from dwe.v1 import agent_pb2, common_pb2, service_pb2_grpc

from ..auth import AuthError, TokenKeys
from ..engine.model import JSON_ENCODING, Dispatch, ErrorInfo
from ..runtime.coordinator import Coordinator, Progress, Result
from ..runtime.directory import AgentIdInUse, Hello
from .agent_checks import hello_from_proto, result_seconds
from .errors import refuse_undecodable
from .guard import agent_grant_problem, claims_of
from .handlers import Undecodable
from .limits import MAX_TEXT_LENGTH, SizeLimits, bounded, clip, quote, size_text
from .links import StreamLink
from .scope import BadNamespace, NamespaceDenied, Scopes
from .validation import ValidationError
from .wire import blob_of, json_payload

log = logging.getLogger("dwe.server.agents")


#: The error type of an attempt whose output, progress or assignment is too large.
TOO_LARGE = "PayloadTooLarge"
#: The error type of an attempt whose json/plain output is not JSON.
INVALID_PAYLOAD = "InvalidPayload"


def _too_large(what: str, size: int, limit: int, flag: str) -> str:
    return f"{what} is {size_text(size)} ({size} bytes), over the limit of {limit} bytes ({flag})"


def _results(msg: agent_pb2.ConnectRequest, max_payload: int) -> list[Result]:
    out: list[Result] = []
    for r in msg.results:
        seconds = result_seconds(r.duration, r.attempt_id)
        if r.HasField("error"):
            e = r.error
            error = ErrorInfo(clip(e.message, MAX_TEXT_LENGTH), e.type or "Error", e.retryable)
            out.append((r.attempt_id, None, error, seconds, r.progress_count))
        elif len(r.output.data) > max_payload:
            why = _too_large("the output", len(r.output.data), max_payload, "--max-payload-bytes")
            error = ErrorInfo(why, TOO_LARGE, False)
            out.append((r.attempt_id, None, error, seconds, r.progress_count))
        elif (bad := _not_json(r.output)) is not None:
            error = ErrorInfo(f"the output {bad}", INVALID_PAYLOAD, False)
            out.append((r.attempt_id, None, error, seconds, r.progress_count))
        else:
            out.append((r.attempt_id, blob_of(r.output), None, seconds, r.progress_count))
    return out


def _not_json(payload: common_pb2.Payload) -> str | None:
    """Why a json/plain payload is not JSON; None when it is (or has another encoding)."""
    if payload.encoding not in ("", JSON_ENCODING) or not payload.data:
        return None
    try:
        orjson.loads(payload.data)
    except orjson.JSONDecodeError as exc:
        return f"is not valid JSON (encoding {JSON_ENCODING}): {clip(str(exc), 200)}"
    return None


def _progress(msg: agent_pb2.ConnectRequest, max_payload: int) -> list[Progress]:
    out: list[Progress] = []
    for p in msg.progress:
        size = len(p.data.data) + len(p.content)
        if size > max_payload:
            why = _too_large("progress", size, max_payload, "--max-payload-bytes")
        else:
            bad = _not_json(p.data) if p.HasField("data") else None
            why = "" if bad is None else f"progress data {bad}"
        if why:  # dropped, and said so where watchers look
            log.warning("attempt %s: %s; dropped", quote(p.attempt_id), why)
            out.append((p.attempt_id, f"[{why}; dropped]", None, p.index))
        else:
            data = blob_of(p.data) if p.HasField("data") else None
            out.append((p.attempt_id, p.content, data, p.index))
    return out


def _refusal(msg: agent_pb2.ConnectRequest | Undecodable) -> str:
    """Why a message after hello ends the session (INVALID_ARGUMENT); empty when it is fine."""
    if isinstance(msg, Undecodable):
        return msg.message
    if msg.HasField("hello"):
        return "hello is allowed only in the first message of a stream"
    for i, p in enumerate(msg.progress):
        if p.index < 0:
            return f"progress[{i}].index {p.index} must not be negative"
    for i, r in enumerate(msg.results):
        if r.progress_count < 0:
            return f"results[{i}].progress_count {r.progress_count} must not be negative"
    return ""


class AgentServicer(service_pb2_grpc.AgentServiceServicer):
    def __init__(
        self,
        coordinator: Coordinator,
        heartbeat_interval: float = 5.0,
        sizes: SizeLimits | None = None,
        keys: TokenKeys | None = None,
    ) -> None:
        self._c = coordinator
        self._heartbeat = heartbeat_interval
        self._sizes = sizes or SizeLimits()
        self._keys = keys
        self._scopes = Scopes(keys)

    async def _hello(
        self,
        request_iterator: AsyncIterator[agent_pb2.ConnectRequest],
        context: grpc.aio.ServicerContext,
    ) -> Hello | None:
        try:
            first = await anext(aiter(request_iterator))
        except StopAsyncIteration:
            return None
        if isinstance(first, Undecodable):
            await refuse_undecodable("Connect", first, context)
        if not first.HasField("hello"):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first message must carry hello.agent_id"
            )
        scope = await self._scopes.of(context)
        reg = self._c.registration(first.hello.agent_id)
        wanted = first.hello.namespace
        if not wanted and reg is not None and scope.sees(reg.namespace):
            wanted = reg.namespace  # the registry entry says where the agent belongs
        try:
            namespace = scope.target(wanted, "hello.namespace")
            registered = reg is not None and reg.namespace == namespace
            return hello_from_proto(first.hello, registered, namespace)
        except (ValidationError, BadNamespace) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, bounded(str(exc)))
        except NamespaceDenied as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, bounded(str(exc)))
        raise AssertionError("unreachable: abort raises")

    def _welcome(
        self, hello: Hello, sid: str, resumed: list[str], dropped: list[str]
    ) -> agent_pb2.Welcome:
        welcome = agent_pb2.Welcome(
            session_id=sid,
            namespace=hello.namespace,
            resumed_attempt_ids=resumed,
            dropped_attempt_ids=dropped,
            max_message_bytes=self._sizes.max_message,
            max_payload_bytes=self._sizes.max_payload,
            resumed_progress=self._c.progress_of(resumed),
        )
        welcome.heartbeat_interval.FromNanoseconds(int(self._heartbeat * 1e9))
        registered = self._c.registration(hello.agent_id)
        if registered is not None and registered.namespace == hello.namespace and registered.config:
            welcome.config.CopyFrom(json_payload(registered.config))
        return welcome

    async def Connect(
        self,
        request_iterator: AsyncIterator[agent_pb2.ConnectRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[agent_pb2.ConnectResponse]:
        hello = await self._hello(request_iterator, context)
        if hello is None:
            return
        if self._c.admission.refusing:
            self._c.admission.refused()
            await context.abort(grpc.StatusCode.UNAVAILABLE, "server shutting down; reconnect")
        if self._keys is not None:
            await self._check_grant(hello, context)
        link = StreamLink(self._sizes.max_message)
        try:
            sid, resumed, dropped = self._c.connect_agent(link, hello)
        except AgentIdInUse as exc:
            await self._refuse_twin(exc, context)
            return
        link.too_large = lambda d, size: self._too_large_assignment(sid, d, size)
        welcome = self._welcome(hello, sid, resumed, dropped)
        reader = asyncio.create_task(self._read(request_iterator, sid, link))
        watchdog = asyncio.create_task(self._watch(sid, link))
        try:
            yield agent_pb2.ConnectResponse(welcome=welcome)
            while True:
                msg = await link.next_message()
                if msg is None:
                    break
                yield msg
            if link.code is not None:
                await context.abort(link.code, bounded(link.reason))
        finally:
            reader.cancel()
            watchdog.cancel()
            self._c.disconnect_agent(sid)

    async def _check_grant(self, hello: Hello, context: grpc.aio.ServicerContext) -> None:
        """Under auth, an agent token connects only as the agent id and capabilities it
        grants (the guard has verified the token already)."""
        assert self._keys is not None
        try:
            claims = claims_of(self._keys, context)
        except AuthError as exc:  # expired since the guard looked
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            raise  # unreachable: abort raises
        problem = agent_grant_problem(claims, hello.agent_id, hello.capabilities)
        if problem:
            log.warning("agent session refused for %s: %s", quote(claims.subject), problem)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, bounded(problem))

    def _too_large_assignment(self, session_id: str, d: Dispatch, size: int) -> None:
        """An assignment larger than any message: its attempt fails, not retried."""
        why = _too_large(
            "the assignment (context and inputs)",
            size,
            self._sizes.max_message,
            "--max-message-bytes",
        )
        log.warning("attempt %s of workflow %s: %s", d.attempt_id, d.workflow_id, why)
        error = ErrorInfo(why, TOO_LARGE, False)
        self._c.agent_report(session_id, (), [], [(d.attempt_id, None, error, 0.0, 0)])

    async def _refuse_twin(self, exc: AgentIdInUse, context: grpc.aio.ServicerContext) -> None:
        since = datetime.fromtimestamp(exc.since, UTC).isoformat(timespec="seconds")
        message = (
            f"agent {quote(exc.agent_id)} already has a live session (since {since});"
            " stop the other process or pick another id"
        )
        log.warning("%s (refused a session from %s)", message, context.peer())
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, message)

    async def _watch(self, session_id: str, link: StreamLink) -> None:
        """Close a session whose agent sent nothing (not even a heartbeat) for 3 intervals.

        A hung agent keeps its TCP connection open; without this its attempts
        would never be re-queued.
        """
        loop = asyncio.get_running_loop()
        limit = 3 * self._heartbeat
        while not link.closed:
            await asyncio.sleep(self._heartbeat)
            silent = loop.time() - link.last_seen
            if silent > limit:
                log.warning(
                    "agent session %s sent nothing for %.1fs (limit %.1fs); closing it",
                    session_id,
                    silent,
                    limit,
                )
                link.close(
                    f"no message for {silent:.1f} s (3 heartbeat intervals of"
                    f" {self._heartbeat:g} s); reconnect"
                )
                return

    async def _read(
        self,
        request_iterator: AsyncIterator[agent_pb2.ConnectRequest],
        session_id: str,
        link: StreamLink,
    ) -> None:
        report = self._c.agent_report
        max_payload = self._sizes.max_payload
        loop = asyncio.get_running_loop()
        try:
            async for msg in request_iterator:
                link.last_seen = loop.time()
                refusal = _refusal(msg)
                if refusal:
                    log.warning("agent session %s: %s; ending it", session_id, refusal)
                    link.close(refusal, grpc.StatusCode.INVALID_ARGUMENT)
                    return
                if msg.results or msg.started or msg.progress:
                    report(
                        session_id,
                        msg.started,
                        _progress(msg, max_payload) if msg.progress else [],
                        _results(msg, max_payload) if msg.results else [],
                    )
        except (asyncio.CancelledError, grpc.aio.AioRpcError, grpc.aio.AbortError):
            pass  # the stream ended: the agent went away, or the server ended it
        except Exception:  # a server bug: still end the stream with a status and a reason
            log.exception("agent session %s: failed to handle a message", session_id)
            link.close("the server failed to handle a message; reconnect")
        finally:
            link.ended()
