"""``DynamicWorkflowEngine``: the guide's API, served by a dwe server over gRPC.

A thin facade: requests go through :class:`~dwe.clients.typed.DweClient` on the
caller's loop (the guide's async methods and the ``*_async`` twins) or through
:class:`~dwe.clients.sync.SyncDweClient` on its own loop thread (the guide's
blocking methods); :mod:`dwe.clients.guide` turns the replies into the guide's dicts.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Self

from dwe.clients import guide
from dwe.clients._common import DEFAULT_RPC_TIMEOUT, StateFilter, create_request, execute_request
from dwe.clients.batching import batcher
from dwe.clients.connections import Connections
from dwe.clients.errors import FailedPreconditionError, NotFoundError, ValidationError
from dwe.clients.events import event_to_dict
from dwe.clients.follow import ReconnectPolicy, follow_events
from dwe.clients.intents import Intent, IntentDetectionEngine, IntentError
from dwe.clients.models import Workflow
from dwe.clients.spec import DEFAULT_MAX_TASKS, build_workflow_spec
from dwe.clients.typed import ChannelOptions, DweClient
from dwe.common.enums import ExecutionMode, WorkflowPriority, WorkflowState
from dwe.common.namespaces import default as default_namespace
from dwe.common.tls import TlsFiles

if TYPE_CHECKING:
    from dwe.server.embedded import EmbeddedServer

__all__ = ["DynamicWorkflowEngine"]

_id, _applied = guide.workflow_id, guide.applied
DEFAULT_DB_PATH = "./dwe.db"
#: Running workflows at once on the embedded server when the caller gives no limit.
DEFAULT_MAX_CONCURRENT_WORKFLOWS = 10


class DynamicWorkflowEngine:
    """The guide's workflow engine, as a client of a dwe server.

    The guide's blocking methods (``register_agent``, ``get_workflow_status``,
    ``get_engine_metrics``, and ``list_agents``, ``list_workflows``,
    ``analyze_intent``) run their RPC on a private event-loop thread, so they
    never wait on the caller's event loop and may be called from anywhere. A
    blocking call made inside a running loop still pauses that loop for the
    duration of the call: a server running on that same loop cannot answer it.
    There, use the awaitable twins (``register_agent_async``,
    ``get_workflow_status_async``, ... with the same arguments and results).
    The embedded server runs on a thread of its own, so blocking calls reach it
    from any loop.

    Args:
        target: ``host:port`` of a dwe server; None starts an embedded server
            in this process. Engines on one SQLite file share one embedded
            server, configured by the first.
        intent_engine: An ``IntentDetectionEngine``; ``analyze_intent``,
            ``create_workflow_from_intent`` and ``execute_intent`` use its rules
            and templates (without one, ``analyze_intent`` asks the server).
        agent_registry: Agents to register at start, as ``{agent_id: {"type",
            "capabilities", "max_tasks", "config", "namespace"}}`` or a list of such dicts
            with an ``"id"``; ``max_tasks`` defaults to 5.
        max_concurrent_workflows: Embedded server only: running workflows at
            once (default 10). For a server you run, use
            ``dwe server --max-concurrent-workflows``.
        default_timeout: Seconds bounding each workflow run created here.
        enable_adaptation: False creates ADAPTIVE workflows as PARALLEL
            (dependencies, priorities and load-based routing still apply, no
            adaptive reordering) and refuses adaptation rules.
        enable_monitoring: False runs the embedded server without its metrics
            history sampler and sends no OpenTelemetry trace context.
        db_path: Embedded server only: its SQLite file (default ``$DWE_DB`` or
            ``./dwe.db``). For a server you run, use ``dwe server --db``.
        options, rpc_timeout: gRPC channel options; the deadline of each unary call (s).
        reconnect: How event streams resume after the connection breaks.
        tls: TLS to a remote server, as for ``DweClient``; the embedded one is plaintext.
        namespace: Where ``create_workflow`` creates workflows and registry entries
            go; None takes DWE_NAMESPACE; empty: the caller's ("default" with auth off).

    Raises:
        ValidationError: ``max_concurrent_workflows`` or ``db_path`` given with a target.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        intent_engine: IntentDetectionEngine | None = None,
        agent_registry: guide.AgentRegistry | None = None,
        max_concurrent_workflows: int | None = None,
        default_timeout: float | None = 3600,
        enable_adaptation: bool = True,
        enable_monitoring: bool = True,
        db_path: str | os.PathLike[str] | None = None,
        options: ChannelOptions | None = None,
        rpc_timeout: float | None = DEFAULT_RPC_TIMEOUT,
        reconnect: ReconnectPolicy | None = None,
        tls: TlsFiles | bool | None = None,
        namespace: str | None = None,
    ) -> None:
        self.namespace = namespace = default_namespace(namespace)  # DWE_NAMESPACE read once
        registry = guide.registry_entries(agent_registry, namespace)  # checked before anything
        self.intent_engine = intent_engine
        self.default_timeout = default_timeout
        self.enable_adaptation = enable_adaptation
        self.enable_monitoring = enable_monitoring
        self.max_concurrent_workflows: int | None = None
        self._server: EmbeddedServer | None = None
        if target is None:
            self.max_concurrent_workflows = (
                DEFAULT_MAX_CONCURRENT_WORKFLOWS
                if max_concurrent_workflows is None
                else max_concurrent_workflows
            )
            target = self._start_embedded(db_path)
        else:
            guide.refuse_embedded_settings(max_concurrent_workflows, db_path)
        self._stop_server = weakref.finalize(self, _release, self._server)
        self.address: str = target
        self._reconnect = reconnect or ReconnectPolicy()
        self._connections = Connections(
            target,
            options=options,
            rpc_timeout=rpc_timeout,
            trace_context=enable_monitoring,
            tls=False if self._server is not None else tls,  # the embedded server is local
            namespace=namespace,
        )
        self._sync = self._connections.blocking
        for info in registry:
            self._sync.register_agent(info)

    def _start_embedded(self, db_path: str | os.PathLike[str] | None) -> str:
        from dwe.server.embedded import EmbeddedServer  # here: remote use never loads the server

        settings: dict[str, Any] = {
            "max_concurrent_workflows": self.max_concurrent_workflows,
            "default_timeout": self.default_timeout,
        }
        if not self.enable_monitoring:
            settings["metrics_interval"] = 0.0
        server = EmbeddedServer.shared(
            db_path=str(db_path or os.environ.get("DWE_DB") or DEFAULT_DB_PATH),
            port=0,
            **settings,
        )
        self._server = server
        return server.address

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
        self._connections.close()
        self._stop_server()

    async def aclose(self) -> None:
        """Async :meth:`close`: awaits the channel, then stops the rest off the loop."""
        await self._connections.aclose()
        await asyncio.to_thread(self._stop_server)

    def _client(self) -> DweClient:
        """The async client of the running loop (aio channels belong to one loop)."""
        return self._connections.current()

    # agents and engine

    def register_agent(
        self,
        agent_id: str,
        agent_type: str | Sequence[Any] | None = None,
        capabilities: Iterable[Any] | None = None,
        max_concurrent_tasks: int = DEFAULT_MAX_TASKS,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Adds or replaces an agent's registry entry (blocking).

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
        info = guide.agent_info(agent_id, agent_type, capabilities, max_concurrent_tasks, config)
        info.namespace = self.namespace
        self._sync.register_agent(info)

    async def register_agent_async(
        self,
        agent_id: str,
        agent_type: str | Sequence[Any] | None = None,
        capabilities: Iterable[Any] | None = None,
        max_concurrent_tasks: int = DEFAULT_MAX_TASKS,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Awaitable :meth:`register_agent`."""
        info = guide.agent_info(agent_id, agent_type, capabilities, max_concurrent_tasks, config)
        info.namespace = self.namespace
        await self._client().register_agent(info)

    def list_agents(self) -> list[dict[str, Any]]:
        """Registered and connected agents with their load (blocking)."""
        return self._sync.run(guide.agents)

    async def list_agents_async(self) -> list[dict[str, Any]]:
        """Awaitable :meth:`list_agents`."""
        return await guide.agents(self._client())

    def get_engine_metrics(self) -> dict[str, Any]:
        """Engine counters, agent load, resource use and history series (blocking)."""
        return self._sync.run(guide.engine_metrics)

    async def get_engine_metrics_async(self) -> dict[str, Any]:
        """Awaitable :meth:`get_engine_metrics`."""
        return await guide.engine_metrics(self._client())

    def add_adaptation_rule(self, rule: Callable[..., Any]) -> None:
        """Add a rule ``rule(workflow, ready_steps)`` to the embedded server's scheduler.

        Rules run for ADAPTIVE workflows each time steps become ready; they may
        raise ``step.priority_boost`` (seconds added to the step's critical
        path) and read ``workflow.get_critical_path()``. A rule that raises is
        logged, counted and skipped.

        Raises:
            FailedPreconditionError: Adaptation is disabled on this engine, or
                the engine talks to a remote server (load rules there with
                ``dwe server --rules package.module:function``).
        """
        if not self.enable_adaptation:
            raise FailedPreconditionError(
                "adaptation is disabled on this engine (enable_adaptation=False): "
                "its ADAPTIVE workflows run as PARALLEL and take no rules"
            )
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

        With ``enable_adaptation=False`` an ADAPTIVE workflow is created as PARALLEL.

        Raises:
            ValidationError: A bad step or argument; the server also rejects
                duplicate ids, unknown dependencies and cycles.
        """
        if steps is None:
            raise ValidationError(f"workflow {name!r}: steps are required")
        mode = ExecutionMode.parse(execution_mode)
        if mode is ExecutionMode.ADAPTIVE and not self.enable_adaptation:
            mode = ExecutionMode.PARALLEL
        spec = build_workflow_spec(
            name,
            steps,
            description=description,
            priority=priority,
            execution_mode=mode,
            context=context,
            max_parallel_steps=max_parallel_steps,
            default_timeout=self.default_timeout if default_timeout is None else default_timeout,
            labels=labels,
        )
        client = self._client()  # concurrent creates share one call (clients/batching.py)
        response = await batcher(client).create(create_request(spec, request_id, client.namespace))
        return guide.created(response, spec)

    # intents

    def analyze_intent(self, message: str) -> Intent:
        """The intent of a message: by the local intent engine, else by the server (blocking)."""
        if self.intent_engine is not None:
            return self.intent_engine.analyze_intent(message)
        return self._sync.run(functools.partial(guide.server_intent, message=message))

    async def analyze_intent_async(self, message: str) -> Intent:
        """Awaitable :meth:`analyze_intent`."""
        if self.intent_engine is not None:
            return self.intent_engine.analyze_intent(message)
        return await guide.server_intent(self._client(), message)

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
        client, workflow_id = self._client(), _id(workflow)
        stream = follow_events(
            client,
            workflow_id,
            lambda: batcher(client).execute(execute_request(workflow_id, context, session_id)),
            policy=self._reconnect,
            starts_workflow=True,
        )
        async with aclosing(stream):
            async for event in stream:
                yield _applied(workflow, await guide.complete_results(client, event_to_dict(event)))

    async def watch_workflow(
        self, workflow: Workflow | str, after_seq: int = 0
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yields a workflow's events after ``after_seq`` (stored, then live) to the end."""
        client, workflow_id = self._client(), _id(workflow)
        stream = follow_events(
            client,
            workflow_id,
            lambda: client.watch_workflow(workflow_id, after_seq),
            after_seq=after_seq,
            policy=self._reconnect,
        )
        async with aclosing(stream):
            async for event in stream:
                yield _applied(workflow, await guide.complete_results(client, event_to_dict(event)))

    def get_workflow_status(self, workflow_id: Workflow | str) -> dict[str, Any] | None:
        """The run's state, progress and steps (blocking); None for an unknown id."""
        return self._sync.run(
            functools.partial(guide.workflow_status, workflow_id=_id(workflow_id))
        )

    async def get_workflow_status_async(self, workflow_id: Workflow | str) -> dict[str, Any] | None:
        """Awaitable :meth:`get_workflow_status`."""
        return await guide.workflow_status(self._client(), _id(workflow_id))

    def list_workflows(
        self, states: Iterable[StateFilter] = (), limit: int = 50
    ) -> list[dict[str, Any]]:
        """Newest workflows first, up to ``limit`` (blocking)."""
        rows = functools.partial(guide.workflow_rows, states=list(states), limit=limit)
        return self._sync.run(rows)

    async def list_workflows_async(
        self, states: Iterable[StateFilter] = (), limit: int = 50
    ) -> list[dict[str, Any]]:
        """Awaitable :meth:`list_workflows`."""
        return await guide.workflow_rows(self._client(), states, limit)

    async def cancel_workflow(self, workflow_id: Workflow | str, reason: str = "") -> bool:
        """Cancels a run; False when it had already ended or does not exist."""
        try:
            response = await self._client().cancel_workflow(_id(workflow_id), reason)
        except NotFoundError:
            return False
        if isinstance(workflow_id, Workflow) and response.cancelled:
            workflow_id.state = WorkflowState.CANCELLED
        return response.cancelled


def _release(server: EmbeddedServer | None) -> None:
    if server is not None:
        server.release()
