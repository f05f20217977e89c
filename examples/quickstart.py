# examples/quickstart.py: the Quick start agent of README.md
from dwe.agent_sdk import Agent, Task

agent = Agent(
    "analyst",
    capabilities=["data_fetch", "analysis", "memory", "recommendation"],
    max_concurrent_tasks=2,
)


@agent.handler("data_fetch")
async def fetch(task: Task) -> dict:
    return {"account_id": task.context["account_id"], "open_tickets": 3}


@agent.handler("analysis")
async def analyze(task: Task) -> dict:
    [account] = task.inputs.values()  # the one dependency's output, whatever its step id
    await task.stream(f"scoring {account['account_id']}")
    return {"risk": round(0.2 + 0.1 * account["open_tickets"], 2)}


@agent.handler("memory")
async def history(task: Task) -> dict:
    return {"past_incidents": 1}


@agent.handler("recommendation")
async def recommend(task: Task) -> dict:
    risk = max(output.get("risk", 0) for output in task.inputs.values())
    return {"action": "call the account owner" if risk > 0.4 else "none"}
