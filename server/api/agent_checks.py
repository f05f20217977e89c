"""Hello, RegisterAgent and result input -> domain values; bad input is refused saying where."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from google.protobuf.duration_pb2 import Duration

from dwe.common.spec import DEFAULT_MAX_TASKS
from dwe.v1 import agent_pb2

from ..engine.model import DEFAULT_NAMESPACE, AgentRegistration
from ..runtime.directory import Hello
from .limits import MAX_AGENT_TASKS, MAX_CAPABILITIES, MAX_DURATION, MAX_HELD_ATTEMPTS, quote
from .validation import (
    ValidationError,
    check_count,
    check_id,
    check_labels,
    decode_json_object,
    duration_seconds,
)

log = logging.getLogger("dwe.server.agents")


def _check_capabilities(capabilities: Sequence[str], field: str, where: str) -> None:
    check_count(len(capabilities), f"number of {field}", MAX_CAPABILITIES, where)
    for i, cap in enumerate(capabilities):
        if not cap:
            raise ValidationError(f"{where}: {field}[{i}] is empty")
        check_id(cap, f"{field}[{i}]", where)


def hello_from_proto(
    hello: agent_pb2.Hello, registered: bool, namespace: str = DEFAULT_NAMESPACE
) -> Hello:
    """A connecting agent's Hello, serving ``namespace``; ``registered`` says whether a
    registry entry of that namespace exists."""
    if not hello.agent_id:
        raise ValidationError("the first message must carry hello.agent_id")
    check_id(hello.agent_id, "hello.agent_id")
    where = f"agent {quote(hello.agent_id)}"
    if not hello.capabilities and not registered:
        raise ValidationError(f"{where}: hello.capabilities is empty and no registry entry")
    _check_capabilities(hello.capabilities, "hello.capabilities", where)
    check_id(hello.agent_type, "hello.agent_type", where)
    check_id(hello.sdk, "hello.sdk", where)
    check_count(hello.max_concurrent_tasks, "hello.max_concurrent_tasks", MAX_AGENT_TASKS, where)
    labels = check_labels(hello.labels, "hello.labels", where)
    held = hello.held_attempt_ids
    check_count(len(held), "number of hello.held_attempt_ids", MAX_HELD_ATTEMPTS, where)
    for i, attempt_id in enumerate(held):
        check_id(attempt_id, f"hello.held_attempt_ids[{i}]", where)
    return Hello(
        hello.agent_id,
        hello.agent_type,
        list(dict.fromkeys(hello.capabilities)),
        hello.max_concurrent_tasks,
        labels,
        list(held),
        namespace,
    )


def registration_from_proto(a: agent_pb2.AgentInfo, max_payload: int = 0) -> AgentRegistration:
    """A RegisterAgent entry; a config over ``max_payload`` bytes is TooLarge."""
    if not a.agent_id:
        raise ValidationError("agent.agent_id is empty")
    check_id(a.agent_id, "agent.agent_id")
    where = f"agent {quote(a.agent_id)}"
    if not a.capabilities:
        raise ValidationError(f"{where}: capabilities is empty")
    _check_capabilities(a.capabilities, "capabilities", where)
    check_id(a.agent_type, "agent_type", where)
    check_count(a.max_concurrent_tasks, "max_concurrent_tasks", MAX_AGENT_TASKS, where)
    config = decode_json_object(a.config, f"{where}: config", max_payload)
    return AgentRegistration(
        agent_id=a.agent_id,
        agent_type=a.agent_type,
        capabilities=tuple(dict.fromkeys(a.capabilities)),
        max_concurrent_tasks=a.max_concurrent_tasks or DEFAULT_MAX_TASKS,
        config=config,
        namespace=a.namespace or DEFAULT_NAMESPACE,
    )


def result_seconds(d: Duration, attempt_id: str) -> float:
    """A StepResult's duration, or 0 (unknown: the server measures it) when it is
    negative, malformed or over MAX_DURATION. A result is still a result."""
    if not d.seconds and not d.nanos:
        return 0.0
    try:
        return duration_seconds(d, "duration", MAX_DURATION)
    except ValidationError as exc:
        log.warning("result for attempt %s: %s; ignoring the duration", quote(attempt_id), exc)
        return 0.0
