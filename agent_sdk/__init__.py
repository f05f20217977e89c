"""dwe agent SDK: run workflow steps for a dwe server.

Example:
    >>> from dwe.agent_sdk import Agent, Task
    >>> agent = Agent("worker-1", capabilities=["analysis"])
    >>> @agent.handler("analysis")
    ... async def analyze(task: Task) -> dict:
    ...     return {"ok": True}
"""

from dwe.agent_sdk.agent import Agent
from dwe.agent_sdk.errors import NonRetryableError, PayloadTooLarge
from dwe.agent_sdk.task import Task

__all__ = ["Agent", "NonRetryableError", "PayloadTooLarge", "Task"]
__version__ = "0.1.0"
