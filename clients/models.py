"""The guide's ``Workflow`` and ``WorkflowStep`` dataclasses, kept in step with events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dwe.common.enums import ExecutionMode, StepState, WorkflowPriority, WorkflowState
from dwe.common.errors import ValidationError
from dwe.common.graph import GraphError, critical_path
from dwe.common.wire import decode_payload, duration_seconds
from dwe.v1 import workflow_pb2

__all__ = ["Workflow", "WorkflowStep"]


@dataclass
class WorkflowStep:
    """One step of a workflow as the client sees it.

    Attributes:
        step_id: Unique within the workflow.
        name: Display name.
        description: What the step does.
        agent_type: Preferred agent id or type.
        agent_capability: Required capability (a string; see ``AgentCapability``).
        dependencies: step_ids that must complete first.
        execution_mode: The workflow's execution mode.
        timeout_seconds: Bound of one attempt; 0 means none.
        retry_count: Extra attempts after the first failure.
        estimated_duration: The author's estimate in seconds.
        state: Latest known state, updated by ``execute_workflow`` events.
        result: Output of the completed step, when known.
        priority_boost: Room for adaptation rules; not sent to the server.
        optional: A failure does not fail the workflow.
        attempts: Attempts seen so far.
        agent_id: Agent of the latest attempt.
        error_message: Latest error, when the step failed.
    """

    step_id: str
    name: str
    description: str = ""
    agent_type: str = ""
    agent_capability: str = ""
    dependencies: list[str] = field(default_factory=list)
    execution_mode: ExecutionMode = ExecutionMode.PARALLEL
    timeout_seconds: float = 0.0
    retry_count: int = 0
    estimated_duration: float = 0.0
    state: StepState = StepState.PENDING
    result: Any = None
    priority_boost: int = 0
    optional: bool = False
    attempts: int = 0
    agent_id: str = ""
    error_message: str = ""


@dataclass
class Workflow:
    """A workflow created on the server, with the latest state the client has seen.

    Attributes:
        workflow_id: Server-assigned id.
        name: Display name.
        description: Free text.
        steps: The steps in declaration order.
        priority: Dispatch priority.
        execution_mode: How ready steps are released.
        state: Latest known state.
        context: The workflow context (spec context, merged with the start
            context once the run has started).
        results: Outputs of completed steps by step_id.
        last_seq: Highest event seq applied; resume watching after it.
        error_message: Why the run did not complete, when it did not.
        namespace: The namespace it belongs to, as the server reported it.
    """

    workflow_id: str
    name: str
    description: str = ""
    steps: list[WorkflowStep] = field(default_factory=list)
    priority: WorkflowPriority = WorkflowPriority.MEDIUM
    execution_mode: ExecutionMode = ExecutionMode.PARALLEL
    state: WorkflowState = WorkflowState.PENDING
    context: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    last_seq: int = 0
    error_message: str = ""
    namespace: str = ""

    def get_step(self, step_id: str) -> WorkflowStep | None:
        """Returns the step with this id, or None."""
        for step in self.steps:
            if step.step_id == step_id:
                return step
        return None

    def get_critical_path(self) -> list[WorkflowStep]:
        """The chain of dependent steps with the largest total ``estimated_duration``.

        Returns:
            The steps from the first of the chain to the last.
        """
        deps = {s.step_id: s.dependencies for s in self.steps}
        durations = {s.step_id: s.estimated_duration for s in self.steps}
        by_id = {s.step_id: s for s in self.steps}
        try:
            path = critical_path(deps, durations)
        except GraphError as exc:
            raise ValidationError(str(exc)) from None
        return [by_id[i] for i in path]

    @classmethod
    def from_spec(
        cls, workflow_id: str, spec: workflow_pb2.WorkflowSpec, namespace: str = ""
    ) -> Workflow:
        """Builds the client-side view of a freshly created workflow."""
        mode = ExecutionMode.from_proto(spec.execution_mode) or ExecutionMode.PARALLEL
        context = decode_payload(spec.context) if spec.HasField("context") else None
        steps = [
            WorkflowStep(
                step_id=s.step_id,
                name=s.name,
                description=s.description,
                agent_type=s.agent_type,
                agent_capability=s.capability,
                dependencies=list(s.dependencies),
                execution_mode=mode,
                timeout_seconds=duration_seconds(s.timeout),
                retry_count=s.retry_count,
                estimated_duration=duration_seconds(s.estimated_duration),
                optional=s.optional,
            )
            for s in spec.steps
        ]
        return cls(
            workflow_id=workflow_id,
            name=spec.name,
            description=spec.description,
            steps=steps,
            priority=WorkflowPriority.from_proto(spec.priority) or WorkflowPriority.MEDIUM,
            execution_mode=mode,
            context=context if isinstance(context, dict) else {},
            namespace=namespace,
        )

    def apply_event(self, event: dict[str, Any]) -> None:
        """Updates state, results and steps from one event dict (see ``events.py``)."""
        seq = event.get("seq") or 0
        if seq and seq <= self.last_seq:
            return
        self.last_seq = max(self.last_seq, seq)
        name, data = event.get("event"), event.get("data") or {}
        step_id = data.get("step_id")
        step = self.get_step(step_id) if step_id else None
        if name in ("workflow_started", "workflow_queued"):
            started = name == "workflow_started"
            self.state = WorkflowState.RUNNING if started else WorkflowState.QUEUED
            if isinstance(data.get("context"), dict):
                self.context = data["context"]
        elif name in _TERMINAL_EVENTS:
            self.state = _TERMINAL_EVENTS[name]
            final = data.get("final_output") or {}
            self.results.update(final.get("results") or {})
            self.error_message = data.get("error_message") or ""
        elif step is not None:
            _apply_step_event(self, step, name, data)


def _apply_step_event(wf: Workflow, step: WorkflowStep, name: Any, data: dict[str, Any]) -> None:
    step.agent_id = data.get("agent_id") or step.agent_id
    step.attempts = max(step.attempts, data.get("attempt") or 0)
    if name == "agent_started":
        step.state = StepState.RUNNING
    elif name == "agent_completed":
        step.state = StepState.COMPLETED
        step.result = data.get("result")
        wf.results[step.step_id] = step.result
    elif name == "agent_error":
        step.state = StepState.RETRY_WAIT if data.get("will_retry") else StepState.FAILED
        step.error_message = data.get("error_message") or ""
    elif name == "agent_retrying":
        step.state = StepState.RETRY_WAIT
    elif name == "step_skipped":
        step.state = StepState.SKIPPED
        step.error_message = data.get("error_message") or ""


_TERMINAL_EVENTS = {
    "workflow_completed": WorkflowState.COMPLETED,
    "workflow_failed": WorkflowState.FAILED,
    "workflow_cancelled": WorkflowState.CANCELLED,
    "workflow_timed_out": WorkflowState.TIMED_OUT,
}
