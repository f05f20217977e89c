import datetime

from dwe.v1 import common_pb2 as _common_pb2
from dwe.v1 import enums_pb2 as _enums_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataTransformation(_message.Message):
    __slots__ = ("type", "params")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    type: str
    params: _common_pb2.Payload
    def __init__(self, type: _Optional[str] = ..., params: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...

class StepSpec(_message.Message):
    __slots__ = ("step_id", "name", "description", "agent_type", "capability", "dependencies", "timeout", "retry_count", "retry_delay", "backoff_coefficient", "max_retry_delay", "estimated_duration", "data_transformations", "optional", "schedule_to_start_timeout", "pipeline_batch_size")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRY_DELAY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DURATION_FIELD_NUMBER: _ClassVar[int]
    DATA_TRANSFORMATIONS_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_START_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    name: str
    description: str
    agent_type: str
    capability: str
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    timeout: _duration_pb2.Duration
    retry_count: int
    retry_delay: _duration_pb2.Duration
    backoff_coefficient: float
    max_retry_delay: _duration_pb2.Duration
    estimated_duration: _duration_pb2.Duration
    data_transformations: _containers.RepeatedCompositeFieldContainer[DataTransformation]
    optional: bool
    schedule_to_start_timeout: _duration_pb2.Duration
    pipeline_batch_size: int
    def __init__(self, step_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., agent_type: _Optional[str] = ..., capability: _Optional[str] = ..., dependencies: _Optional[_Iterable[str]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., retry_count: _Optional[int] = ..., retry_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_coefficient: _Optional[float] = ..., max_retry_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., estimated_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., data_transformations: _Optional[_Iterable[_Union[DataTransformation, _Mapping]]] = ..., optional: _Optional[bool] = ..., schedule_to_start_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., pipeline_batch_size: _Optional[int] = ...) -> None: ...

class WorkflowSpec(_message.Message):
    __slots__ = ("name", "description", "steps", "priority", "execution_mode", "context", "max_parallel_steps", "default_timeout", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_STEPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    steps: _containers.RepeatedCompositeFieldContainer[StepSpec]
    priority: _enums_pb2.WorkflowPriority
    execution_mode: _enums_pb2.ExecutionMode
    context: _common_pb2.Payload
    max_parallel_steps: int
    default_timeout: _duration_pb2.Duration
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[StepSpec, _Mapping]]] = ..., priority: _Optional[_Union[_enums_pb2.WorkflowPriority, str]] = ..., execution_mode: _Optional[_Union[_enums_pb2.ExecutionMode, str]] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., max_parallel_steps: _Optional[int] = ..., default_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class WorkflowEvent(_message.Message):
    __slots__ = ("workflow_id", "seq", "type", "time", "position", "step_id", "step_name", "attempt", "agent_id", "workflow_started", "step_assigned", "step_streamed", "step_completed", "step_attempt_failed", "step_retrying", "workflow_adapted", "workflow_queued", "step_skipped", "workflow_completed", "workflow_failed", "workflow_cancelled", "workflow_timed_out")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_STARTED_FIELD_NUMBER: _ClassVar[int]
    STEP_ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    STEP_STREAMED_FIELD_NUMBER: _ClassVar[int]
    STEP_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    STEP_ATTEMPT_FAILED_FIELD_NUMBER: _ClassVar[int]
    STEP_RETRYING_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ADAPTED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_QUEUED_FIELD_NUMBER: _ClassVar[int]
    STEP_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FAILED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    seq: int
    type: _enums_pb2.EventType
    time: _timestamp_pb2.Timestamp
    position: int
    step_id: str
    step_name: str
    attempt: int
    agent_id: str
    workflow_started: WorkflowStarted
    step_assigned: StepAssigned
    step_streamed: StepStreamed
    step_completed: StepCompleted
    step_attempt_failed: StepAttemptFailed
    step_retrying: StepRetrying
    workflow_adapted: WorkflowAdapted
    workflow_queued: WorkflowQueued
    step_skipped: StepSkipped
    workflow_completed: WorkflowCompleted
    workflow_failed: WorkflowFailed
    workflow_cancelled: WorkflowCancelled
    workflow_timed_out: WorkflowTimedOut
    def __init__(self, workflow_id: _Optional[str] = ..., seq: _Optional[int] = ..., type: _Optional[_Union[_enums_pb2.EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., position: _Optional[int] = ..., step_id: _Optional[str] = ..., step_name: _Optional[str] = ..., attempt: _Optional[int] = ..., agent_id: _Optional[str] = ..., workflow_started: _Optional[_Union[WorkflowStarted, _Mapping]] = ..., step_assigned: _Optional[_Union[StepAssigned, _Mapping]] = ..., step_streamed: _Optional[_Union[StepStreamed, _Mapping]] = ..., step_completed: _Optional[_Union[StepCompleted, _Mapping]] = ..., step_attempt_failed: _Optional[_Union[StepAttemptFailed, _Mapping]] = ..., step_retrying: _Optional[_Union[StepRetrying, _Mapping]] = ..., workflow_adapted: _Optional[_Union[WorkflowAdapted, _Mapping]] = ..., workflow_queued: _Optional[_Union[WorkflowQueued, _Mapping]] = ..., step_skipped: _Optional[_Union[StepSkipped, _Mapping]] = ..., workflow_completed: _Optional[_Union[WorkflowCompleted, _Mapping]] = ..., workflow_failed: _Optional[_Union[WorkflowFailed, _Mapping]] = ..., workflow_cancelled: _Optional[_Union[WorkflowCancelled, _Mapping]] = ..., workflow_timed_out: _Optional[_Union[WorkflowTimedOut, _Mapping]] = ...) -> None: ...

class WorkflowStarted(_message.Message):
    __slots__ = ("name", "session_id", "context", "total_steps", "execution_mode", "priority", "namespace")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    session_id: str
    context: _common_pb2.Payload
    total_steps: int
    execution_mode: _enums_pb2.ExecutionMode
    priority: _enums_pb2.WorkflowPriority
    namespace: str
    def __init__(self, name: _Optional[str] = ..., session_id: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., total_steps: _Optional[int] = ..., execution_mode: _Optional[_Union[_enums_pb2.ExecutionMode, str]] = ..., priority: _Optional[_Union[_enums_pb2.WorkflowPriority, str]] = ..., namespace: _Optional[str] = ...) -> None: ...

class WorkflowQueued(_message.Message):
    __slots__ = ("name", "session_id", "context", "total_steps", "execution_mode", "priority", "namespace")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    session_id: str
    context: _common_pb2.Payload
    total_steps: int
    execution_mode: _enums_pb2.ExecutionMode
    priority: _enums_pb2.WorkflowPriority
    namespace: str
    def __init__(self, name: _Optional[str] = ..., session_id: _Optional[str] = ..., context: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., total_steps: _Optional[int] = ..., execution_mode: _Optional[_Union[_enums_pb2.ExecutionMode, str]] = ..., priority: _Optional[_Union[_enums_pb2.WorkflowPriority, str]] = ..., namespace: _Optional[str] = ...) -> None: ...

class StepAssigned(_message.Message):
    __slots__ = ("task", "capability")
    TASK_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    task: str
    capability: str
    def __init__(self, task: _Optional[str] = ..., capability: _Optional[str] = ...) -> None: ...

class StepStreamed(_message.Message):
    __slots__ = ("content", "data")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    content: str
    data: _common_pb2.Payload
    def __init__(self, content: _Optional[str] = ..., data: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...

class StepCompleted(_message.Message):
    __slots__ = ("output", "execution_time")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    output: _common_pb2.Payload
    execution_time: _duration_pb2.Duration
    def __init__(self, output: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., execution_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StepAttemptFailed(_message.Message):
    __slots__ = ("error", "will_retry", "execution_time")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    WILL_RETRY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    error: _common_pb2.ErrorInfo
    will_retry: bool
    execution_time: _duration_pb2.Duration
    def __init__(self, error: _Optional[_Union[_common_pb2.ErrorInfo, _Mapping]] = ..., will_retry: _Optional[bool] = ..., execution_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StepRetrying(_message.Message):
    __slots__ = ("next_attempt", "delay", "reason")
    NEXT_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    next_attempt: int
    delay: _duration_pb2.Duration
    reason: str
    def __init__(self, next_attempt: _Optional[int] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class StepSkipped(_message.Message):
    __slots__ = ("error", "dependency")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCY_FIELD_NUMBER: _ClassVar[int]
    error: _common_pb2.ErrorInfo
    dependency: str
    def __init__(self, error: _Optional[_Union[_common_pb2.ErrorInfo, _Mapping]] = ..., dependency: _Optional[str] = ...) -> None: ...

class WorkflowAdapted(_message.Message):
    __slots__ = ("decision", "reason", "step_ids")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STEP_IDS_FIELD_NUMBER: _ClassVar[int]
    decision: str
    reason: str
    step_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, decision: _Optional[str] = ..., reason: _Optional[str] = ..., step_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RunSummary(_message.Message):
    __slots__ = ("success_rate", "total_execution_time", "results", "completed_steps", "failed_steps", "skipped_steps", "total_steps", "error_message", "omitted_results", "cancelled_steps")
    class ResultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Payload
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_STEPS_FIELD_NUMBER: _ClassVar[int]
    FAILED_STEPS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_STEPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OMITTED_RESULTS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_STEPS_FIELD_NUMBER: _ClassVar[int]
    success_rate: float
    total_execution_time: _duration_pb2.Duration
    results: _containers.MessageMap[str, _common_pb2.Payload]
    completed_steps: int
    failed_steps: int
    skipped_steps: int
    total_steps: int
    error_message: str
    omitted_results: _containers.RepeatedScalarFieldContainer[str]
    cancelled_steps: int
    def __init__(self, success_rate: _Optional[float] = ..., total_execution_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., results: _Optional[_Mapping[str, _common_pb2.Payload]] = ..., completed_steps: _Optional[int] = ..., failed_steps: _Optional[int] = ..., skipped_steps: _Optional[int] = ..., total_steps: _Optional[int] = ..., error_message: _Optional[str] = ..., omitted_results: _Optional[_Iterable[str]] = ..., cancelled_steps: _Optional[int] = ...) -> None: ...

class WorkflowCompleted(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: RunSummary
    def __init__(self, summary: _Optional[_Union[RunSummary, _Mapping]] = ...) -> None: ...

class WorkflowFailed(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: RunSummary
    def __init__(self, summary: _Optional[_Union[RunSummary, _Mapping]] = ...) -> None: ...

class WorkflowCancelled(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: RunSummary
    def __init__(self, summary: _Optional[_Union[RunSummary, _Mapping]] = ...) -> None: ...

class WorkflowTimedOut(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: RunSummary
    def __init__(self, summary: _Optional[_Union[RunSummary, _Mapping]] = ...) -> None: ...

class StepStatus(_message.Message):
    __slots__ = ("step_id", "name", "state", "attempts", "agent_id", "execution_time", "output", "error", "capability", "output_omitted", "dependencies")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_OMITTED_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    name: str
    state: _enums_pb2.StepState
    attempts: int
    agent_id: str
    execution_time: _duration_pb2.Duration
    output: _common_pb2.Payload
    error: _common_pb2.ErrorInfo
    capability: str
    output_omitted: bool
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, step_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[_enums_pb2.StepState, str]] = ..., attempts: _Optional[int] = ..., agent_id: _Optional[str] = ..., execution_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., output: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorInfo, _Mapping]] = ..., capability: _Optional[str] = ..., output_omitted: _Optional[bool] = ..., dependencies: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkflowStatus(_message.Message):
    __slots__ = ("workflow_id", "name", "state", "progress", "current_step", "total_execution_time", "steps", "created_at", "started_at", "finished_at", "priority", "execution_mode", "last_seq", "error_message", "description", "omitted_steps", "namespace")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OMITTED_STEPS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    name: str
    state: _enums_pb2.WorkflowState
    progress: float
    current_step: str
    total_execution_time: _duration_pb2.Duration
    steps: _containers.RepeatedCompositeFieldContainer[StepStatus]
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    priority: _enums_pb2.WorkflowPriority
    execution_mode: _enums_pb2.ExecutionMode
    last_seq: int
    error_message: str
    description: str
    omitted_steps: int
    namespace: str
    def __init__(self, workflow_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[_enums_pb2.WorkflowState, str]] = ..., progress: _Optional[float] = ..., current_step: _Optional[str] = ..., total_execution_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[StepStatus, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., priority: _Optional[_Union[_enums_pb2.WorkflowPriority, str]] = ..., execution_mode: _Optional[_Union[_enums_pb2.ExecutionMode, str]] = ..., last_seq: _Optional[int] = ..., error_message: _Optional[str] = ..., description: _Optional[str] = ..., omitted_steps: _Optional[int] = ..., namespace: _Optional[str] = ...) -> None: ...

class WorkflowSummary(_message.Message):
    __slots__ = ("workflow_id", "name", "state", "priority", "execution_mode", "total_steps", "completed_steps", "created_at", "finished_at", "namespace")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    name: str
    state: _enums_pb2.WorkflowState
    priority: _enums_pb2.WorkflowPriority
    execution_mode: _enums_pb2.ExecutionMode
    total_steps: int
    completed_steps: int
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    namespace: str
    def __init__(self, workflow_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[_enums_pb2.WorkflowState, str]] = ..., priority: _Optional[_Union[_enums_pb2.WorkflowPriority, str]] = ..., execution_mode: _Optional[_Union[_enums_pb2.ExecutionMode, str]] = ..., total_steps: _Optional[int] = ..., completed_steps: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class DetectedIntent(_message.Message):
    __slots__ = ("primary_intent", "confidence", "entities", "candidate", "threshold")
    class EntitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRIMARY_INTENT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    primary_intent: str
    confidence: float
    entities: _containers.ScalarMap[str, str]
    candidate: str
    threshold: float
    def __init__(self, primary_intent: _Optional[str] = ..., confidence: _Optional[float] = ..., entities: _Optional[_Mapping[str, str]] = ..., candidate: _Optional[str] = ..., threshold: _Optional[float] = ...) -> None: ...
