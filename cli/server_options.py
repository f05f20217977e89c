"""The options of ``dwe server``: listening, storage, tuning, retention, sizes, TLS, auth."""

from __future__ import annotations

import argparse

from dwe.cli.argtypes import duration, size


def add_server_options(p: argparse.ArgumentParser) -> None:
    """Every flag of ``dwe server``."""
    _add_tls(p)
    _add_auth(p)
    _add_server_basics(p)
    _add_server_tuning(p)
    _add_server_retention(p)
    _add_server_sizes(p)


def _add_tls(p: argparse.ArgumentParser) -> None:
    """The server's certificate, the clients' CA for mTLS, and plaintext beyond loopback."""
    p.add_argument(
        "--tls-cert",
        dest="server_tls_cert",
        metavar="PEM",
        help="serve TLS with this certificate (chain); env DWE_SERVER_TLS_CERT",
    )
    p.add_argument(
        "--tls-key", dest="server_tls_key", metavar="PEM", help="its key; env DWE_SERVER_TLS_KEY"
    )
    p.add_argument(
        "--tls-client-ca",
        dest="server_tls_client_ca",
        metavar="PEM",
        help="require client certificates signed by this CA (mTLS); env DWE_SERVER_TLS_CLIENT_CA",
    )
    p.add_argument(
        "--tls-peer-ca",
        dest="server_tls_peer_ca",
        metavar="PEM",
        help="on PostgreSQL with TLS: the CA of the other replicas' certificates, checked when"
        " a standby forwards to the owner (default: the client CA, else the system's roots);"
        " env DWE_SERVER_TLS_PEER_CA",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="allow listening beyond loopback without TLS and auth (logs a warning); "
        "env DWE_INSECURE",
    )


def _add_auth(p: argparse.ArgumentParser) -> None:
    """Tokens, certificate identities and the limits per token."""
    p.add_argument(
        "--auth-key",
        metavar="PEM",
        help="turn auth on: an Ed25519 key (private: also mints; public: checks only); "
        "env DWE_AUTH_KEY",
    )
    p.add_argument(
        "--auth-secret",
        metavar="FILE",
        help="turn auth on with an HS256 secret (32+ bytes) in FILE; env DWE_AUTH_SECRET",
    )
    p.add_argument(
        "--auth-deny",
        metavar="FILE",
        help="revoked tokens: a token id (jti) or sub:SUBJECT per line; read again on "
        "SIGHUP; env DWE_AUTH_DENY",
    )
    p.add_argument(
        "--auth-cert-map",
        metavar="FILE",
        help="JSON map from client certificate common names to the claims they stand for "
        "(role, ns, agent_id, caps); needs --tls-client-ca; env DWE_AUTH_CERT_MAP",
    )
    p.add_argument(
        "--token-create-rate",
        type=float,
        help="with auth: creates per second per token (token bucket; 0 = no limit); "
        "env DWE_TOKEN_CREATE_RATE",
    )
    p.add_argument(
        "--token-create-burst",
        type=int,
        help="the bucket's size (0 = a second's worth); env DWE_TOKEN_CREATE_BURST",
    )
    p.add_argument(
        "--token-max-streams",
        type=int,
        help="with auth: streams open at once per token (0 = no limit); env DWE_TOKEN_MAX_STREAMS",
    )


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
        "--advertise",
        metavar="HOST:PORT",
        help="on PostgreSQL: where the other replicas reach this one (default --host:--port,"
        " or this machine's name for a wildcard --host; with TLS, a name its certificate"
        " carries); env DWE_ADVERTISE",
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
