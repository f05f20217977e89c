"""The conformance suite's Python agent: ``python -m tests.conformance.agent_py``.

It implements the same scenario handlers as clients/node/conformance/agent.mjs, chosen by
capability name: ``diamond.py`` runs the ``diamond`` handler (the part after the dot only
routes a step to one language). Environment: DWE_TARGET, CONF_AGENT_ID, CONF_CAPS
(comma-separated), CONF_MAX. Observations go to stdout as ``OBS {json}`` lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dwe.agent_sdk import Agent, NonRetryableError, Task

LANG = "python"
LIMIT = 60.0


class Flaky(Exception):
    """A retryable failure (its class name is the error type)."""


def obs(what: str, **fields: Any) -> None:
    print("OBS " + json.dumps({"obs": what, "lang": LANG, **fields}), flush=True)


async def diamond(task: Task) -> dict[str, Any]:
    inputs = {k: task.inputs[k] for k in task.inputs}
    return {
        "step": task.step_id,
        "lang": LANG,
        "sum": 1 + sum(v["sum"] for v in inputs.values()),
        "upstream": {k: v["lang"] for k, v in inputs.items()},
        "account": task.context.get("account"),
    }


async def flaky(task: Task) -> dict[str, Any]:
    if task.attempt < 3:
        raise Flaky(f"attempt {task.attempt} fails")
    return {"attempt": task.attempt, "lang": LANG}


async def fatal(task: Task) -> None:
    raise NonRetryableError("bad input")


async def wait(task: Task) -> str:
    obs("waiting", step=task.step_id, attempt=task.attempt)
    try:
        await asyncio.sleep(LIMIT)
    except asyncio.CancelledError:
        obs("aborted", step=task.step_id, attempt=task.attempt, kind="cancelled")
        raise
    return "never aborted"


async def quick(task: Task) -> dict[str, Any]:
    return {"step": task.step_id, "lang": LANG, "pid": os.getpid()}


async def source(task: Task) -> None:
    for i in range(task.context.get("records", 5)):
        await task.emit(i)


async def double(task: Task) -> Any:
    (value,) = (task.inputs[k] for k in task.inputs)
    return value * 2


async def hold(task: Task) -> dict[str, Any]:
    await task.stream("before")
    obs("holding", step=task.step_id, attempt=task.attempt)
    release = Path(task.context["release"])
    deadline = time.monotonic() + LIMIT
    try:
        while not release.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("not released in time")
            await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        obs("aborted", step=task.step_id, attempt=task.attempt, kind="cancelled")
        raise
    await task.stream("after")
    return {"held": True, "lang": LANG}


async def big(task: Task) -> str:
    text = "x" * (int(task.context["size"]) - 2)  # JSON adds the two quotes
    if task.context.get("emit"):
        await task.emit(text)  # a progress payload of exactly that size
        return "emitted"
    return text


HANDLERS: dict[str, Callable[[Task], Awaitable[Any]]] = {
    "diamond": diamond,
    "flaky": flaky,
    "fatal": fatal,
    "wait": wait,
    "quick": quick,
    "source": source,
    "double": double,
    "hold": hold,
    "big": big,
}


class DrainObserver(logging.Handler):
    """Prints ``OBS drain`` when the SDK logs that the server drains the session (the
    Python SDK has no callback for it)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("server drains session"):
            obs("drain")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("dwe.agent_sdk").addHandler(DrainObserver())
    agent = Agent(
        os.environ["CONF_AGENT_ID"],
        max_concurrent_tasks=int(os.environ.get("CONF_MAX", "1")),
        labels={"lang": LANG},
    )
    for cap in os.environ["CONF_CAPS"].split(","):
        agent.handler(cap)(HANDLERS[cap.split(".")[0]])
    agent.run(os.environ["DWE_TARGET"])


if __name__ == "__main__":
    main()
