"""The ``dwe`` subcommands: each takes the parsed arguments and returns the exit code."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import orjson

from dwe.agent_sdk.errors import AgentConfigError
from dwe.agent_sdk.session import SessionInfo
from dwe.cli import render
from dwe.clients.errors import DweError, ValidationError, from_rpc_error
from dwe.clients.sync import SyncDweClient
from dwe.common.tls import TlsFiles

__all__ = [
    "cmd_agent",
    "cmd_agents",
    "cmd_cancel",
    "cmd_intent",
    "cmd_list",
    "cmd_metrics",
    "cmd_server",
    "cmd_status",
    "json_object",
    "load_workflow_file",
    "open_client",
    "out",
]

_SERVER_FLAGS = {
    "host": "host",
    "port": "port",
    "http_host": "http_host",
    "http_port": "http_port",
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
    "server_tls_peer_ca": "tls_peer_ca",
    "advertise": "advertise",
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


def out(args: argparse.Namespace, obj: Any, human: str) -> None:
    print(render.to_json_line(obj) if args.json else human, flush=True)


def client_tls(args: argparse.Namespace) -> TlsFiles | None:
    """The TLS flags as files; None (the DWE_TLS_* variables, else plaintext) without any."""
    files = [getattr(args, f"tls_{k}", None) or "" for k in ("ca", "cert", "key")]
    return TlsFiles(*files) if any(files) else None


def open_client(args: argparse.Namespace) -> SyncDweClient:
    return SyncDweClient(
        args.target,
        tls=client_tls(args),
        token=getattr(args, "token", None),
        namespace=getattr(args, "namespace", None),  # None: DWE_NAMESPACE
    )


def load_workflow_file(path: str) -> Any:
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


def json_object(text: str | None, flag: str) -> dict[str, Any] | None:
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
    _check_port_free(config.host, config.port)
    try:
        serve(config)
    except (SchemaError, StoreOpenError, InsecureBind, OSError) as err:  # one line
        raise DweError(str(err)) from err
    except RuntimeError as err:  # gRPC's "Failed to bind", should the port go meanwhile
        raise DweError(f"cannot listen on {config.address}: {err}") from err
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Refuses a taken port with one line naming the address, before gRPC tries it
    (whose failure is a RuntimeError after a log line of its own on stderr)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as err:
        raise DweError(f"cannot listen on {host}:{port}: {err}") from err
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
        try:
            probe.bind(address)
        except OSError as err:
            reason = err.strerror or str(err)
            raise DweError(f"cannot listen on {host}:{port}: {reason.lower()}") from err


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
    agent.on_connected = _connected_line(args, agent.agent_id, agent.capabilities)
    try:
        agent.run(args.target)
    except AgentConfigError as err:
        raise ValidationError(str(err)) from err
    except grpc.RpcError as err:  # a refusal no reconnect can fix (FATAL_CODES)
        raise from_rpc_error(err, target=args.target) from err
    return 0


def _connected_line(
    args: argparse.Namespace, agent_id: str, capabilities: list[str]
) -> Callable[[str, SessionInfo, bool], None]:
    """Prints a line on every (re)connect of ``dwe agent``, so a terminal shows it is up."""

    def connected(target: str, info: SessionInfo, again: bool) -> None:
        verb = "reconnected" if again else "connected"
        row = {
            "event": f"agent_{verb}",
            "agent_id": agent_id,
            "target": target,
            "capabilities": capabilities,
            "namespace": info.namespace or "default",
            "session_id": info.session_id,
        }
        human = (
            f"agent {agent_id} {verb} to {target} (capabilities {', '.join(capabilities)};"
            f" namespace {row['namespace']}; session {info.session_id})"
        )
        out(args, row, human)

    return connected


def cmd_intent(args: argparse.Namespace) -> int:
    with open_client(args) as client:
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
    out(args, result, human)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from dwe.clients.events import status_to_dict

    with open_client(args) as client:
        status = status_to_dict(client.get_workflow_status(args.workflow_id))
    out(args, status, render.format_status(status))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from dwe.common.enums import WorkflowState

    with open_client(args) as client:
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
    out(args, result, human)
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    from dwe.clients.events import agent_to_dict

    with open_client(args) as client:
        agents = [agent_to_dict(a) for a in client.list_agents(args.namespaces)]
    if args.json:
        for agent in agents:
            print(render.to_json_line(agent))
    else:
        print(render.format_agents(agents))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from dwe.clients.events import metrics_to_dict

    with open_client(args) as client:
        metrics = metrics_to_dict(client.get_engine_metrics(args.namespaces))
    out(args, metrics, render.format_metrics(metrics))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from dwe.clients.events import summary_to_dict

    with open_client(args) as client:
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
