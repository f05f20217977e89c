import datetime

from dwe.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectRequest(_message.Message):
    __slots__ = ("hello", "heartbeat", "started", "progress", "results")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    heartbeat: Heartbeat
    started: _containers.RepeatedScalarFieldContainer[str]
    progress: _containers.RepeatedCompositeFieldContainer[StepProgress]
    results: _containers.RepeatedCompositeFieldContainer[StepResult]
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., started: _Optional[_Iterable[str]] = ..., progress: _Optional[_Iterable[_Union[StepProgress, _Mapping]]] = ..., results: _Optional[_Iterable[_Union[StepResult, _Mapping]]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("welcome", "assignments", "cancels", "drain", "progress_acks", "rejections")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    CANCELS_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_ACKS_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    cancels: _containers.RepeatedCompositeFieldContainer[Cancel]
    drain: Drain
    progress_acks: _containers.RepeatedCompositeFieldContainer[ProgressAck]
    rejections: _containers.RepeatedCompositeFieldContainer[Rejection]
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., cancels: _Optional[_Iterable[_Union[Cancel, _Mapping]]] = ..., drain: _Optional[_Union[Drain, _Mapping]] = ..., progress_acks: _Optional[_Iterable[_Union[ProgressAck, _Mapping]]] = ..., rejections: _Optional[_Iterable[_Union[Rejection, _Mapping]]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("attempt_id", "kind", "reason")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    kind: str
    reason: str
    def __init__(self, attempt_id: _Optional[str] = ..., kind: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ProgressAck(_message.Message):
    __slots__ = ("attempt_id", "index", "resend")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESEND_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    index: int
    resend: bool
    def __init__(self, attempt_id: _Optional[str] = ..., index: _Optional[int] = ..., resend: _Optional[bool] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("agent_id", "agent_type", "capabilities", "max_concurrent_tasks", "labels", "held_attempt_ids", "sdk", "namespace")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_TASKS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    HELD_ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    SDK_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    agent_type: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    max_concurrent_tasks: int
    labels: _containers.ScalarMap[str, str]
    held_attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    sdk: str
    namespace: str
    def __init__(self, agent_id: _Optional[str] = ..., agent_type: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., max_concurrent_tasks: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., held_attempt_ids: _Optional[_Iterable[str]] = ..., sdk: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("session_id", "heartbeat_interval", "config", "resumed_attempt_ids", "dropped_attempt_ids", "max_message_bytes", "max_payload_bytes", "resumed_progress", "namespace")
    class ResumedProgressEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    RESUMED_ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESUMED_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    heartbeat_interval: _duration_pb2.Duration
    config: _common_pb2.Payload
    resumed_attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    dropped_attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    max_message_bytes: int
    max_payload_bytes: int
    resumed_progress: _containers.ScalarMap[str, int]
    namespace: str
    def __init__(self, session_id: _Optional[str] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., config: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., resumed_attempt_ids: _Optional[_Iterable[str]] = ..., dropped_attempt_ids: _Optional[_Iterable[str]] = ..., max_message_bytes: _Optional[int] = ..., max_payload_bytes: _Optional[int] = ..., resumed_progress: _Optional[_Mapping[str, int]] = ..., namespace: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("attempt_id", "workflow_id", "step_id", "step_name", "description", "capability", "attempt", "context", "inputs", "deadline", "traceparent", "tracestate")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Payload
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    workflow_id: str
    step_id: str
    step_name: str
    description: str
    capability: str
    attempt: int
    context: _common_pb2.Payload
    inputs: _containers.MessageMap[str, _common_pb2.Payload]
    deadline: _timestamp_pb2.Timestamp
    traceparent: str
    tracestate: str
    def __init__(self, attempt_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., step_id: _Optional[str] = ..., step_name: _Optional[str] = ..., description: _Optional[str] = ..., capability: _Optional[str] = ..., attempt: _Optional[int] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., inputs: _Optional[_Mapping[str, _common_pb2.Payload]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ...) -> None: ...

class StepProgress(_message.Message):
    __slots__ = ("attempt_id", "content", "data", "index")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    content: str
    data: _common_pb2.Payload
    index: int
    def __init__(self, attempt_id: _Optional[str] = ..., content: _Optional[str] = ..., data: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., index: _Optional[int] = ...) -> None: ...

class StepResult(_message.Message):
    __slots__ = ("attempt_id", "output", "error", "duration", "progress_count")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    output: _common_pb2.Payload
    error: _common_pb2.ErrorInfo
    duration: _duration_pb2.Duration
    progress_count: int
    def __init__(self, attempt_id: _Optional[str] = ..., output: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorInfo, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., progress_count: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("attempt_id", "reason")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    reason: str
    def __init__(self, attempt_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Drain(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class AgentInfo(_message.Message):
    __slots__ = ("agent_id", "agent_type", "capabilities", "max_concurrent_tasks", "config", "connected", "registered", "current_load", "labels", "completed_steps", "failed_steps", "connected_at", "config_omitted", "namespace", "mean_duration", "failure_rate")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_TASKS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    CURRENT_LOAD_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_STEPS_FIELD_NUMBER: _ClassVar[int]
    FAILED_STEPS_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_OMITTED_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    MEAN_DURATION_FIELD_NUMBER: _ClassVar[int]
    FAILURE_RATE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    agent_type: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    max_concurrent_tasks: int
    config: _common_pb2.Payload
    connected: bool
    registered: bool
    current_load: int
    labels: _containers.ScalarMap[str, str]
    completed_steps: int
    failed_steps: int
    connected_at: _timestamp_pb2.Timestamp
    config_omitted: bool
    namespace: str
    mean_duration: _duration_pb2.Duration
    failure_rate: float
    def __init__(self, agent_id: _Optional[str] = ..., agent_type: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., max_concurrent_tasks: _Optional[int] = ..., config: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., connected: _Optional[bool] = ..., registered: _Optional[bool] = ..., current_load: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., completed_steps: _Optional[int] = ..., failed_steps: _Optional[int] = ..., connected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., config_omitted: _Optional[bool] = ..., namespace: _Optional[str] = ..., mean_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., failure_rate: _Optional[float] = ...) -> None: ...
