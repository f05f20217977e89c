"""Reconnect policy: which errors are fatal, backoff state, when to give up (pure)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from dwe.common.backoff import backoff_delay

#: First reconnect delay, in seconds.
DEFAULT_BASE = 0.1
#: Largest reconnect delay, in seconds.
DEFAULT_CAP = 5.0
#: Symmetric spread of each delay (+/- 20 %), so agents restarting together do not
#: reconnect in lockstep.
DEFAULT_JITTER = 0.2
#: A session that stayed up longer than this (seconds) resets the backoff.
STABLE_AFTER = 10.0
#: gRPC codes that no reconnect can fix: ``Agent.serve`` raises them. Every other
#: code is retried with backoff, ALREADY_EXISTS included on purpose: the server
#: refuses a second live session of one agent id, and the session in the way may
#: be this agent's own earlier one, still being torn down (a half-open stream is
#: closed after 3 heartbeat intervals). Once it has ended, the retry gets in.
FATAL_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    }
)


@dataclass(slots=True)
class ConnectionState:
    """Reconnect bookkeeping for one ``Agent.serve`` call.

    Attributes:
        failures: Sessions in a row that failed or did not stay up STABLE_AFTER.
        sessions: Sessions that reached Welcome.
        connected_at: Loop time of the current session's Welcome, if connected.
        stop_deadline: While stopping without a server, when to give up.
    """

    failures: int = 0
    sessions: int = 0
    connected_at: float | None = None
    stop_deadline: float | None = None

    def on_connected(self, now: float) -> None:
        """Record a Welcome."""
        self.sessions += 1
        self.connected_at = now

    def next_delay(
        self,
        now: float,
        base: float,
        cap: float,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Delay before the next attempt; a stable last session resets the count.

        The n-th reconnect in a row waits ``backoff_delay(n, base, 2, cap, 0.2, rng())``.
        """
        if self.connected_at is not None and now - self.connected_at > STABLE_AFTER:
            self.failures = 0
        self.connected_at = None
        self.failures += 1
        return backoff_delay(self.failures, base, 2.0, cap, DEFAULT_JITTER, rng())

    def give_up(self, now: float, pending: int, grace: float | None, slack: float) -> bool:
        """While stopping and disconnected: True once nothing is pending or time is up.

        Args:
            now: Current loop time.
            pending: Running attempts plus undelivered results.
            grace: The agent's graceful timeout (None waits forever).
            slack: Extra time for one more reconnect after handlers are cancelled.
        """
        if pending == 0:
            return True
        if grace is None:
            return False
        if self.stop_deadline is None:
            self.stop_deadline = now + grace + slack
        return now >= self.stop_deadline
