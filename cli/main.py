"""The ``dwe`` command line: run the server or an agent, and drive workflows.

Every subcommand talks to ``--target`` (default ``$DWE_TARGET`` or
127.0.0.1:50051); ``--json`` prints machine output, one JSON object per line
for events. Errors go to stderr as ``error: <message>``; the exit code is 2 for
invalid input, 1 for other failures (and for a watched workflow that did not
complete), 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from dwe.cli.admin import cmd_backup, cmd_prune, cmd_replicas
from dwe.cli.commands import (
    cmd_agent,
    cmd_agents,
    cmd_cancel,
    cmd_intent,
    cmd_list,
    cmd_metrics,
    cmd_run,
    cmd_server,
    cmd_status,
    cmd_watch,
)
from dwe.cli.namespaces import add_filter, add_target
from dwe.cli.server_options import add_security_options
from dwe.cli.tokens import cmd_token_create
from dwe.clients._common import DEFAULT_TARGET
from dwe.clients.errors import DweError, ValidationError
from dwe.common.durations import parse_duration
from dwe.common.sizes import parse_size

__all__ = ["build_parser", "main"]


# parser

Command = Callable[[argparse.Namespace], int]


class _Commands:
    """Adds subcommands that share the global ``--target`` and ``--json`` flags."""

    def __init__(
        self,
        parser: argparse.ArgumentParser,
        common: argparse.ArgumentParser | None = None,
        dest: str = "command",
    ) -> None:
        if common is None:
            # The same flags after the subcommand; SUPPRESS keeps the global values unless given.
            common = argparse.ArgumentParser(add_help=False)
            common.add_argument("--target", default=argparse.SUPPRESS, help="server address")
            common.add_argument(
                "--json",
                action="store_true",
                default=argparse.SUPPRESS,
                help="machine-readable output",
            )
        self._common = common
        self._tls = argparse.ArgumentParser(add_help=False)
        _add_client_tls(self._tls, argparse.SUPPRESS)
        self._sub = parser.add_subparsers(dest=dest, required=True, metavar="COMMAND")

    def add(
        self, name: str, func: Command, help_text: str, client: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; ``client`` ones also take the client's TLS flags."""
        parents = [self._common, self._tls] if client else [self._common]
        p = self._sub.add_parser(name, parents=parents, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def group(self, name: str, help_text: str) -> _Commands:
        """A command with subcommands of its own (``dwe admin prune``)."""
        p = self._sub.add_parser(name, help=help_text, description=help_text)
        return _Commands(p, self._common, dest=f"{name}_command")


def build_parser() -> argparse.ArgumentParser:
    """The ``dwe`` argument parser."""
    target_default = os.environ.get("DWE_TARGET") or DEFAULT_TARGET
    parser = argparse.ArgumentParser(prog="dwe", description="Dynamic Workflow Engine")
    parser.add_argument(
        "--target",
        default=target_default,
        help=f"server address, env DWE_TARGET (default {target_default})",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    _add_client_tls(parser, None)
    commands = _Commands(parser)
    server = commands.add("server", cmd_server, "run the dwe server (blocks)", client=False)
    add_security_options(server)
    _add_server_basics(server)
    _add_server_tuning(server)
    _add_server_retention(server)
    _add_server_sizes(server)
    agent = commands.add("agent", cmd_agent, "run an agent defined in Python as module:attr")
    agent.add_argument("spec", help="module:attr naming an Agent or a factory of one")
    add_target(agent, "the steps it takes", "its registry entry's, else ")
    _add_run(
        commands.add("run", cmd_run, "create and start a workflow from a file, or from an intent")
    )
    _add_workflow_commands(commands)
    _add_admin_commands(commands.group("admin", "operate a server: prune, backup, replicas"))
    _add_token_commands(commands.group("token", "mint bearer tokens for a server with auth on"))
    return parser


def _add_server_basics(p: argparse.ArgumentParser) -> None:
    """Where the server listens, stores and logs, and what it loads at start."""
    p.add_argument("--host", help="listen address, env DWE_HOST (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port, env DWE_PORT (default 50051)")
    p.add_argument(
        "--http-host",
        help="the dashboard's and /metrics' address, env DWE_HTTP_HOST (default 127.0.0.1)",
    )
    p.add_argument(
        "--http-port",
        type=int,
        help="the dashboard's port, 0 = any free port, -1 = no HTTP; env DWE_HTTP_PORT "
        "(default 8080, or a free port when 8080 is taken)",
    )
    p.add_argument("--db", help="SQLite file or postgresql:// URL, env DWE_DB (default ./dwe.db)")
    p.add_argument("--log-level", help="env DWE_LOG_LEVEL (default INFO)")
    p.add_argument(
        "--log-format", choices=("text", "json"), help="env DWE_LOG_FORMAT (default text)"
    )
    p.add_argument("--agents", help="agent registry file (YAML/JSON); env DWE_AGENTS")
    p.add_argument(
        "--replica-id",
        help="on PostgreSQL: this replica's name (default host-pid); env DWE_REPLICA_ID",
    )
    p.add_argument(
        "--lease-seconds",
        type=float,
        help="on PostgreSQL: how long the owner's lease outlives its last renewal before a"
        " standby takes over (default 10); env DWE_LEASE_SECONDS",
    )
    p.add_argument(
        "--intents",
        help="intent rules and workflow templates (YAML/JSON) for StartIntent and "
        "`dwe run --intent`; default: built-in rules; env DWE_INTENTS",
    )
    p.add_argument(
        "--intent-threshold",
        type=float,
        help="minimum confidence to act on an intent (default 0.7); env DWE_INTENT_THRESHOLD",
    )
    p.add_argument(
        "--rules",
        help="adaptation rules for ADAPTIVE runs, comma-separated package.module:function; "
        "env DWE_RULES",
    )


def _add_server_tuning(p: argparse.ArgumentParser) -> None:
    """Limits, timers and durability of the server."""
    p.add_argument(
        "--max-concurrent-workflows",
        type=int,
        help="running workflows at once, 0 = no limit; env DWE_MAX_CONCURRENT_WORKFLOWS",
    )
    p.add_argument(
        "--default-timeout",
        type=float,
        help="seconds a workflow may run when it sets none; env DWE_DEFAULT_TIMEOUT",
    )
    p.add_argument(
        "--agent-lease",
        type=float,
        help="seconds a disconnected agent's attempts wait for it to reconnect before "
        "running elsewhere (default 0); env DWE_AGENT_LEASE",
    )
    p.add_argument(
        "--restart-lease",
        type=float,
        help="seconds attempts in flight when the server stopped wait for their agent to "
        "reconnect after a restart (default 10); env DWE_RESTART_LEASE",
    )
    p.add_argument(
        "--heartbeat-interval",
        type=float,
        help="seconds between agent heartbeats (default 5); env DWE_HEARTBEAT_INTERVAL",
    )
    p.add_argument(
        "--ack-timeout",
        type=float,
        help="seconds an agent has to acknowledge an assignment (started or a result) before "
        "it is taken back and assigned again (default 30, 0 = none); env DWE_ACK_TIMEOUT",
    )
    p.add_argument(
        "--cancel-grace",
        type=float,
        help="seconds an agent has to answer a Cancel before its slot is freed anyway "
        "(default 10, 0 = wait); env DWE_CANCEL_GRACE",
    )
    p.add_argument(
        "--sqlite-synchronous",
        choices=["NORMAL", "FULL"],
        help="NORMAL survives process crashes, FULL also power loss (default NORMAL); "
        "env DWE_SQLITE_SYNCHRONOUS",
    )
    p.add_argument(
        "--grace", type=float, help="seconds in-flight calls get on shutdown; env DWE_GRACE"
    )
    p.add_argument(
        "--priority-aging",
        type=float,
        help="seconds of running that raise a workflow's dispatch priority one level "
        "(default 30, 0 = off); env DWE_PRIORITY_AGING",
    )


def duration(text: str) -> float:
    """An argparse type: seconds of ``7d``, ``12h``, ``30m``, ``1h30m`` or a bare number."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def size(text: str) -> int:
    """An argparse type: bytes of ``4MiB``, ``512K`` or a bare number."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_server_sizes(p: argparse.ArgumentParser) -> None:
    """The message and payload limits."""
    p.add_argument(
        "--max-message-bytes",
        type=size,
        metavar="SIZE",
        help="largest message received or sent (default 4MiB, gRPC's default, so every "
        "client can read every answer); env DWE_MAX_MESSAGE_BYTES",
    )
    p.add_argument(
        "--max-payload-bytes",
        type=size,
        metavar="SIZE",
        help="largest context, output, progress or config payload (default 2MiB; at most "
        "the message limit - 64KiB); env DWE_MAX_PAYLOAD_BYTES",
    )


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
    p = commands.add("create", cmd_token_create, "print a new signed token", client=False)
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


def _add_server_retention(p: argparse.ArgumentParser) -> None:
    """How long ended workflows are kept."""
    p.add_argument(
        "--retention",
        type=duration,
        metavar="DURATION",
        help="prune workflows that ended longer ago than this (7d, 12h, 30m), with their "
        "steps and events; 0 = keep everything (default); env DWE_RETENTION",
    )
    p.add_argument(
        "--prune-interval",
        type=duration,
        metavar="DURATION",
        help="time between two prunes when --retention is set (default 5m); env DWE_PRUNE_INTERVAL",
    )


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="workflow file (.json, .yaml or .yml)")
    p.add_argument(
        "--intent",
        metavar="MESSAGE",
        help='start the workflow the server maps this message to, e.g. "analyze account ACC-1"',
    )
    p.add_argument(
        "--watch", action="store_true", help="stream events; exit 0 only if the workflow completes"
    )
    p.add_argument("--context", help="JSON object merged over the workflow's context")
    p.add_argument("--session-id", help="carried into events for correlation")
    p.add_argument("--request-id", help="idempotency key of the create")
    add_target(p, "the workflow")


def _add_workflow_commands(commands: _Commands) -> None:
    """The commands that read or change workflows and agents on a running server."""
    p = commands.add("intent", cmd_intent, "show the server's reading of a message's intent")
    p.add_argument("message")

    p = commands.add("watch", cmd_watch, "stream a workflow's events to its end")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dwe`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except DweError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
