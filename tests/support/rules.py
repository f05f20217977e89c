"""Adaptation rules loaded by tests through ``--rules`` / ServerConfig.rules."""

from __future__ import annotations

from typing import Any


def boost_urgent(workflow: Any, ready_steps: list[Any]) -> None:
    """Steps whose id starts with "urgent" go first, whatever their critical path."""
    for step in ready_steps:
        if step.step_id.startswith("urgent"):
            step.priority_boost += 1000


def broken(workflow: Any, ready_steps: list[Any]) -> None:
    raise RuntimeError("this rule is broken on purpose")
