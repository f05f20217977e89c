"""Hello and RegisterAgent input -> domain values; bad input is refused saying where."""

from __future__ import annotations

from dwe.common.spec import DEFAULT_MAX_TASKS
from dwe.v1 import agent_pb2

from ..engine.model import AgentRegistration
from ..runtime.directory import Hello
from .limits import quote
from .validation import ValidationError, check_length, decode_json_object


def hello_from_proto(hello: agent_pb2.Hello, registered: bool) -> Hello:
    """A connecting agent's Hello; ``registered`` says whether a registry entry exists."""
    if not hello.agent_id:
        raise ValidationError("the first message must carry hello.agent_id")
    check_length(hello.agent_id, "hello.agent_id")
    where = f"agent {quote(hello.agent_id)}"
    if not hello.capabilities and not registered:
        raise ValidationError(f"{where}: hello.capabilities is empty and no registry entry")
    if hello.max_concurrent_tasks < 0:
        raise ValidationError(f"{where}: hello.max_concurrent_tasks must not be negative")
    return Hello(
        hello.agent_id,
        hello.agent_type,
        list(hello.capabilities),
        hello.max_concurrent_tasks,
        dict(hello.labels),
        list(hello.held_attempt_ids),
    )


def registration_from_proto(a: agent_pb2.AgentInfo) -> AgentRegistration:
    """A RegisterAgent entry."""
    if not a.agent_id:
        raise ValidationError("agent.agent_id is empty")
    check_length(a.agent_id, "agent.agent_id")
    where = f"agent {quote(a.agent_id)}"
    if not a.capabilities:
        raise ValidationError(f"{where}: capabilities is empty")
    if any(not cap for cap in a.capabilities):
        raise ValidationError(f"{where}: a capability is empty")
    if a.max_concurrent_tasks < 0:
        raise ValidationError(f"{where}: max_concurrent_tasks must not be negative")
    config = decode_json_object(a.config, f"{where}: config")
    return AgentRegistration(
        agent_id=a.agent_id,
        agent_type=a.agent_type,
        capabilities=tuple(dict.fromkeys(a.capabilities)),
        max_concurrent_tasks=a.max_concurrent_tasks or DEFAULT_MAX_TASKS,
        config=config,
    )
