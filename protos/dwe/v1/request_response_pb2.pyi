import datetime

from dwe.v1 import agent_pb2 as _agent_pb2
from dwe.v1 import common_pb2 as _common_pb2
from dwe.v1 import engine_pb2 as _engine_pb2
from dwe.v1 import enums_pb2 as _enums_pb2
from dwe.v1 import workflow_pb2 as _workflow_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateWorkflowRequest(_message.Message):
    __slots__ = ("request_id", "spec", "namespace")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    spec: _workflow_pb2.WorkflowSpec
    namespace: str
    def __init__(self, request_id: _Optional[str] = ..., spec: _Optional[_Union[_workflow_pb2.WorkflowSpec, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class CreateWorkflowResponse(_message.Message):
    __slots__ = ("workflow_id", "created", "status")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    created: bool
    status: _workflow_pb2.WorkflowStatus
    def __init__(self, workflow_id: _Optional[str] = ..., created: _Optional[bool] = ..., status: _Optional[_Union[_workflow_pb2.WorkflowStatus, _Mapping]] = ...) -> None: ...

class CreateWorkflowsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CreateWorkflowRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CreateWorkflowRequest, _Mapping]]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message", "workflow_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    workflow_id: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., workflow_id: _Optional[str] = ...) -> None: ...

class CreateWorkflowsResult(_message.Message):
    __slots__ = ("created", "error")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    created: CreateWorkflowResponse
    error: ItemError
    def __init__(self, created: _Optional[_Union[CreateWorkflowResponse, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class CreateWorkflowsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CreateWorkflowsResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CreateWorkflowsResult, _Mapping]]] = ...) -> None: ...

class StartWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "context", "session_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    context: _common_pb2.Payload
    session_id: str
    def __init__(self, workflow_id: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class StartWorkflowResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _enums_pb2.WorkflowState
    def __init__(self, state: _Optional[_Union[_enums_pb2.WorkflowState, str]] = ...) -> None: ...

class ExecuteWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "context", "session_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    context: _common_pb2.Payload
    session_id: str
    def __init__(self, workflow_id: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class ExecuteWorkflowResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.WorkflowEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_workflow_pb2.WorkflowEvent, _Mapping]]] = ...) -> None: ...

class ExecuteWorkflowsRequest(_message.Message):
    __slots__ = ("workflows",)
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[ExecuteWorkflowRequest]
    def __init__(self, workflows: _Optional[_Iterable[_Union[ExecuteWorkflowRequest, _Mapping]]] = ...) -> None: ...

class ExecuteWorkflowsResponse(_message.Message):
    __slots__ = ("events", "errors")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.WorkflowEvent]
    errors: _containers.RepeatedCompositeFieldContainer[ItemError]
    def __init__(self, events: _Optional[_Iterable[_Union[_workflow_pb2.WorkflowEvent, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[ItemError, _Mapping]]] = ...) -> None: ...

class WatchWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "after_seq")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    after_seq: int
    def __init__(self, workflow_id: _Optional[str] = ..., after_seq: _Optional[int] = ...) -> None: ...

class WatchWorkflowResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.WorkflowEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_workflow_pb2.WorkflowEvent, _Mapping]]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("types", "workflow_ids", "namespaces", "after_position")
    TYPES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_IDS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedScalarFieldContainer[_enums_pb2.EventType]
    workflow_ids: _containers.RepeatedScalarFieldContainer[str]
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    after_position: int
    def __init__(self, types: _Optional[_Iterable[_Union[_enums_pb2.EventType, str]]] = ..., workflow_ids: _Optional[_Iterable[str]] = ..., namespaces: _Optional[_Iterable[str]] = ..., after_position: _Optional[int] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.WorkflowEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_workflow_pb2.WorkflowEvent, _Mapping]]] = ...) -> None: ...

class GetWorkflowStatusRequest(_message.Message):
    __slots__ = ("workflow_id", "step_ids")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_IDS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    step_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, workflow_id: _Optional[str] = ..., step_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetWorkflowStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _workflow_pb2.WorkflowStatus
    def __init__(self, status: _Optional[_Union[_workflow_pb2.WorkflowStatus, _Mapping]] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "states", "namespaces", "name_prefix", "created_after", "created_before")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[_enums_pb2.WorkflowState]
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    name_prefix: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_enums_pb2.WorkflowState, str]]] = ..., namespaces: _Optional[_Iterable[str]] = ..., name_prefix: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows", "next_page_token")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.WorkflowSummary]
    next_page_token: str
    def __init__(self, workflows: _Optional[_Iterable[_Union[_workflow_pb2.WorkflowSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "reason")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    reason: str
    def __init__(self, workflow_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelWorkflowResponse(_message.Message):
    __slots__ = ("cancelled", "state")
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    cancelled: bool
    state: _enums_pb2.WorkflowState
    def __init__(self, cancelled: _Optional[bool] = ..., state: _Optional[_Union[_enums_pb2.WorkflowState, str]] = ...) -> None: ...

class AnalyzeIntentRequest(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class AnalyzeIntentResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _workflow_pb2.DetectedIntent
    def __init__(self, intent: _Optional[_Union[_workflow_pb2.DetectedIntent, _Mapping]] = ...) -> None: ...

class StartIntentRequest(_message.Message):
    __slots__ = ("message", "context", "session_id", "request_id", "namespace")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    message: str
    context: _common_pb2.Payload
    session_id: str
    request_id: str
    namespace: str
    def __init__(self, message: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., session_id: _Optional[str] = ..., request_id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class StartIntentResponse(_message.Message):
    __slots__ = ("intent", "workflow_id", "state")
    INTENT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    intent: _workflow_pb2.DetectedIntent
    workflow_id: str
    state: _enums_pb2.WorkflowState
    def __init__(self, intent: _Optional[_Union[_workflow_pb2.DetectedIntent, _Mapping]] = ..., workflow_id: _Optional[str] = ..., state: _Optional[_Union[_enums_pb2.WorkflowState, str]] = ...) -> None: ...

class RegisterAgentRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: _agent_pb2.AgentInfo
    def __init__(self, agent: _Optional[_Union[_agent_pb2.AgentInfo, _Mapping]] = ...) -> None: ...

class RegisterAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: _agent_pb2.AgentInfo
    def __init__(self, agent: _Optional[_Union[_agent_pb2.AgentInfo, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("namespaces",)
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "omitted_agents")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    OMITTED_AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[_agent_pb2.AgentInfo]
    omitted_agents: int
    def __init__(self, agents: _Optional[_Iterable[_Union[_agent_pb2.AgentInfo, _Mapping]]] = ..., omitted_agents: _Optional[int] = ...) -> None: ...

class GetEngineMetricsRequest(_message.Message):
    __slots__ = ("namespaces",)
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class GetEngineMetricsResponse(_message.Message):
    __slots__ = ("metrics",)
    METRICS_FIELD_NUMBER: _ClassVar[int]
    metrics: _engine_pb2.EngineMetrics
    def __init__(self, metrics: _Optional[_Union[_engine_pb2.EngineMetrics, _Mapping]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServerInfoResponse(_message.Message):
    __slots__ = ("version", "max_message_bytes", "max_payload_bytes", "heartbeat_interval", "subject", "role", "namespace", "namespaces", "replica_id", "replicas")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    version: str
    max_message_bytes: int
    max_payload_bytes: int
    heartbeat_interval: _duration_pb2.Duration
    subject: str
    role: str
    namespace: str
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    replica_id: str
    replicas: _containers.RepeatedCompositeFieldContainer[_engine_pb2.ReplicaInfo]
    def __init__(self, version: _Optional[str] = ..., max_message_bytes: _Optional[int] = ..., max_payload_bytes: _Optional[int] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., subject: _Optional[str] = ..., role: _Optional[str] = ..., namespace: _Optional[str] = ..., namespaces: _Optional[_Iterable[str]] = ..., replica_id: _Optional[str] = ..., replicas: _Optional[_Iterable[_Union[_engine_pb2.ReplicaInfo, _Mapping]]] = ...) -> None: ...

class PruneWorkflowsRequest(_message.Message):
    __slots__ = ("older_than", "dry_run", "namespaces")
    OLDER_THAN_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    older_than: _duration_pb2.Duration
    dry_run: bool
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, older_than: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., dry_run: _Optional[bool] = ..., namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class PruneWorkflowsResponse(_message.Message):
    __slots__ = ("workflows", "events")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    workflows: int
    events: int
    def __init__(self, workflows: _Optional[int] = ..., events: _Optional[int] = ...) -> None: ...
