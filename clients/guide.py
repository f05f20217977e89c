"""The guide's operations as async functions of a :class:`DweClient`, returning the guide's dicts.

:class:`~dwe.clients.engine.DynamicWorkflowEngine` runs each of them twice over:
its blocking methods through its :class:`~dwe.clients.sync.SyncDweClient` (on
that client's own loop thread) and their ``*_async`` twins on the caller's loop.
Also here: the agent registry argument and ``register_agent``'s arguments as
``AgentInfo`` messages.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from dwe.clients._common import StateFilter
from dwe.clients.errors import NotFoundError, ValidationError
from dwe.clients.events import agent_to_dict, metrics_to_dict, status_to_dict, summary_to_dict
from dwe.clients.intents import Intent
from dwe.clients.models import Workflow
from dwe.clients.typed import DweClient
from dwe.common.enums import WorkflowState, capability_value
from dwe.common.spec import DEFAULT_MAX_TASKS
from dwe.common.wire import decode_payload, encode_json
from dwe.v1 import agent_pb2, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

__all__ = [
    "AgentRegistry",
    "agent_info",
    "agents",
    "applied",
    "complete_results",
    "engine_metrics",
    "refuse_embedded_settings",
    "registry_entries",
    "server_intent",
    "workflow_id",
    "workflow_rows",
    "workflow_status",
]

#: ``{agent_id: {"type", "capabilities", "max_tasks", "config"}}`` or a list of such
#: dicts with an ``"id"`` (``agent_type`` / ``max_concurrent_tasks`` / ``agent_id`` too).
AgentRegistry: TypeAlias = Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]

#: ListWorkflows page size the engine asks for (the server's maximum).
_PAGE = 1000


def agent_info(
    agent_id: str,
    agent_type: str | Sequence[Any] | None = None,
    capabilities: Iterable[Any] | None = None,
    max_concurrent_tasks: int = DEFAULT_MAX_TASKS,
    config: Mapping[str, Any] | None = None,
    *,
    namespace: str = "",
) -> agent_pb2.AgentInfo:
    """``register_agent``'s arguments as a registry entry, checked before any RPC.

    Also accepts the guide's short form ``(agent_id, capabilities)``.

    Raises:
        ValidationError: No capabilities, a bad capability, or a bad task count.
    """
    if capabilities is None and agent_type is not None and not isinstance(agent_type, str):
        agent_type, capabilities = agent_id, agent_type
    caps = [capability_value(c, where=f"agent {agent_id!r} capability") for c in capabilities or ()]
    if not caps:
        raise ValidationError(f"agent {agent_id!r} needs at least one capability")
    tasks = max_concurrent_tasks
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise ValidationError(f"agent {agent_id!r}: max_concurrent_tasks must be >= 1")
    info = agent_pb2.AgentInfo(
        agent_id=agent_id,
        agent_type=str(agent_type or agent_id),
        capabilities=caps,
        max_concurrent_tasks=tasks,
        namespace=namespace,
    )
    if config is not None:
        info.config.CopyFrom(encode_json(dict(config), where=f"agent {agent_id!r} config"))
    return info


def registry_entries(
    registry: AgentRegistry | None, namespace: str = ""
) -> list[agent_pb2.AgentInfo]:
    """The engine's ``agent_registry`` argument as registry entries of ``namespace``
    (empty: the caller's); an entry's own ``"namespace"`` wins."""
    if not registry:
        return []
    items: Iterable[tuple[Any, Mapping[str, Any]]] = (
        registry.items()
        if isinstance(registry, Mapping)
        else ((entry.get("id") or entry.get("agent_id"), entry) for entry in registry)
    )
    return [
        agent_info(
            str(agent_id),
            entry.get("type") or entry.get("agent_type") or str(agent_id),
            entry.get("capabilities") or (),
            int(entry.get("max_tasks") or entry.get("max_concurrent_tasks") or DEFAULT_MAX_TASKS),
            entry.get("config"),
            namespace=str(entry.get("namespace") or namespace),
        )
        for agent_id, entry in items
    ]


def refuse_embedded_settings(
    max_concurrent_workflows: int | None, db_path: str | os.PathLike[str] | None
) -> None:
    """Settings of the embedded server mean nothing for a server someone else runs.

    Raises:
        ValidationError: One was given; the message names the ``dwe server`` flag.
    """
    for name, value, flag in (
        ("max_concurrent_workflows", max_concurrent_workflows, "--max-concurrent-workflows"),
        ("db_path", db_path, "--db"),
    ):
        if value is not None:
            raise ValidationError(
                f"{name} configures the embedded server only; with a target, "
                f"start the server with `dwe server {flag} ...` instead"
            )


async def workflow_status(client: DweClient, workflow_id: str) -> dict[str, Any] | None:
    """The guide's status dict; None for an unknown id."""
    try:
        return status_to_dict(await client.get_workflow_status(workflow_id))
    except NotFoundError:
        return None


async def workflow_rows(
    client: DweClient, states: Iterable[StateFilter], limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` workflow summaries, newest first, across pages."""
    states = list(states)
    rows: list[dict[str, Any]] = []
    token = ""
    while len(rows) < limit:
        page = await client.list_workflows(min(limit - len(rows), _PAGE), token, states)
        rows.extend(summary_to_dict(w) for w in page.workflows)
        token = page.next_page_token
        if not token:
            break
    return rows[:limit]


async def agents(client: DweClient) -> list[dict[str, Any]]:
    """Registered and connected agents as dicts."""
    return [agent_to_dict(a) for a in await client.list_agents()]


async def engine_metrics(client: DweClient) -> dict[str, Any]:
    """The guide's metrics dict."""
    return metrics_to_dict(await client.get_engine_metrics())


async def server_intent(client: DweClient, message: str) -> Intent:
    """The server's reading of a message, as the client-side ``Intent``."""
    found = await client.analyze_intent(message)
    return Intent(
        found.primary_intent,
        found.confidence,
        dict(found.entities),
        found.candidate,
        message=message,
    )


async def complete_results(client: DweClient, event: dict[str, Any]) -> dict[str, Any]:
    """Fills the results a terminal event left out for size from the run's status."""
    final = event["data"].get("final_output") or {}
    omitted = set(final.get("omitted_results") or ())
    if omitted:
        status = await client.get_workflow_status(event["workflow_id"])
        for step in status.steps:
            if step.step_id in omitted:
                output = decode_payload(step.output) if step.HasField("output") else None
                final["results"][step.step_id] = output
    return event


def workflow_id(workflow: Workflow | str) -> str:
    """The id of a ``Workflow`` or the id itself."""
    return workflow.workflow_id if isinstance(workflow, Workflow) else str(workflow)


def applied(workflow: Workflow | str, event: dict[str, Any]) -> dict[str, Any]:
    """``event``, after applying it to ``workflow`` when that is a ``Workflow``."""
    if isinstance(workflow, Workflow):
        workflow.apply_event(event)
    return event


def created(response: rr.CreateWorkflowResponse, spec: workflow_pb2.WorkflowSpec) -> Workflow:
    """The guide's Workflow of a CreateWorkflow answer."""
    workflow = Workflow.from_spec(response.workflow_id, spec, response.status.namespace)
    workflow.state = WorkflowState.from_proto(response.status.state) or workflow.state
    return workflow
