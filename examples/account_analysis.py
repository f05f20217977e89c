"""The guide's account-analysis workflow, end to end (what ``make demo`` runs).

Starts ``dwe server`` on a fresh SQLite file and the guide's four agents as
subprocesses, registers the agents, creates the workflow with the guide's steps,
streams its events as the guide's snippet prints them, and stops everything.
Exit status 0 means the workflow completed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from dwe.clients import AgentCapability, DynamicWorkflowEngine, ExecutionMode, WorkflowPriority
from dwe.clients.intents import ACCOUNT_ANALYSIS_STEPS
from dwe.clients.local import ServerProcess, start_agent, stop

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ("zoho_scout", "risk_analyzer", "memory_analyst", "recommender")

# The guide's "Create Workflow Steps" (shared with the built-in intent template).
STEPS = ACCOUNT_ANALYSIS_STEPS


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
        # The event name first, then what the guide's snippet prints for it.
        stamp = f"[{time.monotonic() - t0:6.3f}s] {kind:<18}"
        if kind == "workflow_started":
            print(f"{stamp} Workflow started: {data['name']}")
        elif kind == "agent_started":
            spans[data["step"]] = [time.monotonic()]
            who = f"(agent {data['agent_id']})"
            print(f"{stamp} Starting step {data['step']}: {data['task']} {who}")
        elif kind == "agent_stream":
            print(f"{stamp} {data.get('content', '')}")
        elif kind == "agent_completed":
            spans.setdefault(data["step"], [time.monotonic()]).append(time.monotonic())
            print(f"{stamp} Completed step {data['step']} in {data['execution_time']:.2f}s")
        elif kind == "agent_error":
            print(f"{stamp} Error in step {data['step']}: {data['error_message']}")
        elif kind == "workflow_adapted":
            print(f"{stamp} {data['decision']}: {data['reason']}")
        elif kind == "workflow_completed":
            final_output = data["final_output"]
            rate = final_output.get("success_rate", 0)
            print(f"{stamp} Workflow completed! success_rate {rate}")
            print(f"   Success rate: {rate:.1%}")
            print(f"   Execution time: {final_output.get('total_execution_time', 0):.2f}s")
            recs = final_output["results"]["generate_recommendations"]["recommendations"]
            print(f"   Recommendations: {'; '.join(recs)}")
            completed = True
            break
        elif kind in ("workflow_failed", "workflow_cancelled", "workflow_timed_out"):
            print(f"{stamp} {data.get('error_message', '')}")
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
        server = ServerProcess(os.path.join(tmp, "demo.db"), cwd=ROOT)
        agents = [
            start_agent(f"examples.demo_agents:{n}", server.address, cwd=ROOT) for n in AGENTS
        ]
        try:
            ok = asyncio.run(run(server.address))
        finally:
            stop(agents)  # agents first, so none of them tries to reconnect
            server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
