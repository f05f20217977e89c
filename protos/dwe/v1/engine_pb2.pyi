from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceUsage(_message.Message):
    __slots__ = ("cpu_percent", "memory_mb")
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    memory_mb: float
    def __init__(self, cpu_percent: _Optional[float] = ..., memory_mb: _Optional[float] = ...) -> None: ...

class ReplicaInfo(_message.Message):
    __slots__ = ("replica_id", "address", "owner", "heartbeat_age_seconds", "epoch")
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    replica_id: str
    address: str
    owner: bool
    heartbeat_age_seconds: float
    epoch: int
    def __init__(self, replica_id: _Optional[str] = ..., address: _Optional[str] = ..., owner: _Optional[bool] = ..., heartbeat_age_seconds: _Optional[float] = ..., epoch: _Optional[int] = ...) -> None: ...

class MetricSeries(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class EngineMetrics(_message.Message):
    __slots__ = ("active_workflows", "queued_workflows", "completed_workflows", "failed_workflows", "cancelled_workflows", "timed_out_workflows", "agent_load", "resource_usage", "performance_metrics", "completed_steps", "failed_steps", "connected_agents", "uptime_seconds", "sample_interval_seconds", "adaptation_rule_errors", "cancels_unanswered", "auth_refused")
    class AgentLoadEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class PerformanceMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetricSeries
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetricSeries, _Mapping]] = ...) -> None: ...
    ACTIVE_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    FAILED_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    AGENT_LOAD_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_USAGE_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_METRICS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_STEPS_FIELD_NUMBER: _ClassVar[int]
    FAILED_STEPS_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AGENTS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ADAPTATION_RULE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    CANCELS_UNANSWERED_FIELD_NUMBER: _ClassVar[int]
    AUTH_REFUSED_FIELD_NUMBER: _ClassVar[int]
    active_workflows: int
    queued_workflows: int
    completed_workflows: int
    failed_workflows: int
    cancelled_workflows: int
    timed_out_workflows: int
    agent_load: _containers.ScalarMap[str, int]
    resource_usage: ResourceUsage
    performance_metrics: _containers.MessageMap[str, MetricSeries]
    completed_steps: int
    failed_steps: int
    connected_agents: int
    uptime_seconds: float
    sample_interval_seconds: float
    adaptation_rule_errors: int
    cancels_unanswered: int
    auth_refused: int
    def __init__(self, active_workflows: _Optional[int] = ..., queued_workflows: _Optional[int] = ..., completed_workflows: _Optional[int] = ..., failed_workflows: _Optional[int] = ..., cancelled_workflows: _Optional[int] = ..., timed_out_workflows: _Optional[int] = ..., agent_load: _Optional[_Mapping[str, int]] = ..., resource_usage: _Optional[_Union[ResourceUsage, _Mapping]] = ..., performance_metrics: _Optional[_Mapping[str, MetricSeries]] = ..., completed_steps: _Optional[int] = ..., failed_steps: _Optional[int] = ..., connected_agents: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., sample_interval_seconds: _Optional[float] = ..., adaptation_rule_errors: _Optional[int] = ..., cancels_unanswered: _Optional[int] = ..., auth_refused: _Optional[int] = ...) -> None: ...
