"""Many agents in one process (W6): ``python -m bench.swarm TARGET COUNT PREFIX [MAX]``.

Each agent is a ``dwe.agent_sdk.Agent`` with its own session (its own channel
and stream), the diamond's capabilities, a no-op handler and ``MAX`` slots
(default 2). SIGTERM or SIGINT stops them all gracefully.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from dwe.agent_sdk import Agent, Task

from .common import DIAMOND_CAPABILITIES


def make_agent(agent_id: str, max_tasks: int) -> Agent:
    agent = Agent(agent_id, capabilities=DIAMOND_CAPABILITIES, max_concurrent_tasks=max_tasks)
    done = {"i": 0}

    async def handle(task: Task) -> dict[str, object]:
        done["i"] += 1
        return {"ok": True, "i": done["i"]}

    for cap in DIAMOND_CAPABILITIES:
        agent.handler(cap)(handle)
    return agent


async def serve_all(target: str, count: int, prefix: str, max_tasks: int) -> None:
    """Serve ``count`` agents until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    agents = [make_agent(f"{prefix}-{i:04d}", max_tasks) for i in range(count)]
    await asyncio.gather(*(agent.serve(target, stop) for agent in agents))


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    target, count, prefix = argv[0], int(argv[1]), argv[2]
    max_tasks = int(argv[3]) if len(argv) > 3 else 2
    asyncio.run(serve_all(target, count, prefix, max_tasks))


if __name__ == "__main__":
    main(sys.argv[1:])
