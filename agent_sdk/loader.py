"""Load an :class:`Agent` from a ``"module:attr"`` spec (for the CLI)."""

from __future__ import annotations

import importlib
import os
import sys

from dwe.agent_sdk.agent import Agent


def load_agent(spec: str) -> Agent:
    """Import ``module:attr`` and return the Agent it names.

    ``attr`` may be dotted (``pkg.mod:holder.agent``) and may name an Agent or a
    zero-argument callable returning one. The current directory is importable,
    as with ``python -m``.

    Args:
        spec: ``"module:attr"``, e.g. ``"examples.risk:agent"``.

    Returns:
        The Agent.

    Raises:
        ValueError: If ``spec`` is malformed.
        ImportError: If the module cannot be imported.
        AttributeError: If the attribute does not exist.
        TypeError: If it is neither an Agent nor a callable returning one.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"agent spec must look like 'module:attr', got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(f"{module_name!r} has no attribute {attr!r}") from None
    if isinstance(obj, Agent):
        return obj
    if callable(obj):
        made = obj()
        if isinstance(made, Agent):
            return made
        raise TypeError(f"{spec} returned {type(made).__name__}, not an Agent")
    raise TypeError(f"{spec} is a {type(obj).__name__}, not an Agent or a factory")
