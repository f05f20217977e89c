"""The auth check in front of every dwe.v1 method: a valid token, with a role that may call it.

Runs as a grpc.aio server interceptor, before any request is decoded: a call without a
valid token gets UNAUTHENTICATED with the reason, one whose role may not call the method
gets PERMISSION_DENIED naming the role it needs, and neither reaches a handler. Health
checks and reflection pass without a token. The token itself is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from dwe.v1 import service_pb2

from ..auth import AuthError, Claims, TokenKeys, allowed, needed_role
from .deferred import Check, checked
from .limits import quote
from .quotas import CALLER, STREAMS, Quotas, TokenLimits

log = logging.getLogger("dwe.server.auth")

#: (client streaming, server streaming) of every dwe.v1 method, by name.
KINDS = {
    m.name: (m.client_streaming, m.server_streaming)
    for s in service_pb2.DESCRIPTOR.services_by_name.values()
    for m in s.methods
}


def authorization(metadata: Any) -> str:
    """The ``authorization`` value of call metadata ('' when absent)."""
    for key, value in metadata or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return ""


def peer_common_name(context: grpc.aio.ServicerContext) -> str:
    """The subject common name of the client's certificate ('' without mTLS)."""
    names = (context.auth_context() or {}).get("x509_common_name") or []
    return names[0].decode("utf-8", "replace") if names else ""


def claims_of(keys: TokenKeys, context: grpc.aio.ServicerContext) -> Claims:
    """Who the caller is: its token, or else its client certificate when the server has
    a certificate map. AuthError when neither holds."""
    auth = authorization(context.invocation_metadata())
    if not auth and keys.certificates is not None:
        return keys.for_certificate(peer_common_name(context))
    return keys.verify(auth)


class AuthGuard(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses calls to dwe.v1 methods that the caller's token does not allow."""

    def __init__(self, keys: TokenKeys, quotas: Quotas | None = None) -> None:
        self.keys = keys
        self.quotas = quotas or Quotas(TokenLimits())
        self.refused = 0  # calls refused (metrics and tests)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        service, _, name = details.method.rpartition("/")
        if not service.startswith("/dwe.v1.") or name not in KINDS:
            return await continuation(details)  # health, reflection
        auth = authorization(details.invocation_metadata)
        if not auth and self.keys.certificates is not None:
            handler = await continuation(details)  # the peer's certificate decides, inside
            if handler is not None and name == "CreateWorkflows" and self._rated:
                handler = self.quotas.per_item(handler, "")  # runs after the check
            return None if handler is None else checked(handler, self._certificate_check(name))
        try:
            claims = self.keys.verify(auth)
        except AuthError as exc:
            return self._refuse(name, grpc.StatusCode.UNAUTHENTICATED, str(exc), "")
        refused = self._refusal(name, claims)
        if refused is not None:
            return _aborting(name, *refused)
        handler = await continuation(details)
        if handler is not None and name in STREAMS and self.quotas.limits.max_streams > 0:
            return self.quotas.counted(handler, claims.subject)
        if handler is not None and name == "CreateWorkflows" and self._rated:
            return self.quotas.per_item(handler, claims.subject)
        return handler

    @property
    def _rated(self) -> bool:
        return self.quotas.limits.create_rate > 0

    def _refusal(self, name: str, claims: Claims) -> tuple[grpc.StatusCode, str] | None:
        """Why a verified caller may not call ``name`` now (its role, or a limit)."""
        if not allowed(claims.role, name):
            why = (
                f"{name} needs the role {needed_role(name)}; the token of"
                f" {quote(claims.subject)} has the role {claims.role}"
            )
            self.refused += 1
            log.warning("%s refused (PERMISSION_DENIED): %s", name, why)
            return grpc.StatusCode.PERMISSION_DENIED, why
        over = self.quotas.admit(claims.subject, name)
        if over:
            log.warning("%s refused (RESOURCE_EXHAUSTED): %s", name, over)
            return grpc.StatusCode.RESOURCE_EXHAUSTED, over
        return None

    def _certificate_check(self, name: str) -> Check:
        """The guard's decision for a caller with no token, taken inside the call, where
        its client certificate is known."""
        limits = self.quotas.limits

        async def check(context: grpc.aio.ServicerContext) -> Callable[[], None] | None:
            try:
                claims = claims_of(self.keys, context)
            except AuthError as exc:
                self.refused += 1
                log.warning("%s refused (UNAUTHENTICATED): %s", name, exc)
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
                raise  # unreachable: abort raises
            refused = self._refusal(name, claims)
            if refused is not None:
                await context.abort(*refused)
            CALLER.set(claims.subject)
            if name in STREAMS and limits.max_streams > 0:
                return lambda: self.quotas.closed(claims.subject)
            return None

        return check

    def _refuse(
        self, name: str, code: grpc.StatusCode, why: str, subject: str
    ) -> grpc.RpcMethodHandler:
        self.refused += 1
        log.warning("%s refused (%s): %s", name, code.name, why)
        return _aborting(name, code, why)


def _aborting(name: str, code: grpc.StatusCode, why: str) -> grpc.RpcMethodHandler:
    """A handler of ``name``'s kind that ends the call with ``code`` and ``why``."""

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, why)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await context.abort(code, why)
        yield  # unreachable: makes this an async generator

    client_streaming, server_streaming = KINDS[name]
    if client_streaming and server_streaming:
        return grpc.stream_stream_rpc_method_handler(streaming)
    if server_streaming:
        return grpc.unary_stream_rpc_method_handler(streaming)
    return grpc.unary_unary_rpc_method_handler(unary)


def agent_grant_problem(claims: Claims, agent_id: str, capabilities: list[str]) -> str:
    """Why a token may not connect as ``agent_id`` with ``capabilities`` ('' when it may)."""
    if claims.role == "admin":
        return ""
    if not claims.agent_id:
        return f"the agent token of {quote(claims.subject)} names no agent_id"
    if agent_id != claims.agent_id:
        return f"the token grants agent_id {quote(claims.agent_id)}, not {quote(agent_id)}"
    extra = [c for c in capabilities if c not in claims.capabilities]
    if claims.capabilities and extra:
        return f"the token does not grant the capabilities {', '.join(map(quote, extra[:5]))}"
    return ""
