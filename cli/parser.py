"""The ``dwe`` argument parser: each subcommand takes the common flags that apply to it.

``--target`` and the client TLS flags go on the commands that call a server (and
``dwe agent``); ``--json`` on the commands with machine output. ``dwe server`` and
``dwe token create`` take neither. The same flags before the subcommand are still
accepted, for scripts written against earlier versions.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from dwe.cli.admin import cmd_backup, cmd_prune, cmd_replicas
from dwe.cli.argtypes import duration
from dwe.cli.commands import (
    cmd_agent,
    cmd_agents,
    cmd_cancel,
    cmd_intent,
    cmd_list,
    cmd_metrics,
    cmd_server,
    cmd_status,
)
from dwe.cli.namespaces import add_filter, add_target
from dwe.cli.server_options import add_server_options
from dwe.cli.tokens import cmd_token_create
from dwe.cli.watching import JSON_WATCH_HELP, cmd_run, cmd_watch
from dwe.clients._common import DEFAULT_TARGET

__all__ = ["Command", "UsageError", "build_parser", "dwe_version"]

Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A command line argparse refused; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """Raises instead of printing usage, so a bad command line is one line on stderr
    (or one JSON object under --json) like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def dwe_version() -> str:
    """The installed dwe package's version."""
    try:
        return version("dwe")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _Commands:
    """Adds subcommands with the common flags that apply to each."""

    def __init__(self, parser: argparse.ArgumentParser, dest: str = "command") -> None:
        self._sub = parser.add_subparsers(dest=dest, required=True, metavar="COMMAND")

    def add(
        self, name: str, func: Command, help_text: str, *, target: bool = True, json: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; ``target``: it calls a server (--target and the TLS flags),
        ``json``: it has machine output (--json)."""
        p = self._sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,  # epilogs keep their lines
        )
        p.set_defaults(func=func)
        # SUPPRESS keeps the value given before the subcommand (or the default) unless
        # the flag is given again after it.
        if target:
            p.add_argument("--target", default=argparse.SUPPRESS, help="server address")
            _add_client_tls(p, argparse.SUPPRESS)
        if json:
            p.add_argument(
                "--json",
                action="store_true",
                default=argparse.SUPPRESS,
                help="machine-readable output; errors as one JSON object line",
            )
        return p

    def group(self, name: str, help_text: str) -> _Commands:
        """A command with subcommands of its own (``dwe admin prune``)."""
        p = self._sub.add_parser(name, help=help_text, description=help_text)
        return _Commands(p, dest=f"{name}_command")


def build_parser() -> argparse.ArgumentParser:
    """The ``dwe`` argument parser."""
    target_default = os.environ.get("DWE_TARGET") or DEFAULT_TARGET
    parser = _Parser(prog="dwe", description="Dynamic Workflow Engine (docs/cli.md)")
    parser.add_argument("--version", action="version", version=f"dwe {dwe_version()}")
    parser.add_argument(
        "--target",
        default=target_default,
        help=f"server address, env DWE_TARGET (default {target_default})",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    _add_client_tls(parser, None)
    commands = _Commands(parser)
    server = commands.add(
        "server", cmd_server, "run the dwe server (blocks)", target=False, json=False
    )
    add_server_options(server)
    agent = commands.add(
        "agent",
        cmd_agent,
        "run an agent defined in Python as module:attr; prints a line when it connects",
    )
    agent.add_argument("spec", help="module:attr naming an Agent or a factory of one")
    add_target(agent, "the steps it takes", "its registry entry's, else ")
    _add_run(
        commands.add("run", cmd_run, "create and start a workflow from a file, or from an intent")
    )
    _add_workflow_commands(commands)
    _add_admin_commands(commands.group("admin", "operate a server: prune, backup, replicas"))
    _add_token_commands(commands.group("token", "mint bearer tokens for a server with auth on"))
    return parser


def _add_client_tls(p: argparse.ArgumentParser, default: Any) -> None:
    """TLS to the server, for every command that calls it (and ``dwe agent``)."""
    p.add_argument(
        "--tls-ca",
        default=default,
        metavar="PEM",
        help="CA that signed the server's certificate (TLS); env DWE_TLS_CA",
    )
    p.add_argument(
        "--tls-cert",
        default=default,
        metavar="PEM",
        help="client certificate for mTLS; env DWE_TLS_CERT",
    )
    p.add_argument("--tls-key", default=default, metavar="PEM", help="its key; env DWE_TLS_KEY")
    p.add_argument(
        "--token",
        default=default,
        metavar="JWT",
        help="bearer token for a server with auth on (dwe token create); env DWE_TOKEN",
    )


def _add_token_commands(commands: _Commands) -> None:
    p = commands.add(
        "create", cmd_token_create, "print a new signed token", target=False, json=False
    )
    p.add_argument("--role", required=True, choices=["viewer", "operator", "agent", "admin"])
    p.add_argument("--subject", default="", help="who it is for (default: role and agent id)")
    p.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="NAME",
        help="a namespace it may use, or '*' for all (repeatable; default default)",
    )
    p.add_argument("--agent-id", default="", help="agent tokens: the agent id it may connect as")
    p.add_argument(
        "--capabilities", default="", help="agent tokens: comma-separated capabilities granted"
    )
    p.add_argument(
        "--ttl", type=duration, default=30 * 86400.0, metavar="DURATION", help="default 30d"
    )
    p.add_argument("--key", default="", metavar="PEM", help="the Ed25519 private key")
    p.add_argument("--secret", default="", metavar="FILE", help="or the HS256 secret file")


def _add_run(p: argparse.ArgumentParser) -> None:
    p.epilog = JSON_WATCH_HELP
    p.add_argument("file", nargs="?", help="workflow file (.json, .yaml or .yml; see examples/)")
    p.add_argument(
        "--intent",
        metavar="MESSAGE",
        help='start the workflow the server maps this message to, e.g. "analyze account ACC-1"',
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="follow the run to its end: a live step table on a terminal, else one line per "
        "event (--json: one event object per line); exit 0 only if the workflow completes",
    )
    p.add_argument("--context", help="JSON object merged over the workflow's context")
    p.add_argument("--session-id", help="carried into events for correlation")
    p.add_argument("--request-id", help="idempotency key of the create")
    add_target(p, "the workflow")


def _add_workflow_commands(commands: _Commands) -> None:
    """The commands that read or change workflows and agents on a running server."""
    p = commands.add("intent", cmd_intent, "show the server's reading of a message's intent")
    p.add_argument("message")

    p = commands.add(
        "watch",
        cmd_watch,
        "follow a workflow to its end: a live step table on a terminal, else one line per event",
    )
    p.epilog = JSON_WATCH_HELP
    p.add_argument("workflow_id")
    p.add_argument("--after-seq", type=int, default=0, help="skip events up to this seq")

    p = commands.add("status", cmd_status, "show a workflow's state and steps")
    p.add_argument("workflow_id")

    p = commands.add("cancel", cmd_cancel, "cancel a workflow")
    p.add_argument("workflow_id")
    p.add_argument("--reason", default="", help="recorded with the cancellation")

    add_filter(commands.add("agents", cmd_agents, "list registered and connected agents"))
    add_filter(commands.add("metrics", cmd_metrics, "show engine metrics"))

    p = commands.add("list", cmd_list, "list workflows, newest first")
    p.add_argument("--state", action="append", help="only this state (repeatable)")
    p.add_argument("--limit", type=int, default=50, help="rows per page, at most 1,000")
    p.add_argument("--page-token", default="", help="from a previous page")
    add_filter(p)


def _add_admin_commands(admin: _Commands) -> None:
    p = admin.add(
        "prune",
        cmd_prune,
        "delete the workflows that ended longer ago than --older-than, with their steps and "
        "events, on the running server",
    )
    p.add_argument(
        "--older-than",
        type=duration,
        required=True,
        metavar="DURATION",
        help="7d, 12h, 30m, 1h30m or seconds; 0 prunes every ended workflow",
    )
    p.add_argument("--dry-run", action="store_true", help="count only; delete nothing")
    add_filter(p)

    p = admin.add(
        "backup",
        cmd_backup,
        "copy the database file to PATH with SQLite's online backup (the server may be "
        "running; run it on the server's host)",
        target=False,
    )
    p.add_argument("path", metavar="PATH", help="the new file; an existing one is refused")
    p.add_argument("--db", help="the server's SQLite file, env DWE_DB (default ./dwe.db)")

    p = admin.add(
        "replicas",
        cmd_replicas,
        "the replicas on a PostgreSQL database and which one owns the workflows",
    )
    p.add_argument(
        "--db",
        help="read the postgresql:// database the replicas share (env DWE_DB); without"
        " it, ask the server at --target",
    )
