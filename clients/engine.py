"""``DynamicWorkflowEngine``: the guide's API, served by a dwe server over gRPC.

With a target it talks to a running server; without one it starts an embedded
server on its own thread and event loop, so the guide's synchronous methods
(``register_agent``, ``get_workflow_status``, ``get_engine_metrics``) can block
on a plain gRPC channel even when called from inside the caller's event loop.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, Self

from dwe.clients._common import DEFAULT_RPC_TIMEOUT
from dwe.clients.errors import FailedPreconditionError, NotFoundError, ValidationError
from dwe.clients.events import (
    agent_to_dict,
    event_to_dict,
    metrics_to_dict,
    status_to_dict,
    summary_to_dict,
)
from dwe.clients.follow import ReconnectPolicy, follow_events
from dwe.clients.intents import Intent, IntentDetectionEngine, IntentError
from dwe.clients.models import Workflow
from dwe.clients.spec import build_workflow_spec
from dwe.clients.sync import SyncDweClient
from dwe.clients.typed import DweClient
from dwe.common.enums import ExecutionMode, WorkflowPriority, WorkflowState, capability_value
from dwe.common.wire import decode_payload, encode_json
from dwe.v1 import agent_pb2

__all__ = ["DynamicWorkflowEngine"]

DEFAULT_DB_PATH = "./dwe.db"


class DynamicWorkflowEngine:
    """The guide's workflow engine, as a client of a dwe server.

    Args:
        target: ``host:port`` of a dwe server; None starts an embedded server
            in this process (SQLite at ``db_path``).
        intent_engine: An ``IntentDetectionEngine``; ``create_workflow_from_intent``
            and ``execute_intent`` use its rules and templates (without one they
            ask the server, which applies its own ``--intents`` rules).
        agent_registry: Agents to register at start, as ``{agent_id: {"type",
            "capabilities", "max_tasks", "config"}}`` or a list of such dicts
            with an ``"id"``.
        max_concurrent_workflows: Embedded server: running workflows at once.
        default_timeout: Seconds bounding each workflow run created here.
        enable_adaptation: Kept for the guide; adaptation is the server's
            ADAPTIVE mode.
        enable_monitoring: Kept for the guide; the server always keeps metrics.
        db_path: Embedded server's SQLite file; default ``$DWE_DB`` or ``./dwe.db``.
        options: gRPC channel options.
        rpc_timeout: Deadline in seconds of each unary call.
        reconnect: How event streams resume after the connection breaks.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        intent_engine: Any = None,
        agent_registry: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        max_concurrent_workflows: int = 10,
        default_timeout: float | None = 3600,
        enable_adaptation: bool = True,
        enable_monitoring: bool = True,
        db_path: str | os.PathLike[str] | None = None,
        options: Sequence[tuple[str, Any]] | None = None,
        rpc_timeout: float | None = DEFAULT_RPC_TIMEOUT,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        self.intent_engine = intent_engine
        self.max_concurrent_workflows = max_concurrent_workflows
        self.default_timeout = default_timeout
        self.enable_adaptation = enable_adaptation
        self.enable_monitoring = enable_monitoring
        self._options = list(options or ())
        self._rpc_timeout = rpc_timeout
        self._reconnect = reconnect or ReconnectPolicy()
        self._server: Any = None
        self._closed = False
        if target is None:
            from dwe.server.embedded import EmbeddedServer

            # Engines on the same SQLite file in one process share one server.
            self._server = EmbeddedServer.shared(
                db_path=str(db_path or os.environ.get("DWE_DB") or DEFAULT_DB_PATH),
                port=0,
                max_concurrent_workflows=max_concurrent_workflows,
                default_timeout=default_timeout,
            )
            target = str(self._server.address)
        self._stop_server = weakref.finalize(self, _stop, self._server)
        self.address: str = target
        self._sync = SyncDweClient(target, options=self._options, rpc_timeout=rpc_timeout)
        self._aclient: DweClient | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Task[None] | None = None
        for entry in _registry_entries(agent_registry):
            self.register_agent(**entry)

    # lifecycle

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def close(self) -> None:
        """Closes the channels and stops the embedded server. Safe to call twice."""
        self._closed = True
        aclient, self._aclient = self._aclient, None
        if aclient is not None:
            try:
                loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None and loop is self._aloop:
                self._closing = loop.create_task(aclient.close())  # keep a reference
        self._sync.close()
        self._stop_server()

    async def aclose(self) -> None:
        """Async :meth:`close`: awaits the channel and stops the server off the loop."""
        aclient, self._aclient = self._aclient, None
        if aclient is not None and self._aloop is asyncio.get_running_loop():
            await aclient.close()
        self._closed = True
        self._sync.close()
        await asyncio.to_thread(self._stop_server)

    def _client(self) -> DweClient:
        """The async client of the running loop (aio channels belong to one loop)."""
        if self._closed:
            raise RuntimeError("DynamicWorkflowEngine is closed")
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is not loop:
            self._aclient = DweClient(
                self.address, options=self._options, rpc_timeout=self._rpc_timeout
            )
            self._aloop = loop
        return self._aclient

    # agents and engine

    def register_agent(
        self,
        agent_id: str,
        agent_type: str | Sequence[Any] | None = None,
        capabilities: Iterable[Any] | None = None,
        max_concurrent_tasks: int = 5,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Adds or replaces an agent's registry entry (blocking; safe inside a loop).

        Also accepts the short form ``register_agent(agent_id, capabilities)``.

        Args:
            agent_id: The agent's stable id.
            agent_type: The agent's type, matched by steps' ``agent_type``.
            capabilities: :class:`AgentCapability` members or custom strings.
            max_concurrent_tasks: Attempts the agent runs at once.
            config: JSON object handed to the agent when it connects.

        Raises:
            ValidationError: No capabilities, or a bad value.
        """
        if capabilities is None and agent_type is not None and not isinstance(agent_type, str):
            agent_type, capabilities = agent_id, agent_type
        caps = [
            capability_value(c, where=f"agent {agent_id!r} capability") for c in capabilities or ()
        ]
        if not caps:
            raise ValidationError(f"agent {agent_id!r} needs at least one capability")
        tasks = max_concurrent_tasks
        if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
            raise ValidationError(f"agent {agent_id!r}: max_concurrent_tasks must be >= 1")
        info = agent_pb2.AgentInfo(
            agent_id=agent_id,
            agent_type=str(agent_type or agent_id),
            capabilities=caps,
            max_concurrent_tasks=max_concurrent_tasks,
        )
        if config is not None:
            info.config.CopyFrom(encode_json(dict(config), where=f"agent {agent_id!r} config"))
        self._sync.register_agent(info)

    def list_agents(self) -> list[dict[str, Any]]:
        """Registered and connected agents with their load (blocking)."""
        return [agent_to_dict(a) for a in self._sync.list_agents()]

    def get_engine_metrics(self) -> dict[str, Any]:
        """Engine counters, agent load, resource use and history series (blocking)."""
        return metrics_to_dict(self._sync.get_engine_metrics())

    def add_adaptation_rule(self, rule: Callable[..., Any]) -> None:
        """Add a rule ``rule(workflow, ready_steps)`` to the embedded server's scheduler.

        Rules run for ADAPTIVE workflows each time steps become ready; they may
        raise ``step.priority_boost`` (seconds added to the step's critical
        path) and read ``workflow.get_critical_path()``. A rule that raises is
        logged, counted and skipped.

        Raises:
            FailedPreconditionError: The engine talks to a remote server; load
                rules there with ``dwe server --rules package.module:function``.
        """
        if self._server is None:
            raise FailedPreconditionError(
                "adaptation rules run inside the server: start it with "
                "`dwe server --rules package.module:function`, or use the embedded engine"
            )
        self._server.add_rule(rule)

    # workflows

    async def create_workflow(
        self,
        name: str,
        description: str = "",
        steps: Sequence[Mapping[str, Any]] | None = None,
        priority: WorkflowPriority | str = WorkflowPriority.MEDIUM,
        execution_mode: ExecutionMode | str = ExecutionMode.PARALLEL,
        context: Mapping[str, Any] | None = None,
        max_parallel_steps: int = 0,
        default_timeout: float | None = None,
        request_id: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Workflow:
        """Validates and stores a workflow (state PENDING) from the guide's step dicts.

        Raises:
            ValidationError: A bad step or argument; the server also rejects
                duplicate ids, unknown dependencies and cycles.
        """
        if steps is None:
            raise ValidationError(f"workflow {name!r}: steps are required")
        spec = build_workflow_spec(
            name,
            steps,
            description=description,
            priority=priority,
            execution_mode=execution_mode,
            context=context,
            max_parallel_steps=max_parallel_steps,
            default_timeout=default_timeout
            if default_timeout is not None
            else self.default_timeout,
            labels=labels,
        )
        response = await self._client().create_workflow(spec, request_id)
        workflow = Workflow.from_spec(response.workflow_id, spec)
        workflow.state = WorkflowState.from_proto(response.status.state) or workflow.state
        return workflow

    # intents

    def analyze_intent(self, message: str) -> Intent:
        """The intent of a message: by the local intent engine, else by the server."""
        if self.intent_engine is not None:
            return self.intent_engine.analyze_intent(message)
        found = self._sync.analyze_intent(message)
        return Intent(
            found.primary_intent,
            found.confidence,
            dict(found.entities),
            found.candidate,
            message=message,
        )

    async def create_workflow_from_intent(
        self, message: str, context: Mapping[str, Any] | None = None
    ) -> tuple[Workflow, Intent]:
        """Create the workflow template the message's intent maps to (state PENDING).

        Uses the engine's ``intent_engine`` (or the built-in rules); the template's
        context is filled from extracted entities, then ``context`` is merged over it.

        Raises:
            FailedPreconditionError: No intent reached the threshold, or the intent
                has no template, or an entity the template needs is missing.
        """
        detector = self.intent_engine or IntentDetectionEngine()
        try:
            intent, template = detector.workflow_for(message)
        except IntentError as exc:
            raise FailedPreconditionError(str(exc)) from None
        merged = {**template.get("context", {}), **(context or {})}
        fields = {k: v for k, v in template.items() if k != "context"}
        workflow = await self.create_workflow(context=merged, **fields)
        return workflow, intent

    async def execute_intent(
        self,
        message: str,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Create the workflow for the message's intent and stream its events."""
        workflow, _ = await self.create_workflow_from_intent(message, context)
        async with aclosing(self.execute_workflow(workflow, session_id=session_id)) as events:
            async for event in events:
                yield event

    async def start_workflow(
        self,
        workflow: Workflow | str,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> WorkflowState | None:
        """Starts a PENDING workflow and returns at once; follow with :meth:`watch_workflow`."""
        response = await self._client().start_workflow(_id(workflow), context, session_id)
        state = WorkflowState.from_proto(response.state)
        if isinstance(workflow, Workflow) and state is not None:
            workflow.state = state
        return state

    async def execute_workflow(
        self,
        workflow: Workflow | str,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Starts a workflow and yields the guide's event dicts until the terminal one.

        Breaking out of the loop closes the stream (the workflow keeps running).
        A broken connection is resumed from the last seq seen. ``workflow.state``,
        ``.results`` and its steps are updated as events arrive.

        Raises:
            DweError: The workflow could not be started or followed.
        """
        client = self._client()
        workflow_id = _id(workflow)
        stream = follow_events(
            client,
            workflow_id,
            lambda: client.execute_workflow(workflow_id, context, session_id),
            policy=self._reconnect,
            starts_workflow=True,
        )
        async with aclosing(stream):
            async for event in stream:
                yield _applied(workflow, await _complete(client, event_to_dict(event)))

    async def watch_workflow(
        self, workflow: Workflow | str, after_seq: int = 0
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yields a workflow's events after ``after_seq`` (stored, then live) to the end."""
        client = self._client()
        workflow_id = _id(workflow)
        stream = follow_events(
            client,
            workflow_id,
            lambda: client.watch_workflow(workflow_id, after_seq),
            after_seq=after_seq,
            policy=self._reconnect,
        )
        async with aclosing(stream):
            async for event in stream:
                yield _applied(workflow, await _complete(client, event_to_dict(event)))

    def get_workflow_status(self, workflow_id: Workflow | str) -> dict[str, Any] | None:
        """The run's state, progress and steps (blocking); None for an unknown id."""
        try:
            return status_to_dict(self._sync.get_workflow_status(_id(workflow_id)))
        except NotFoundError:
            return None

    def list_workflows(self, states: Iterable[Any] = (), limit: int = 50) -> list[dict[str, Any]]:
        """Newest workflows first, up to ``limit`` (blocking)."""
        rows: list[dict[str, Any]] = []
        token = ""
        while len(rows) < limit:
            page = self._sync.list_workflows(min(limit - len(rows), 1000), token, states)
            rows.extend(summary_to_dict(w) for w in page.workflows)
            token = page.next_page_token
            if not token:
                break
        return rows[:limit]

    async def cancel_workflow(self, workflow_id: Workflow | str, reason: str = "") -> bool:
        """Cancels a run; False when it had already ended or does not exist."""
        try:
            response = await self._client().cancel_workflow(_id(workflow_id), reason)
        except NotFoundError:
            return False
        if isinstance(workflow_id, Workflow) and response.cancelled:
            workflow_id.state = WorkflowState.CANCELLED
        return response.cancelled


def _id(workflow: Workflow | str) -> str:
    return workflow.workflow_id if isinstance(workflow, Workflow) else str(workflow)


async def _complete(client: DweClient, event: dict[str, Any]) -> dict[str, Any]:
    """Fill the results a terminal event left out for size from the run's status."""
    final = event["data"].get("final_output") or {}
    omitted = set(final.get("omitted_results") or ())
    if omitted:
        status = await client.get_workflow_status(event["workflow_id"])
        for step in status.steps:
            if step.step_id in omitted:
                output = decode_payload(step.output) if step.HasField("output") else None
                final["results"][step.step_id] = output
    return event


def _applied(workflow: Workflow | str, event: dict[str, Any]) -> dict[str, Any]:
    if isinstance(workflow, Workflow):
        workflow.apply_event(event)
    return event


def _stop(server: Any) -> None:
    if server is not None:
        server.release()


def _registry_entries(registry: Any) -> list[dict[str, Any]]:
    """Normalises the ``agent_registry`` argument to register_agent keyword dicts."""
    if not registry:
        return []
    items = (
        registry.items()
        if isinstance(registry, Mapping)
        else ((entry.get("id") or entry.get("agent_id"), entry) for entry in registry)
    )
    return [
        {
            "agent_id": agent_id,
            "agent_type": entry.get("type") or entry.get("agent_type") or agent_id,
            "capabilities": entry.get("capabilities") or (),
            "max_concurrent_tasks": _max_tasks(entry),
            "config": entry.get("config"),
        }
        for agent_id, entry in items
    ]


def _max_tasks(entry: Mapping[str, Any]) -> int:
    return int(entry.get("max_tasks") or entry.get("max_concurrent_tasks") or 5)
