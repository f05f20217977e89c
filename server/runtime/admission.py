"""Admission of calls while the server stops: refused with a reason, not cut off.

When a grpc.aio server stops, calls that reached it but were not yet handed to a
handler are cancelled: the caller sees CANCELLED, which says nothing about
retrying. So before gRPC stops, the server keeps serving but answers every new
call UNAVAILABLE ("server shutting down"), lets the calls in flight finish, and
waits until callers stop arriving (bounded by the grace period); only then does
gRPC stop.
"""

from __future__ import annotations

import asyncio

#: How long no call may have been refused before gRPC stops.
QUIET = 0.05
#: How often ``quiet`` looks again.
POLL = 0.01


class Admission:
    """Counts calls in flight; after ``refuse`` new calls are turned away."""

    __slots__ = ("_last_refused", "active", "refusing")

    def __init__(self) -> None:
        self.refusing = False
        self.active = 0
        self._last_refused = 0.0

    def refuse(self) -> None:
        """From now on every new call is answered UNAVAILABLE."""
        self.refusing = True
        # Calls gRPC has queued but not handed out yet are refused in the next moments,
        # not cut off: count the quiet period from here.
        self._last_refused = asyncio.get_running_loop().time()

    def refused(self) -> None:
        """A call was turned away (noted, to know when callers have stopped coming)."""
        self._last_refused = asyncio.get_running_loop().time()

    async def quiet(self, timeout: float) -> bool:
        """Wait until no call is in flight and none was refused for a moment, or for
        ``timeout`` seconds; True when it got quiet in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.active == 0 and loop.time() - self._last_refused >= QUIET:
                return True
            await asyncio.sleep(POLL)
        return False
