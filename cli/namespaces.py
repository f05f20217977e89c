"""The ``--namespace`` flags of the ``dwe`` commands.

Two kinds: where a command puts things (``dwe run``: the workflow, ``dwe agent``: the
steps it takes; one name, default ``$DWE_NAMESPACE``), and which namespaces a listing
covers (``dwe list``, ``agents``, ``metrics``, ``admin prune``; repeatable, default every
namespace the token may see). The server checks the names; ``dwe token create``, which
runs offline, checks them here.
"""

from __future__ import annotations

import argparse

from dwe.clients.errors import ValidationError
from dwe.common.namespaces import check

__all__ = ["add_filter", "add_target", "token_namespaces"]


def add_target(p: argparse.ArgumentParser, what: str, fallback: str = "") -> None:
    """``--namespace NAME``: the one namespace ``what`` belongs to."""
    p.add_argument(
        "--namespace",
        metavar="NAME",
        help=f"the namespace of {what}; env DWE_NAMESPACE (default: {fallback}the token's "
        "first namespace, 'default' with auth off)",
    )


def add_filter(p: argparse.ArgumentParser) -> None:
    """``--namespace NAME`` (repeatable) into ``args.namespaces``: only those namespaces."""
    p.add_argument(
        "--namespace",
        dest="namespaces",
        action="append",
        default=[],
        metavar="NAME",
        help="only this namespace (repeatable; default: every namespace the token may see)",
    )


def token_namespaces(given: list[str]) -> tuple[str, ...]:
    """A token's namespaces from ``--namespace`` flags: each a name or ``*`` (every one).

    Raises:
        ValidationError: A name breaks the naming rule (one line, the rule included).
    """
    try:
        names = dict.fromkeys(check(name, allow_all=True) for name in given)
    except ValueError as err:
        raise ValidationError(f"--namespace: {err}") from None
    return tuple(names) or ("default",)
