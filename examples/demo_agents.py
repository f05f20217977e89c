"""The guide's four agents, as small dwe agents. Run one with:

    dwe agent examples.demo_agents:zoho_scout --target 127.0.0.1:50051

The handlers sleep briefly to stand in for real work, so the parallel
branches of the account-analysis workflow visibly overlap.
"""

from __future__ import annotations

import asyncio

from dwe.agent_sdk import Agent, Task

zoho_scout = Agent(
    "zoho_scout", agent_type="ZohoDataScout", capabilities=["data_fetch"], max_concurrent_tasks=3
)
risk_analyzer = Agent(
    "risk_analyzer",
    agent_type="RiskAnalyzer",
    capabilities=["analysis", "validation"],
    max_concurrent_tasks=2,
)
memory_analyst = Agent(
    "memory_analyst", agent_type="MemoryAnalyst", capabilities=["memory"], max_concurrent_tasks=2
)
recommender = Agent(
    "recommender",
    agent_type="Recommender",
    capabilities=["recommendation"],
    max_concurrent_tasks=2,
)


@zoho_scout.handler("data_fetch")
async def fetch_account(task: Task) -> dict:
    account_id = task.context.get("account_id", "unknown")
    await task.stream(f"Fetching account {account_id} from Zoho CRM")
    await asyncio.sleep(0.2)
    return {
        "account_id": account_id,
        "name": "Acme Corporation",
        "annual_revenue": 4_200_000,
        "open_deals": 3,
        "support_tickets": [
            {"id": "T-1", "status": "open", "severity": "high"},
            {"id": "T-2", "status": "closed", "severity": "low"},
        ],
    }


def _account(task: Task) -> dict:
    """The fetched account among the step's inputs (whatever the fetch step is called)."""
    for value in task.inputs.values():
        if isinstance(value, dict) and "account_id" in value:
            return value
    account_id = task.context.get("account_id", "unknown")
    return {"account_id": account_id, "name": account_id, "support_tickets": []}


@risk_analyzer.handler("analysis")
async def analyze_risk(task: Task) -> dict:
    account = _account(task)
    await task.stream(f"Scoring risk for {account['name']}")
    await asyncio.sleep(0.5)
    open_high = sum(
        1 for t in account["support_tickets"] if t["status"] == "open" and t["severity"] == "high"
    )
    score = min(1.0, 0.2 + 0.25 * open_high)
    return {"risk_score": round(score, 2), "factors": ["open high-severity tickets"] * open_high}


@risk_analyzer.handler("validation")
async def validate(task: Task) -> dict:
    return {"valid": True}


@memory_analyst.handler("memory")
async def historical_context(task: Task) -> dict:
    account = _account(task)
    await task.stream(f"Looking up history of {account['account_id']}")
    await asyncio.sleep(0.4)
    return {"renewals": 2, "churn_signals": ["usage down 12% QoQ"], "customer_since": 2019}


@recommender.handler("recommendation")
async def recommend(task: Task) -> dict:
    risk = task.inputs.get("analyze_risk") or {"risk_score": 0.0}
    history = task.inputs.get("get_historical_context") or {"churn_signals": []}
    await task.stream("Drafting recommendations")
    actions = ["Schedule an executive business review"]
    if risk["risk_score"] >= 0.4:
        actions.append("Escalate open high-severity tickets")
    if history["churn_signals"]:
        actions.append("Run an adoption workshop")
    return {
        "recommendations": actions,
        "priority": "high" if risk["risk_score"] >= 0.4 else "normal",
    }


AGENTS = {a.agent_id: a for a in (zoho_scout, risk_analyzer, memory_analyst, recommender)}
