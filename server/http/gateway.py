"""The HTTP API: each route is one dwe.v1 call on this server's own gRPC port.

Calls go over a private unix socket to the same handlers gRPC clients reach, so an
HTTP caller gets exactly their validation, auth (its bearer token travels as call
metadata), namespaces and, on a standby, forwarding. Bodies are the proto3 JSON
mapping of the dwe.v1 messages, every field present.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import orjson
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from dwe.v1 import request_response_pb2 as rr

from .params import BadParam, cancel_request, list_request

_WORKFLOWS = "/dwe.v1.WorkflowService/"
_ENGINE = "/dwe.v1.EngineService/"

#: gRPC status -> HTTP status (as gRPC-to-HTTP gateways commonly map them).
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def to_json(message: Message) -> dict[str, Any]:
    """The proto3 JSON mapping, with fields at their defaults too (simpler for browsers)."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def error(code: str, message: str, status: int) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = orjson.dumps({"code": code, "message": message})
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


def status_error(code: grpc.StatusCode, details: str) -> web.Response:
    return error(code.name, details, _HTTP_STATUS.get(code, 500))


def rpc_error(exc: grpc.aio.AioRpcError) -> web.Response:
    return status_error(exc.code(), exc.details() or "")


def metadata(request: web.Request) -> tuple[tuple[str, str], ...]:
    """The caller's credentials and trace context as call metadata. EventSource cannot
    set headers, so a token may come as ``?access_token=`` too."""
    out: list[tuple[str, str]] = []
    auth = request.headers.get("Authorization", "")
    token = request.query.get("access_token", "")
    if auth:
        out.append(("authorization", auth))
    elif token:
        out.append(("authorization", f"Bearer {token}"))
    for name in ("traceparent", "tracestate"):
        if name in request.headers:
            out.append((name, request.headers[name]))
    for name, value in out:  # what gRPC metadata may carry; else the call itself fails
        if not value.isascii() or not value.isprintable():
            shown = "Authorization" if name == "authorization" else name
            raise BadParam(f"{shown}: not printable ASCII")
    return tuple(out)


class Gateway:
    """The JSON routes; ``channel`` reaches this server's own handlers."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/info", self._info),
            web.get("/api/v1/workflows", self._list),
            web.get("/api/v1/workflows/{workflow_id}", self._status),
            web.post("/api/v1/workflows/{workflow_id}/cancel", self._cancel),
            web.get("/api/v1/agents", self._agents),
            web.get("/api/v1/metrics", self._metrics),
        ]

    async def call(
        self, path: str, request: Message, reply: type[Message], http: web.Request
    ) -> web.Response:
        """One unary call, its reply or its error as HTTP."""
        method = self.channel.unary_unary(
            path,
            request_serializer=_serialize,
            response_deserializer=_parser(reply),
        )
        try:
            answer = await method(request, metadata=metadata(http), timeout=30)
        except grpc.aio.AioRpcError as exc:
            return rpc_error(exc)
        except BadParam as exc:
            return error("INVALID_ARGUMENT", str(exc), 400)
        return web.Response(body=orjson.dumps(to_json(answer)), content_type="application/json")

    async def _info(self, http: web.Request) -> web.Response:
        request = rr.GetServerInfoRequest()
        return await self.call(_ENGINE + "GetServerInfo", request, rr.GetServerInfoResponse, http)

    async def _list(self, http: web.Request) -> web.Response:
        try:
            request = list_request(http.query)
        except BadParam as exc:
            return error("INVALID_ARGUMENT", str(exc), 400)
        return await self.call(
            _WORKFLOWS + "ListWorkflows", request, rr.ListWorkflowsResponse, http
        )

    async def _status(self, http: web.Request) -> web.Response:
        request = rr.GetWorkflowStatusRequest(workflow_id=http.match_info["workflow_id"])
        return await self.call(
            _WORKFLOWS + "GetWorkflowStatus", request, rr.GetWorkflowStatusResponse, http
        )

    async def _cancel(self, http: web.Request) -> web.Response:
        try:
            body = orjson.loads(await http.read() or b"{}")
            request = cancel_request(http.match_info["workflow_id"], body)
        except orjson.JSONDecodeError as exc:
            return error("INVALID_ARGUMENT", f"body: not JSON ({exc})", 400)
        except BadParam as exc:
            return error("INVALID_ARGUMENT", str(exc), 400)
        return await self.call(
            _WORKFLOWS + "CancelWorkflow", request, rr.CancelWorkflowResponse, http
        )

    async def _agents(self, http: web.Request) -> web.Response:
        request = rr.ListAgentsRequest(namespaces=http.query.getall("namespace", []))
        return await self.call(_ENGINE + "ListAgents", request, rr.ListAgentsResponse, http)

    async def _metrics(self, http: web.Request) -> web.Response:
        request = rr.GetEngineMetricsRequest(namespaces=http.query.getall("namespace", []))
        return await self.call(
            _ENGINE + "GetEngineMetrics", request, rr.GetEngineMetricsResponse, http
        )


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _parser(cls: type[Message]) -> Callable[[bytes], Message]:
    def parse(data: bytes) -> Message:
        return cls.FromString(data)

    return parse
