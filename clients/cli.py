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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from dwe.clients import render
from dwe.clients._common import DEFAULT_TARGET
from dwe.clients.errors import DweError, ValidationError
from dwe.clients.events import TERMINAL_EVENTS, event_to_dict
from dwe.clients.sync import SyncDweClient
from dwe.v1 import enums_pb2

__all__ = ["build_parser", "main"]

_SERVER_FLAGS = {
    "host": "host",
    "port": "port",
    "db": "db_path",
    "log_level": "log_level",
    "log_format": "log_format",
    "max_concurrent_workflows": "max_concurrent_workflows",
    "default_timeout": "default_timeout",
    "agents": "agents_file",
    "agent_lease": "agent_lease",
    "restart_lease": "restart_lease",
    "heartbeat_interval": "heartbeat_interval",
    "sqlite_synchronous": "sqlite_synchronous",
    "grace": "grace",
    "rules": "rules",
    "priority_aging": "priority_aging",
    "intents": "intents_file",
    "intent_threshold": "intent_threshold",
}


def _out(args: argparse.Namespace, obj: Any, human: str) -> None:
    print(render.to_json_line(obj) if args.json else human, flush=True)


def _client(args: argparse.Namespace) -> SyncDweClient:
    return SyncDweClient(args.target)


def _follow(args: argparse.Namespace, events: Iterator[Any]) -> int:
    """Prints events to the terminal one; 0 when the workflow completed, else 1."""
    for proto in events:
        event = event_to_dict(proto)
        _out(args, event, render.format_event(event))
        if event["event"] in TERMINAL_EVENTS:
            return 0 if event["event"] == "workflow_completed" else 1
    print("error: event stream ended before the workflow did", file=sys.stderr)
    return 1


def _load_workflow_file(path: str) -> Any:
    try:
        text = Path(path).read_bytes()
    except OSError as err:
        raise ValidationError(f"cannot read {path}: {err.strerror}") from err
    is_yaml = path.endswith((".yaml", ".yml"))
    try:
        if is_yaml:
            import yaml

            return yaml.safe_load(text)
        return orjson.loads(text)
    except Exception as err:  # yaml.YAMLError / orjson.JSONDecodeError
        kind = "YAML" if is_yaml else "JSON"
        raise ValidationError(f"{path} is not valid {kind}: {err}") from err


def _json_object(text: str | None, flag: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise ValidationError(f"{flag} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise ValidationError(f"{flag} must be a JSON object")
    return value


# commands


def cmd_server(args: argparse.Namespace) -> int:
    from dwe.server.app import serve
    from dwe.server.config import ServerConfig

    overrides = {
        field: getattr(args, flag)
        for flag, field in _SERVER_FLAGS.items()
        if getattr(args, flag, None) is not None
    }
    serve(ServerConfig.from_env(**overrides))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from dwe.agent_sdk.loader import load_agent

    try:
        agent = load_agent(args.spec)
    except (ValueError, ImportError, AttributeError, TypeError) as err:
        raise ValidationError(f"cannot load agent {args.spec!r}: {err}") from err
    agent.run(args.target)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from dwe.clients.spec import workflow_spec_from_dict

    if (args.file is None) == (args.intent is None):
        raise ValidationError("give a workflow FILE or --intent MESSAGE (exactly one)")
    context = _json_object(args.context, "--context")
    if args.intent is not None:
        return _run_intent(args, context)
    spec = workflow_spec_from_dict(_load_workflow_file(args.file))
    with _client(args) as client:
        created = client.create_workflow(spec, args.request_id)
        wid = created.workflow_id
        _out(args, {"workflow_id": wid, "created": created.created}, wid)
        if not created.created and created.status.state != enums_pb2.WORKFLOW_STATE_PENDING:
            # A retry of an earlier run with this request id: follow it, don't start it again.
            if args.watch:
                return _follow(args, client.watch_workflow(wid, 0))
            return 0
        if args.watch:
            return _follow(args, client.execute_workflow(wid, context, args.session_id))
        client.start_workflow(wid, context, args.session_id)
    return 0


def _run_intent(args: argparse.Namespace, context: Any) -> int:
    with _client(args) as client:
        started = client.start_intent(args.intent, context, args.session_id, args.request_id)
        intent = started.intent
        wid = started.workflow_id
        summary = {
            "workflow_id": wid,
            "intent": intent.primary_intent,
            "confidence": intent.confidence,
            "entities": dict(intent.entities),
        }
        entities = ", ".join(f"{k}={v}" for k, v in sorted(intent.entities.items()))
        human = f"{wid}  (intent {intent.primary_intent} at {intent.confidence:.2f}; {entities})"
        _out(args, summary, human)
        if args.watch:
            return _follow(args, client.watch_workflow(wid, 0))
    return 0


def cmd_intent(args: argparse.Namespace) -> int:
    with _client(args) as client:
        intent = client.analyze_intent(args.message)
    result = {
        "primary_intent": intent.primary_intent,
        "confidence": intent.confidence,
        "entities": dict(intent.entities),
        "candidate": intent.candidate,
        "threshold": intent.threshold,
    }
    entities = ", ".join(f"{k}={v}" for k, v in sorted(intent.entities.items())) or "none"
    human = (
        f"{intent.primary_intent} (confidence {intent.confidence:.2f}, threshold "
        f"{intent.threshold:.2f}; best candidate {intent.candidate}); entities: {entities}"
    )
    _out(args, result, human)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    with _client(args) as client:
        return _follow(args, client.watch_workflow(args.workflow_id, args.after_seq))


def cmd_status(args: argparse.Namespace) -> int:
    from dwe.clients.events import status_to_dict

    with _client(args) as client:
        status = status_to_dict(client.get_workflow_status(args.workflow_id))
    _out(args, status, render.format_status(status))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from dwe.common.enums import WorkflowState

    with _client(args) as client:
        response = client.cancel_workflow(args.workflow_id, args.reason)
    state = WorkflowState.from_proto(response.state)
    result = {
        "workflow_id": args.workflow_id,
        "cancelled": response.cancelled,
        "state": state.value if state else None,
    }
    human = (
        "cancelled" if response.cancelled else f"not cancelled: workflow already {result['state']}"
    )
    _out(args, result, human)
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    from dwe.clients.events import agent_to_dict

    with _client(args) as client:
        agents = [agent_to_dict(a) for a in client.list_agents()]
    if args.json:
        for agent in agents:
            print(render.to_json_line(agent))
    else:
        print(render.format_agents(agents))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from dwe.clients.events import metrics_to_dict

    with _client(args) as client:
        metrics = metrics_to_dict(client.get_engine_metrics())
    _out(args, metrics, render.format_metrics(metrics))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from dwe.clients.events import summary_to_dict

    with _client(args) as client:
        page = client.list_workflows(args.limit, args.page_token, args.state or ())
    rows = [summary_to_dict(w) for w in page.workflows]
    if args.json:
        for row in rows:
            print(render.to_json_line(row))
    else:
        print(render.format_workflows(rows))
        if page.next_page_token:
            print(f"more: --page-token {page.next_page_token}")
    return 0


# parser


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
    # The same flags after the subcommand; SUPPRESS keeps the global values unless given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--target", default=argparse.SUPPRESS, help="server address")
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("server", cmd_server, "run the dwe server (blocks)")
    p.add_argument("--host", help="listen address, env DWE_HOST (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port, env DWE_PORT (default 50051)")
    p.add_argument("--db", help="SQLite file, env DWE_DB (default ./dwe.db)")
    p.add_argument("--log-level", help="env DWE_LOG_LEVEL (default INFO)")
    p.add_argument(
        "--log-format", choices=("text", "json"), help="env DWE_LOG_FORMAT (default text)"
    )
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
    p.add_argument("--agents", help="agent registry file (YAML/JSON); env DWE_AGENTS")
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
        "--sqlite-synchronous",
        choices=["NORMAL", "FULL"],
        help="NORMAL survives process crashes, FULL also power loss (default NORMAL); "
        "env DWE_SQLITE_SYNCHRONOUS",
    )
    p.add_argument(
        "--grace", type=float, help="seconds in-flight calls get on shutdown; env DWE_GRACE"
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
        "--priority-aging",
        type=float,
        help="seconds of running that raise a workflow's dispatch priority one level "
        "(default 30, 0 = off); env DWE_PRIORITY_AGING",
    )
    p.add_argument(
        "--rules",
        help="adaptation rules for ADAPTIVE runs, comma-separated package.module:function; "
        "env DWE_RULES",
    )

    p = add("agent", cmd_agent, "run an agent defined in Python as module:attr")
    p.add_argument("spec", help="module:attr naming an Agent or a factory of one")

    p = add("run", cmd_run, "create and start a workflow from a file, or from an intent")
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

    p = add("intent", cmd_intent, "show the server's reading of a message's intent")
    p.add_argument("message")

    p = add("watch", cmd_watch, "stream a workflow's events to its end")
    p.add_argument("workflow_id")
    p.add_argument("--after-seq", type=int, default=0, help="skip events up to this seq")

    p = add("status", cmd_status, "show a workflow's state and steps")
    p.add_argument("workflow_id")

    p = add("cancel", cmd_cancel, "cancel a workflow")
    p.add_argument("workflow_id")
    p.add_argument("--reason", default="", help="recorded with the cancellation")

    add("agents", cmd_agents, "list registered and connected agents")
    add("metrics", cmd_metrics, "show engine metrics")

    p = add("list", cmd_list, "list workflows, newest first")
    p.add_argument("--state", action="append", help="only this state (repeatable)")
    p.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    p.add_argument("--page-token", default="", help="from a previous page")
    return parser


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
