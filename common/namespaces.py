"""Namespace names on the client side: the caller's default and the naming rule.

A workflow, an agent and a registry entry each belong to one namespace. Clients and
agents that name none get the caller's namespace from the server ("default" with auth
off, else the token's first). ``DWE_NAMESPACE`` sets the default of every Python entry
point, as ``DWE_TOKEN`` sets the token. The server checks every name it is sent; the
CLI checks names it uses offline (``dwe token create --namespace``) with :func:`check`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

__all__ = ["ALL", "ENV", "RULE", "check", "default", "names"]

#: The environment variable of the default namespace.
ENV = "DWE_NAMESPACE"
#: Every namespace, in a token's namespace list.
ALL = "*"
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?")
RULE = (
    "1 to 63 lower-case letters, digits, '.', '_' or '-', starting and ending with a"
    " letter or digit"
)


def default(namespace: str | None) -> str:
    """``namespace``, or ``DWE_NAMESPACE`` when it is None; empty: the caller's namespace."""
    return os.environ.get(ENV, "") if namespace is None else namespace


def names(namespaces: Iterable[str] | str) -> list[str]:
    """A namespace filter as a list; a plain string is one name ("": none, so no filter)."""
    if isinstance(namespaces, str):
        return [namespaces] if namespaces else []
    return list(namespaces)


def check(name: str, allow_all: bool = False) -> str:
    """``name`` when it follows the naming rule (or is ``*`` with ``allow_all``).

    Raises:
        ValueError: It does not; the message gives the rule.
    """
    if (allow_all and name == ALL) or _NAME.fullmatch(name):
        return name
    extra = ", or '*' for every namespace" if allow_all else ""
    raise ValueError(f"{name!r} is not a namespace name ({RULE}{extra})")
