"""The guide's account-analysis workflow, end to end (what ``make demo`` runs).

Starts ``dwe server`` on a fresh SQLite file and the guide's four agents as
subprocesses, registers the agents, creates the workflow with the guide's steps,
streams its events as the guide's snippet prints them, and stops everything.
Exit status 0 means the workflow completed.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dwe.clients import AgentCapability, DynamicWorkflowEngine, ExecutionMode, WorkflowPriority

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ("zoho_scout", "risk_analyzer", "memory_analyst", "recommender")

STEPS = [
    {
        "step_id": "fetch_account_data",
        "name": "Fetch Account Data",
        "description": "Retrieve account information from Zoho CRM",
        "agent_type": "zoho_scout",
        "agent_capability": "data_fetch",
        "estimated_duration": 5.0,
        "timeout_seconds": 30,
        "retry_count": 3,
    },
    {
        "step_id": "analyze_risk",
        "name": "Analyze Risk Factors",
        "description": "Perform comprehensive risk analysis",
        "agent_type": "risk_analyzer",
        "agent_capability": "analysis",
        "dependencies": ["fetch_account_data"],
        "estimated_duration": 3.0,
        "timeout_seconds": 30,
    },
    {
        "step_id": "get_historical_context",
        "name": "Get Historical Context",
        "description": "Retrieve historical patterns and trends",
        "agent_type": "memory_analyst",
        "agent_capability": "memory",
        "dependencies": ["fetch_account_data"],
        "estimated_duration": 2.0,
        "timeout_seconds": 30,
    },
    {
        "step_id": "generate_recommendations",
        "name": "Generate Recommendations",
        "description": "Create actionable recommendations",
        "agent_type": "recommender",
        "agent_capability": "recommendation",
        "dependencies": ["analyze_risk", "get_historical_context"],
        "estimated_duration": 4.0,
        "timeout_seconds": 30,
    },
]


def start_server(db: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dwe.clients.cli",
            "server",
            "--port",
            "0",
            "--db",
            db,
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"listening on (\S+)", line)
        if match:
            return proc, match.group(1)
    raise RuntimeError(f"server exited with {proc.wait()} before listening")


def start_agent(name: str, address: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dwe.clients.cli",
            "agent",
            f"examples.demo_agents:{name}",
            "--target",
            address,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(procs: list[subprocess.Popen[Any]]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


async def wait_connected(engine: DynamicWorkflowEngine, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        connected = {a["agent_id"] for a in engine.list_agents() if a.get("connected")}
        if connected >= set(AGENTS):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"agents not connected: {sorted(set(AGENTS) - connected)}")
        await asyncio.sleep(0.05)


async def run(address: str) -> bool:
    engine = DynamicWorkflowEngine(target=address)
    # The guide's "Register Agents" section; the recommender registers too.
    engine.register_agent(
        agent_id="zoho_scout",
        agent_type="ZohoDataScout",
        capabilities=[AgentCapability.DATA_FETCH],
        max_concurrent_tasks=3,
    )
    engine.register_agent(
        agent_id="risk_analyzer",
        agent_type="RiskAnalyzer",
        capabilities=[AgentCapability.ANALYSIS, AgentCapability.VALIDATION],
        max_concurrent_tasks=2,
    )
    engine.register_agent(
        agent_id="memory_analyst",
        agent_type="MemoryAnalyst",
        capabilities=[AgentCapability.MEMORY],
        max_concurrent_tasks=2,
    )
    engine.register_agent(
        agent_id="recommender",
        agent_type="Recommender",
        capabilities=[AgentCapability.RECOMMENDATION],
        max_concurrent_tasks=2,
    )
    await wait_connected(engine)

    workflow = await engine.create_workflow(
        name="Account Analysis Workflow",
        description="Complete account analysis with risk assessment",
        steps=STEPS,
        priority=WorkflowPriority.HIGH,
        execution_mode=ExecutionMode.ADAPTIVE,
        context={"account_id": "ACC-12345"},
    )
    print(f"workflow {workflow.workflow_id} created on {address}")
    spans: dict[str, list[float]] = {}
    t0 = time.monotonic()
    completed = False
    async for event in engine.execute_workflow(
        workflow, context={"account_id": "ACC-12345"}, session_id="user_session_123"
    ):
        kind = event.get("event")
        data = event["data"]
        stamp = f"[{time.monotonic() - t0:6.3f}s]"
        if kind == "workflow_started":
            print(f"{stamp} >> Workflow started: {data['name']}")
        elif kind == "agent_started":
            spans[data["step"]] = [time.monotonic()]
            who = f"(agent {data['agent_id']})"
            print(f"{stamp} -> Starting step {data['step']}: {data['task']} {who}")
        elif kind == "agent_stream":
            print(f"{stamp}    ~ {data.get('content', '')}")
        elif kind == "agent_completed":
            spans.setdefault(data["step"], [time.monotonic()]).append(time.monotonic())
            print(f"{stamp} <- Completed step {data['step']} in {data['execution_time']:.2f}s")
        elif kind == "agent_error":
            print(f"{stamp} !! Error in step {data['step']}: {data['error_message']}")
        elif kind == "workflow_completed":
            final_output = data["final_output"]
            print(f"{stamp} == Workflow completed!")
            print(f"   Success rate: {final_output.get('success_rate', 0):.1%}")
            print(f"   Execution time: {final_output.get('total_execution_time', 0):.2f}s")
            recs = final_output["results"]["generate_recommendations"]["recommendations"]
            print(f"   Recommendations: {'; '.join(recs)}")
            completed = True
            break
        elif kind in ("workflow_failed", "workflow_cancelled", "workflow_timed_out"):
            print(f"{stamp} !! {kind}: {data.get('error_message', '')}")
            break
    a, b = spans.get("analyze_risk", [0, 0]), spans.get("get_historical_context", [0, 0])
    overlap = min(a[-1], b[-1]) - max(a[0], b[0])
    if overlap > 0:
        print(
            f"   analyze_risk and get_historical_context ran in parallel ({overlap:.2f}s overlap)"
        )
    await engine.aclose()
    return completed


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="dwe-demo-") as tmp:
        server, address = start_server(os.path.join(tmp, "demo.db"))
        procs: list[subprocess.Popen[Any]] = [server]
        try:
            procs.extend(start_agent(name, address) for name in AGENTS)
            ok = asyncio.run(run(address))
        finally:
            stop(procs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
