"""The ``dwe`` subcommands: each takes the parsed arguments and returns the exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from dwe.cli import render
from dwe.clients.errors import DweError, ValidationError
from dwe.clients.events import TERMINAL_EVENTS, event_to_dict
from dwe.clients.sync import SyncDweClient
from dwe.common.tls import TlsFiles
from dwe.v1 import enums_pb2

__all__ = [
    "cmd_agent",
    "cmd_agents",
    "cmd_cancel",
    "cmd_intent",
    "cmd_list",
    "cmd_metrics",
    "cmd_run",
    "cmd_server",
    "cmd_status",
    "cmd_watch",
]

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
    "ack_timeout": "ack_timeout",
    "cancel_grace": "cancel_grace",
    "sqlite_synchronous": "sqlite_synchronous",
    "grace": "grace",
    "rules": "rules",
    "priority_aging": "priority_aging",
    "intents": "intents_file",
    "intent_threshold": "intent_threshold",
    "retention": "retention",
    "prune_interval": "prune_interval",
    "max_message_bytes": "max_message_bytes",
    "max_payload_bytes": "max_payload_bytes",
    "server_tls_cert": "tls_cert",
    "server_tls_key": "tls_key",
    "server_tls_client_ca": "tls_client_ca",
    "insecure": "insecure",
    "auth_key": "auth_key",
    "auth_secret": "auth_secret",
    "auth_deny": "auth_deny",
    "auth_cert_map": "auth_cert_map",
    "token_create_rate": "token_create_rate",
    "token_create_burst": "token_create_burst",
    "token_max_streams": "token_max_streams",
    "replica_id": "replica_id",
    "lease_seconds": "lease_seconds",
}


def _out(args: argparse.Namespace, obj: Any, human: str) -> None:
    print(render.to_json_line(obj) if args.json else human, flush=True)


def client_tls(args: argparse.Namespace) -> TlsFiles | None:
    """The TLS flags as files; None (the DWE_TLS_* variables, else plaintext) without any."""
    files = [getattr(args, f"tls_{k}", None) or "" for k in ("ca", "cert", "key")]
    return TlsFiles(*files) if any(files) else None


def _client(args: argparse.Namespace) -> SyncDweClient:
    return SyncDweClient(
        args.target,
        tls=client_tls(args),
        token=getattr(args, "token", None),
        namespace=getattr(args, "namespace", None),  # None: DWE_NAMESPACE
    )


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
    from dwe.server.security import InsecureBind
    from dwe.server.store.migrations import SchemaError, StoreOpenError

    overrides = {
        field: getattr(args, flag)
        for flag, field in _SERVER_FLAGS.items()
        if getattr(args, flag, None) is not None
    }
    try:
        config = ServerConfig.from_env(**overrides)
    except ValueError as err:  # a DWE_* variable that does not parse
        raise ValidationError(str(err)) from err
    try:
        serve(config)
    except (SchemaError, StoreOpenError, InsecureBind, OSError) as err:  # one line
        raise DweError(str(err)) from err
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from dwe.agent_sdk.loader import load_agent
    from dwe.agent_sdk.telemetry import configure_from_env

    configure_from_env()  # OTEL_* before the agent's module loads, so its spans are exported
    try:
        agent = load_agent(args.spec)
    except (ValueError, ImportError, AttributeError, TypeError) as err:
        raise ValidationError(f"cannot load agent {args.spec!r}: {err}") from err
    tls = client_tls(args)
    if tls is not None:
        agent.tls = tls
    if getattr(args, "token", None):
        agent.token = args.token
    if args.namespace is not None:
        agent.namespace = args.namespace
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
        row = {
            "workflow_id": wid,
            "created": created.created,
            "namespace": created.status.namespace,
        }
        _out(args, row, wid)
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
        agents = [agent_to_dict(a) for a in client.list_agents(args.namespaces)]
    if args.json:
        for agent in agents:
            print(render.to_json_line(agent))
    else:
        print(render.format_agents(agents))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from dwe.clients.events import metrics_to_dict

    with _client(args) as client:
        metrics = metrics_to_dict(client.get_engine_metrics(args.namespaces))
    _out(args, metrics, render.format_metrics(metrics))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from dwe.clients.events import summary_to_dict

    with _client(args) as client:
        page = client.list_workflows(args.limit, args.page_token, args.state or (), args.namespaces)
    rows = [summary_to_dict(w) for w in page.workflows]
    if args.json:
        for row in rows:
            print(render.to_json_line(row))
    else:
        print(render.format_workflows(rows))
        if page.next_page_token:
            print(f"more: --page-token {page.next_page_token}")
    return 0
