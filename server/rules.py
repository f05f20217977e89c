"""Adaptation rules: loading custom ones named on the command line.

A rule is any callable ``rule(workflow, ready_steps)``. It runs in the
scheduler (ADAPTIVE workflows only) each time steps of a workflow become ready,
and may raise ``step.priority_boost`` (seconds added to the step's critical
path, so a boost of 20 outranks a step 20 s further from the end). It reads the
run through ``workflow.get_critical_path()``, ``workflow.steps``,
``step.step_id``, ``step.estimated_duration`` and the like. It must be quick
and must not block: it runs on the scheduler's thread. A rule that raises is
logged, counted in ``dwe.rules.errors`` and skipped.

Built in, for every ADAPTIVE run: ready steps are ordered by critical path
(estimated_duration-weighted longest path to the end), and agents are chosen by
observed performance (EWMA duration and failure rate per agent and capability).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Rule = Callable[[Any, list[Any]], Any]


def load_rule(spec: str) -> Rule:
    """Import ``package.module:function`` and return the callable."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"rule must look like 'package.module:function', got {spec!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is a {type(obj).__name__}, not a callable")
    return obj


def load_rules(specs: str) -> list[Rule]:
    """Rules from a comma-separated list of specs (the --rules flag)."""
    return [load_rule(s.strip()) for s in specs.split(",") if s.strip()]
