"""Python client of the Dynamic Workflow Engine (dwe).

``DynamicWorkflowEngine`` is the guide's API over gRPC (embedded server when
no target is given). ``DweClient`` is the typed async core, one method per RPC
taking and returning dwe.v1 protobuf messages; ``SyncDweClient`` is the same
client for blocking code, running a ``DweClient`` on an event-loop thread of
its own. The ``dwe`` command line is :mod:`dwe.cli`.
"""

from dwe.clients.engine import DynamicWorkflowEngine
from dwe.clients.errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    DweError,
    FailedPreconditionError,
    InternalError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    RpcCancelledError,
    UnauthenticatedError,
    UnavailableError,
    ValidationError,
)
from dwe.clients.follow import ReconnectPolicy
from dwe.clients.intents import Intent, IntentDetectionEngine, IntentError
from dwe.clients.models import Workflow, WorkflowStep
from dwe.clients.sync import SyncDweClient
from dwe.clients.typed import DweClient
from dwe.common.enums import (
    AgentCapability,
    ExecutionMode,
    StepState,
    WorkflowPriority,
    WorkflowState,
)

__all__ = [
    "AgentCapability",
    "AlreadyExistsError",
    "DeadlineExceededError",
    "DweClient",
    "DweError",
    "DynamicWorkflowEngine",
    "ExecutionMode",
    "FailedPreconditionError",
    "Intent",
    "IntentDetectionEngine",
    "IntentError",
    "InternalError",
    "NotFoundError",
    "PermissionDeniedError",
    "ReconnectPolicy",
    "ResourceExhaustedError",
    "RpcCancelledError",
    "StepState",
    "SyncDweClient",
    "UnauthenticatedError",
    "UnavailableError",
    "ValidationError",
    "Workflow",
    "WorkflowPriority",
    "WorkflowState",
    "WorkflowStep",
]
