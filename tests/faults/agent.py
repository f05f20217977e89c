"""The fault suite's agent, run as ``dwe agent tests.faults.agent:recorder``.

Every handler run is recorded before and after its work, one line each, appended
with ``O_APPEND`` to the file DWE_FAULTS_RUNS, so a process killed mid-step leaves a
``start`` without its ``end`` and handlers that ran twice can be counted:

    start|end AGENT_ID PID ATTEMPT_ID WORKFLOW_ID STEP_ID ATTEMPT

Settings: DWE_FAULTS_AGENT_ID, DWE_FAULTS_RUNS, DWE_FAULTS_STEP_MS (the most a step
works, in milliseconds; each draws its time from a seeded RNG), DWE_FAULTS_SEED,
DWE_FAULTS_MAX (max_concurrent_tasks).
"""

from __future__ import annotations

import asyncio
import os
import random

from dwe.agent_sdk import Agent, Task

#: The capabilities of the W2 diamond (bench/run.py DIAMOND).
CAPABILITIES = ("data_fetch", "analysis", "memory", "recommendation")


def _record(fd: int, kind: str, agent_id: str, task: Task) -> None:
    line = (
        f"{kind} {agent_id} {os.getpid()} {task.attempt_id} {task.workflow_id} "
        f"{task.step_id} {task.attempt}\n"
    )
    os.write(fd, line.encode())  # one write with O_APPEND: lines never interleave


def recorder() -> Agent:
    """An agent with the diamond's capabilities that records each handler run."""
    agent_id = os.environ["DWE_FAULTS_AGENT_ID"]
    fd = os.open(os.environ["DWE_FAULTS_RUNS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    most = float(os.environ.get("DWE_FAULTS_STEP_MS", "20")) / 1000
    rng = random.Random(f"{os.environ.get('DWE_FAULTS_SEED', '0')}-{agent_id}-{os.getpid()}")
    agent = Agent(
        agent_id,
        capabilities=list(CAPABILITIES),
        max_concurrent_tasks=int(os.environ.get("DWE_FAULTS_MAX", "16")),
        reconnect_cap=0.5,  # back within half a second of each server restart
    )

    async def handle(task: Task) -> dict[str, object]:
        _record(fd, "start", agent_id, task)
        await asyncio.sleep(rng.uniform(0, most))  # the step's work
        _record(fd, "end", agent_id, task)
        return {"step": task.step_id, "attempt": task.attempt, "agent": agent_id}

    for capability in CAPABILITIES:
        agent.handler(capability)(handle)
    return agent


#: Records the PIPELINE source emits (tests/faults/test_known_faults.py).
RECORDS = 400


def pipeline() -> Agent:
    """A PIPELINE source (``p0``: emits RECORDS numbers, one every millisecond, each recorded as
    an ``emit`` line after ``emit`` returned) and a stage (``p1``: doubles its record)."""
    agent_id = os.environ["DWE_FAULTS_AGENT_ID"]
    fd = os.open(os.environ["DWE_FAULTS_RUNS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    agent = Agent(agent_id, capabilities=["p0", "p1"], max_concurrent_tasks=2, reconnect_cap=0.5)

    @agent.handler("p0")
    async def source(task: Task) -> dict[str, int]:
        for i in range(RECORDS):
            await task.emit(i)
            os.write(fd, f"emit {agent_id} {os.getpid()} {task.attempt_id} {i}\n".encode())
            await asyncio.sleep(0.001)  # the source's work between records
        return {"emitted": RECORDS}

    @agent.handler("p1")
    async def double(task: Task) -> object:
        (value,) = task.inputs.values()
        return value * 2

    return agent
