"""The agent directory: registry entries, and one transport link per open session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from ..engine.model import DEFAULT_NAMESPACE, AgentRegistration, Dispatch
from ..engine.pool import AgentSession
from ..engine.scheduler import Scheduler
from .views import AgentView, agent_view

log = logging.getLogger("dwe.server")


class AgentLink(Protocol):
    """The transport side of one agent session (implemented by the api layer)."""

    def deliver(self, dispatches: list[Dispatch], cancels: list[tuple[str, str]]) -> None:
        """Queue assignments and (attempt id, reason) cancels for the agent."""

    def acknowledge(self, acks: list[tuple[str, int, bool]]) -> None:
        """Queue (attempt id, index, resend) acknowledgements of stored numbered progress;
        ``resend`` asks for the attempt's progress after ``index`` again."""

    def reject(self, items: list[tuple[str, str, str]]) -> None:
        """Queue (attempt id, kind, reason) rejections of reports the server refused."""

    def close(self, reason: str) -> None:
        """End the session's stream; the agent is told ``reason`` (UNAVAILABLE)."""

    def drain(self, reason: str) -> None:
        """Tell the agent no more work comes on this stream; it delivers results, then leaves."""


class AgentIdInUse(RuntimeError):
    """A live session already has the agent id a new session asked for."""

    def __init__(self, agent_id: str, since: float) -> None:
        super().__init__(agent_id, since)
        self.agent_id = agent_id
        self.since = since


@dataclass(frozen=True, slots=True)
class Hello:
    """What a connecting agent says about itself."""

    agent_id: str
    agent_type: str = ""
    capabilities: list[str] = field(default_factory=list)
    max_tasks: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    namespace: str = DEFAULT_NAMESPACE


class AgentDirectory:
    """Registry entries and the links of open sessions."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._registry: dict[str, AgentRegistration] = {}
        self._links: dict[str, AgentLink] = {}
        self._gone: list[asyncio.Future[None]] = []

    def register(self, reg: AgentRegistration) -> None:
        """Add or replace a registry entry (the caller stores it)."""
        self._registry[reg.agent_id] = reg

    def registration(self, agent_id: str) -> AgentRegistration | None:
        return self._registry.get(agent_id)

    def link(self, session_id: str) -> AgentLink | None:
        return self._links.get(session_id)

    def open(
        self, link: AgentLink, hello: Hello, now: float
    ) -> tuple[AgentSession, list[str], list[str]]:
        """Open a session: registry entries of its namespace fill in what the Hello left
        out.

        Returns the session and, among the attempts the agent holds, those
        resumed and those dropped.

        Raises:
            AgentIdInUse: A live session has the same agent id. It is not
                replaced: two processes with one id would evict each other
                forever. The newcomer retries until the old session ends.
        """
        live = self._scheduler.agent(hello.agent_id)
        if live is not None:
            raise AgentIdInUse(hello.agent_id, live.connected_at)
        reg = self._registry.get(hello.agent_id)
        agent_type, capabilities, max_tasks = hello.agent_type, hello.capabilities, hello.max_tasks
        if reg is not None and reg.namespace == hello.namespace:
            agent_type = agent_type or reg.agent_type
            capabilities = capabilities or list(reg.capabilities)
            max_tasks = max_tasks or reg.max_concurrent_tasks
        session = AgentSession(
            session_id=uuid.uuid4().hex,
            agent_id=hello.agent_id,
            agent_type=agent_type,
            capabilities=frozenset(capabilities),
            max_tasks=max(max_tasks, 1),
            connected_at=now,
            labels=dict(hello.labels),
            namespace=hello.namespace,
        )
        self._links[session.session_id] = link
        resumed, dropped = self._scheduler.connect(session, list(hello.held), now)
        log.info(
            "agent %s connected (session %s, namespace %s, capabilities %s, max %d)",
            hello.agent_id,
            session.session_id,
            session.namespace,
            ",".join(sorted(session.capabilities)),
            session.max_tasks,
        )
        return session, resumed, dropped

    def close(self, session_id: str) -> None:
        """The session's stream ended."""
        self._links.pop(session_id, None)
        if not self._links:
            for fut in self._gone:
                if not fut.done():
                    fut.set_result(None)
            self._gone.clear()

    def end_all(self, reason: str) -> None:
        """Close every session's stream."""
        for link in list(self._links.values()):
            link.close(reason)

    async def drain(self, reason: str, timeout: float) -> int:
        """Send Drain on every stream and wait (at most ``timeout`` s) for agents to leave.

        Returns how many sessions were still open when the wait ended.
        """
        for link in list(self._links.values()):
            link.drain(reason)
        if self._links and timeout > 0:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._gone.append(fut)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, timeout)
        return len(self._links)

    def views(self) -> list[AgentView]:
        """Registered and connected agents, by agent id."""
        ids = sorted({*self._registry, *(a.agent_id for a in self._scheduler.agents())})
        return [self.view(i) for i in ids]

    def view(self, agent_id: str) -> AgentView:
        return agent_view(agent_id, self._registry.get(agent_id), self._scheduler.agent(agent_id))
