from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class WorkflowState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKFLOW_STATE_UNSPECIFIED: _ClassVar[WorkflowState]
    WORKFLOW_STATE_PENDING: _ClassVar[WorkflowState]
    WORKFLOW_STATE_QUEUED: _ClassVar[WorkflowState]
    WORKFLOW_STATE_RUNNING: _ClassVar[WorkflowState]
    WORKFLOW_STATE_COMPLETED: _ClassVar[WorkflowState]
    WORKFLOW_STATE_FAILED: _ClassVar[WorkflowState]
    WORKFLOW_STATE_CANCELLED: _ClassVar[WorkflowState]
    WORKFLOW_STATE_TIMED_OUT: _ClassVar[WorkflowState]

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_PENDING: _ClassVar[StepState]
    STEP_STATE_READY: _ClassVar[StepState]
    STEP_STATE_ASSIGNED: _ClassVar[StepState]
    STEP_STATE_RUNNING: _ClassVar[StepState]
    STEP_STATE_COMPLETED: _ClassVar[StepState]
    STEP_STATE_FAILED: _ClassVar[StepState]
    STEP_STATE_CANCELLED: _ClassVar[StepState]
    STEP_STATE_SKIPPED: _ClassVar[StepState]
    STEP_STATE_RETRY_WAIT: _ClassVar[StepState]

class ExecutionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_MODE_UNSPECIFIED: _ClassVar[ExecutionMode]
    EXECUTION_MODE_SEQUENTIAL: _ClassVar[ExecutionMode]
    EXECUTION_MODE_PARALLEL: _ClassVar[ExecutionMode]
    EXECUTION_MODE_ADAPTIVE: _ClassVar[ExecutionMode]
    EXECUTION_MODE_PIPELINE: _ClassVar[ExecutionMode]

class WorkflowPriority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKFLOW_PRIORITY_UNSPECIFIED: _ClassVar[WorkflowPriority]
    WORKFLOW_PRIORITY_CRITICAL: _ClassVar[WorkflowPriority]
    WORKFLOW_PRIORITY_HIGH: _ClassVar[WorkflowPriority]
    WORKFLOW_PRIORITY_MEDIUM: _ClassVar[WorkflowPriority]
    WORKFLOW_PRIORITY_LOW: _ClassVar[WorkflowPriority]
    WORKFLOW_PRIORITY_BACKGROUND: _ClassVar[WorkflowPriority]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_STARTED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_STARTED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_STREAM: _ClassVar[EventType]
    EVENT_TYPE_AGENT_COMPLETED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_ERROR: _ClassVar[EventType]
    EVENT_TYPE_AGENT_RETRYING: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_ADAPTED: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_COMPLETED: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_FAILED: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_TIMED_OUT: _ClassVar[EventType]
    EVENT_TYPE_WORKFLOW_QUEUED: _ClassVar[EventType]
    EVENT_TYPE_STEP_SKIPPED: _ClassVar[EventType]
WORKFLOW_STATE_UNSPECIFIED: WorkflowState
WORKFLOW_STATE_PENDING: WorkflowState
WORKFLOW_STATE_QUEUED: WorkflowState
WORKFLOW_STATE_RUNNING: WorkflowState
WORKFLOW_STATE_COMPLETED: WorkflowState
WORKFLOW_STATE_FAILED: WorkflowState
WORKFLOW_STATE_CANCELLED: WorkflowState
WORKFLOW_STATE_TIMED_OUT: WorkflowState
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_PENDING: StepState
STEP_STATE_READY: StepState
STEP_STATE_ASSIGNED: StepState
STEP_STATE_RUNNING: StepState
STEP_STATE_COMPLETED: StepState
STEP_STATE_FAILED: StepState
STEP_STATE_CANCELLED: StepState
STEP_STATE_SKIPPED: StepState
STEP_STATE_RETRY_WAIT: StepState
EXECUTION_MODE_UNSPECIFIED: ExecutionMode
EXECUTION_MODE_SEQUENTIAL: ExecutionMode
EXECUTION_MODE_PARALLEL: ExecutionMode
EXECUTION_MODE_ADAPTIVE: ExecutionMode
EXECUTION_MODE_PIPELINE: ExecutionMode
WORKFLOW_PRIORITY_UNSPECIFIED: WorkflowPriority
WORKFLOW_PRIORITY_CRITICAL: WorkflowPriority
WORKFLOW_PRIORITY_HIGH: WorkflowPriority
WORKFLOW_PRIORITY_MEDIUM: WorkflowPriority
WORKFLOW_PRIORITY_LOW: WorkflowPriority
WORKFLOW_PRIORITY_BACKGROUND: WorkflowPriority
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_WORKFLOW_STARTED: EventType
EVENT_TYPE_AGENT_STARTED: EventType
EVENT_TYPE_AGENT_STREAM: EventType
EVENT_TYPE_AGENT_COMPLETED: EventType
EVENT_TYPE_AGENT_ERROR: EventType
EVENT_TYPE_AGENT_RETRYING: EventType
EVENT_TYPE_WORKFLOW_ADAPTED: EventType
EVENT_TYPE_WORKFLOW_COMPLETED: EventType
EVENT_TYPE_WORKFLOW_FAILED: EventType
EVENT_TYPE_WORKFLOW_CANCELLED: EventType
EVENT_TYPE_WORKFLOW_TIMED_OUT: EventType
EVENT_TYPE_WORKFLOW_QUEUED: EventType
EVENT_TYPE_STEP_SKIPPED: EventType
