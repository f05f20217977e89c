"""Every RPC the Python clients call, declared once: method path, request and response classes.

:class:`~dwe.clients.typed.DweClient` calls them through ``channel.unary_unary``
and ``channel.unary_stream`` with the classes' own (de)serializers, so each
client method has its contract's types and nothing is looked up by name. A test
checks these declarations against the service descriptors of ``dwe.v1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message

from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import workflow_pb2

__all__ = [
    "ENGINE_SERVICE",
    "WORKFLOW_SERVICE",
    "BidiRpc",
    "EventBatch",
    "StreamRpc",
    "UnaryRpc",
]

WORKFLOW_SERVICE = "dwe.v1.WorkflowService"
ENGINE_SERVICE = "dwe.v1.EngineService"

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


class EventBatch(Protocol):
    """A message of a server stream: the events it carries, in seq order."""

    @property
    def events(self) -> Sequence[workflow_pb2.WorkflowEvent]: ...


Batch = TypeVar("Batch", bound=EventBatch)


@dataclass(frozen=True, slots=True)
class UnaryRpc(Generic[Req, Resp]):
    """A unary RPC: one request, one response.

    Attributes:
        path: The gRPC method path, ``/package.Service/Method``.
        request: The request message class.
        response: The response message class.
    """

    path: str
    request: type[Req]
    response: type[Resp]

    def bind(self, channel: Any) -> Any:
        """The callable of this RPC on a ``grpc.aio`` channel."""
        return channel.unary_unary(
            self.path,
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,
        )


@dataclass(frozen=True, slots=True)
class StreamRpc(Generic[Req, Batch]):
    """A server-streaming RPC whose messages carry batches of workflow events.

    Attributes:
        path: The gRPC method path, ``/package.Service/Method``.
        request: The request message class.
        response: The class of each streamed message.
    """

    path: str
    request: type[Req]
    response: type[Batch]

    def bind(self, channel: Any) -> Any:
        """The callable of this RPC on a ``grpc.aio`` channel."""
        return channel.unary_stream(
            self.path,
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,  # type: ignore[attr-defined]
        )


@dataclass(frozen=True, slots=True)
class BidiRpc(StreamRpc[Req, Batch]):
    """A bidirectional stream: requests written while event batches come back."""

    def bind(self, channel: Any) -> Any:
        return channel.stream_stream(
            self.path,
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,  # type: ignore[attr-defined]
        )


def _workflows(method: str) -> str:
    return f"/{WORKFLOW_SERVICE}/{method}"


def _engine(method: str) -> str:
    return f"/{ENGINE_SERVICE}/{method}"


# WorkflowService
CREATE_WORKFLOW = UnaryRpc(
    _workflows("CreateWorkflow"), rr.CreateWorkflowRequest, rr.CreateWorkflowResponse
)
CREATE_WORKFLOWS = UnaryRpc(
    _workflows("CreateWorkflows"), rr.CreateWorkflowsRequest, rr.CreateWorkflowsResponse
)
START_WORKFLOW = UnaryRpc(
    _workflows("StartWorkflow"), rr.StartWorkflowRequest, rr.StartWorkflowResponse
)
EXECUTE_WORKFLOW = StreamRpc(
    _workflows("ExecuteWorkflow"), rr.ExecuteWorkflowRequest, rr.ExecuteWorkflowResponse
)
EXECUTE_WORKFLOWS = BidiRpc(
    _workflows("ExecuteWorkflows"), rr.ExecuteWorkflowsRequest, rr.ExecuteWorkflowsResponse
)
WATCH_WORKFLOW = StreamRpc(
    _workflows("WatchWorkflow"), rr.WatchWorkflowRequest, rr.WatchWorkflowResponse
)
WATCH_EVENTS = StreamRpc(_workflows("WatchEvents"), rr.WatchEventsRequest, rr.WatchEventsResponse)
GET_WORKFLOW_STATUS = UnaryRpc(
    _workflows("GetWorkflowStatus"), rr.GetWorkflowStatusRequest, rr.GetWorkflowStatusResponse
)
LIST_WORKFLOWS = UnaryRpc(
    _workflows("ListWorkflows"), rr.ListWorkflowsRequest, rr.ListWorkflowsResponse
)
CANCEL_WORKFLOW = UnaryRpc(
    _workflows("CancelWorkflow"), rr.CancelWorkflowRequest, rr.CancelWorkflowResponse
)
ANALYZE_INTENT = UnaryRpc(
    _workflows("AnalyzeIntent"), rr.AnalyzeIntentRequest, rr.AnalyzeIntentResponse
)
START_INTENT = UnaryRpc(_workflows("StartIntent"), rr.StartIntentRequest, rr.StartIntentResponse)

# EngineService
REGISTER_AGENT = UnaryRpc(
    _engine("RegisterAgent"), rr.RegisterAgentRequest, rr.RegisterAgentResponse
)
LIST_AGENTS = UnaryRpc(_engine("ListAgents"), rr.ListAgentsRequest, rr.ListAgentsResponse)
GET_ENGINE_METRICS = UnaryRpc(
    _engine("GetEngineMetrics"), rr.GetEngineMetricsRequest, rr.GetEngineMetricsResponse
)
PRUNE_WORKFLOWS = UnaryRpc(
    _engine("PruneWorkflows"), rr.PruneWorkflowsRequest, rr.PruneWorkflowsResponse
)
GET_SERVER_INFO = UnaryRpc(
    _engine("GetServerInfo"), rr.GetServerInfoRequest, rr.GetServerInfoResponse
)

#: Every declaration, for the test that holds them to the contract.
ALL: tuple[UnaryRpc[Any, Any] | StreamRpc[Any, Any], ...] = (
    CREATE_WORKFLOW,
    CREATE_WORKFLOWS,
    START_WORKFLOW,
    EXECUTE_WORKFLOW,
    EXECUTE_WORKFLOWS,
    WATCH_WORKFLOW,
    WATCH_EVENTS,
    GET_WORKFLOW_STATUS,
    LIST_WORKFLOWS,
    CANCEL_WORKFLOW,
    ANALYZE_INTENT,
    START_INTENT,
    REGISTER_AGENT,
    LIST_AGENTS,
    GET_ENGINE_METRICS,
    PRUNE_WORKFLOWS,
    GET_SERVER_INFO,
)
