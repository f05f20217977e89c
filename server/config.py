"""Server configuration: flags, each with a DWE_* environment variable behind it."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from dwe.common.durations import parse_duration
from dwe.common.sizes import parse_size

from .api.limits import DEFAULT_MAX_MESSAGE, DEFAULT_MAX_PAYLOAD, SizeLimits

# Fields whose variables are durations (7d, 12h, 30m, or seconds), not plain numbers.
_DURATIONS = ("retention", "prune_interval")
# Fields whose variables are sizes (4MiB, 512K, or bytes).
_SIZES = ("max_message_bytes", "max_payload_bytes")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Settings of one server. Defaults serve a laptop.

    Attributes:
        host: Interface to bind (DWE_HOST).
        port: TCP port; 0 picks a free one (DWE_PORT).
        db_path: SQLite file (DWE_DB).
        log_level: Logging level name (DWE_LOG_LEVEL).
        log_format: "text" or "json" (DWE_LOG_FORMAT).
        max_concurrent_workflows: Running workflows at once, 0 = no limit
            (DWE_MAX_CONCURRENT_WORKFLOWS).
        default_timeout: Seconds a workflow may run when it sets none, 0 = none
            (DWE_DEFAULT_TIMEOUT).
        agent_lease: Seconds a disconnected agent's attempts wait for it to come
            back before they run elsewhere (DWE_AGENT_LEASE).
        restart_lease: Seconds attempts in flight at a restart wait for their
            agent to reconnect holding them (DWE_RESTART_LEASE).
        heartbeat_interval: Seconds between agent heartbeats (DWE_HEARTBEAT_INTERVAL).
        ack_timeout: Seconds an agent has to acknowledge an assignment (started or
            a result) before it is taken back and assigned again; 0 = none
            (DWE_ACK_TIMEOUT).
        cancel_grace: Seconds an agent has to answer a Cancel before its slot is
            freed anyway; 0 = wait for the answer (DWE_CANCEL_GRACE).
        sqlite_synchronous: "NORMAL" (crash-safe in WAL) or "FULL" (power-loss safe)
            (DWE_SQLITE_SYNCHRONOUS).
        grace: Seconds in-flight RPCs get on shutdown (DWE_GRACE).
        metrics_interval: Seconds between metrics history samples (DWE_METRICS_INTERVAL).
        agents_file: YAML/JSON registry loaded at start (DWE_AGENTS).
        rules: Comma-separated ``package.module:function`` adaptation rules
            (DWE_RULES).
        priority_aging: Seconds of running that raise a workflow's dispatch
            priority by one level, 0 = no aging (DWE_PRIORITY_AGING).
        intents_file: Intent rules and workflow templates (YAML/JSON) for
            StartIntent; empty uses the built-in rules (DWE_INTENTS).
        intent_threshold: Minimum confidence to act on an intent
            (DWE_INTENT_THRESHOLD).
        retention: Seconds an ended workflow is kept before it is pruned with its
            steps and events, 0 = keep everything (DWE_RETENTION, e.g. ``7d``).
        prune_interval: Seconds between two prunes when retention is set
            (DWE_PRUNE_INTERVAL, e.g. ``5m``).
        max_message_bytes: The largest message the server receives or sends
            (DWE_MAX_MESSAGE_BYTES, e.g. ``4MiB``); advertised to agents and clients.
        max_payload_bytes: The largest context, output, progress or config payload
            (DWE_MAX_PAYLOAD_BYTES, e.g. ``2MiB``); at most the message limit - 64 KiB.
        tls_cert, tls_key: The server's PEM certificate (chain) and key; set both to
            serve TLS (DWE_SERVER_TLS_CERT, DWE_SERVER_TLS_KEY).
        tls_client_ca: PEM CA bundle; set, every client must present a certificate
            it signed (mTLS) (DWE_SERVER_TLS_CLIENT_CA).
        insecure: Allow listening beyond loopback without TLS and auth (DWE_INSECURE).
        auth_key: PEM Ed25519 key that signs tokens (private) or checks them
            (public); turns auth on (DWE_AUTH_KEY).
        auth_secret: File holding an HS256 secret (32 bytes or more) instead; turns
            auth on (DWE_AUTH_SECRET).
        auth_deny: A deny-list: one token id (``jti``) or ``sub:SUBJECT`` per line,
            refused as revoked; read again on SIGHUP (DWE_AUTH_DENY).
        tls_peer_ca: PEM CA bundle that signed the other replicas' certificates, which
            a standby checks when it forwards a call to the owner over TLS (default:
            the client CA, else the system's roots) (DWE_SERVER_TLS_PEER_CA).
        advertise: On PostgreSQL, the host:port the other replicas reach this one at
            (default: --host:--port, or this machine's name when --host is a
            wildcard address); with TLS, a name its certificate carries
            (DWE_ADVERTISE).
        http_host, http_port: Where the dashboard, its HTTP API and /metrics are
            served (DWE_HTTP_HOST, DWE_HTTP_PORT); port 0 picks a free one, -1 turns
            HTTP off; when 8080 (the default) is taken, a free port is used.
        replica_id: On PostgreSQL, this replica's name among those on the database
            (default host-pid) (DWE_REPLICA_ID).
        lease_seconds: On PostgreSQL, how long the scheduler lease outlives its
            holder's last renewal before a standby takes it over (DWE_LEASE_SECONDS).
        auth_cert_map: JSON map from client certificate common names to the claims
            they stand for (role, ns, agent_id, caps); needs mTLS and auth
            (DWE_AUTH_CERT_MAP).
        token_create_rate: With auth on, creates per second each token subject may
            make (a token bucket; 0 = no limit) (DWE_TOKEN_CREATE_RATE).
        token_create_burst: The bucket's size (0 = one second's worth)
            (DWE_TOKEN_CREATE_BURST).
        token_max_streams: With auth on, streams each token subject may hold open at
            once (0 = no limit) (DWE_TOKEN_MAX_STREAMS).
    """

    host: str = "127.0.0.1"
    port: int = 50051
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    db_path: str = "./dwe.db"
    log_level: str = "INFO"
    log_format: str = "text"
    max_concurrent_workflows: int = 0
    default_timeout: float = 0.0
    agent_lease: float = 0.0
    restart_lease: float = 10.0
    heartbeat_interval: float = 5.0
    ack_timeout: float = 30.0
    cancel_grace: float = 10.0
    sqlite_synchronous: str = "NORMAL"
    grace: float = 5.0
    metrics_interval: float = 1.0
    agents_file: str = ""
    rules: str = ""
    priority_aging: float = 30.0
    intents_file: str = ""
    intent_threshold: float = 0.7
    retention: float = 0.0
    prune_interval: float = 300.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    tls_peer_ca: str = ""
    insecure: bool = False
    auth_key: str = ""
    auth_secret: str = ""
    auth_deny: str = ""
    auth_cert_map: str = ""
    token_create_rate: float = 0.0
    token_create_burst: int = 0
    token_max_streams: int = 0
    replica_id: str = ""
    lease_seconds: float = 10.0
    advertise: str = ""

    def __post_init__(self) -> None:
        SizeLimits(self.max_message_bytes, self.max_payload_bytes)  # raises when they clash
        if self.retention < 0:
            raise ValueError("retention must not be negative (0 keeps everything)")
        if self.prune_interval <= 0:
            raise ValueError("prune_interval must be more than 0")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.auth_key and self.auth_secret:
            raise ValueError("--auth-key and --auth-secret: give one, not both")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
        if self.auth_cert_map and not (self.tls_client_ca and (self.auth_key or self.auth_secret)):
            raise ValueError(
                "--auth-cert-map needs mTLS (--tls-client-ca) and auth"
                " (--auth-key or --auth-secret)"
            )
        if not -1 <= self.http_port <= 65535:
            raise ValueError("http_port must be a port number, 0 (any free port) or -1 (off)")
        if self.lease_seconds <= 0:
            raise ValueError("lease_seconds must be more than 0")
        if self.ack_timeout < 0 or self.cancel_grace < 0:
            raise ValueError("ack_timeout and cancel_grace must not be negative (0 = off)")

    @classmethod
    def from_env(cls, **overrides: Any) -> ServerConfig:
        """Defaults, then DWE_* variables, then the given overrides (None is skipped)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = os.environ.get(_variable(f.name))
            if f.name in ("agents_file", "intents_file"):
                name = "DWE_AGENTS" if f.name == "agents_file" else "DWE_INTENTS"
                env = os.environ.get(name, env or "") or None
            if env is not None and env != "":
                values[f.name] = _from_text(f.name, env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def sizes(self) -> SizeLimits:
        """The message and payload limits (raises ValueError when they do not fit)."""
        return SizeLimits(self.max_message_bytes, self.max_payload_bytes)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _variable(field: str) -> str:
    """The DWE_* variable behind a field (the server's TLS files have their own names, so
    that DWE_TLS_* stay the client's and agent's)."""
    if field == "db_path":
        return "DWE_DB"
    if field.startswith("tls_"):
        return "DWE_SERVER_" + field.upper()
    return "DWE_" + field.upper()


def _from_text(name: str, text: str) -> Any:
    """A field's value from its DWE_* variable."""
    if name in _DURATIONS:
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise ValueError(f"DWE_{name.upper()}: {exc}") from None
    if name in _SIZES:
        try:
            return parse_size(text)
        except ValueError as exc:
            raise ValueError(f"DWE_{name.upper()}: {exc}") from None
    if name == "insecure":
        return text.strip().lower() in ("1", "true", "yes", "on")
    return type(getattr(ServerConfig(), name))(text)
