"""Server assembly: ``create_server`` for tests and embedding, ``serve`` for the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import orjson
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from dwe.common import namespaces
from dwe.common.intents import IntentDetectionEngine
from dwe.common.otel import configure_tracing
from dwe.common.spec import DEFAULT_MAX_TASKS
from dwe.v1 import service_pb2

from .api import reflection
from .api.agent_service import AgentServicer
from .api.engine_service import EngineServicer
from .api.event_codec import event_bytes
from .api.forward import Forwarder, Router
from .api.guard import AuthGuard
from .api.handlers import generic_handler
from .api.legacy import upgrade_v2_event
from .api.quotas import Quotas, TokenLimits
from .api.scope import Scopes
from .api.workflow_service import WorkflowServicer
from .auth import TokenKeys
from .config import ServerConfig
from .engine.config import SchedulerConfig
from .engine.model import DEFAULT_NAMESPACE, AgentRegistration
from .http.front import HttpFront
from .logs import configure_logging
from .process import tune_gc
from .rules import load_rules
from .runtime.coordinator import Coordinator
from .runtime.histograms import RunHistograms
from .runtime.metrics import MetricsSampler, meter_provider_from_env
from .runtime.prometheus import ScrapeReader, prometheus_text
from .runtime.telemetry import Telemetry
from .security import (
    Certificates,
    InsecureBind,
    advertised,
    is_loopback,
    peer_credentials,
    server_credentials,
)
from .store.opening import is_postgres, open_store

log = logging.getLogger("dwe.server")

SERVICES = ("dwe.v1.WorkflowService", "dwe.v1.AgentService", "dwe.v1.EngineService")


def load_registry(path: str) -> list[AgentRegistration]:
    """Read agent registry entries from YAML or JSON (a list, or {"agents": [...]})."""
    text = Path(path).read_text()
    data: Any = orjson.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    if isinstance(data, dict):
        data = data.get("agents", [])
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of agents")
    out = []
    for i, entry in enumerate(data):
        where = f"{path}: agents[{i}]"
        if not isinstance(entry, dict) or (not entry.get("id") and not entry.get("agent_id")):
            raise ValueError(f"{where}: needs an id")
        caps = entry.get("capabilities") or []
        if not caps:
            raise ValueError(f"{where}: needs capabilities")
        out.append(
            AgentRegistration(
                agent_id=str(entry.get("id") or entry.get("agent_id")),
                agent_type=str(entry.get("type") or entry.get("agent_type") or ""),
                capabilities=tuple(str(c) for c in caps),
                max_concurrent_tasks=int(
                    entry.get("max_tasks") or entry.get("max_concurrent_tasks") or DEFAULT_MAX_TASKS
                ),
                config=dict(entry.get("config") or {}),
                namespace=namespaces.check(str(entry.get("namespace") or DEFAULT_NAMESPACE)),
            )
        )
    return out


def _scheduler_config(config: ServerConfig) -> SchedulerConfig:
    return SchedulerConfig(
        max_concurrent_workflows=config.max_concurrent_workflows,
        default_workflow_timeout=config.default_timeout,
        agent_lease=config.agent_lease,
        restart_lease=config.restart_lease,
        priority_aging=config.priority_aging,
        max_context_bytes=config.max_payload_bytes,
        ack_timeout=config.ack_timeout,
        cancel_grace=config.cancel_grace,
    )


class DweServer:
    """A running server: gRPC, coordinator, store and metrics. ``stop`` is idempotent."""

    def __init__(
        self, config: ServerConfig, tracer_provider: Any = None, meter_provider: Any = None
    ) -> None:
        self.config = config
        # GET /metrics reads this (prometheus_text); a given meter_provider has no scrape reader.
        self.metrics_reader = ScrapeReader()
        self._own_meters = meter_provider is None
        self.meter_provider = meter_provider or meter_provider_from_env(self.metrics_reader)
        self.store = open_store(config.db_path, config.sqlite_synchronous, upgrade_v2_event)
        self.coordinator = Coordinator(
            self.store,
            event_bytes,
            _scheduler_config(config),
            Telemetry(tracer_provider),
            histograms=RunHistograms(self.meter_provider),
        )
        self.sampler = MetricsSampler(
            self.coordinator.stats, config.metrics_interval, self.meter_provider
        )
        self.health = health.aio.HealthServicer()
        auth_on = bool(config.auth_key or config.auth_secret)
        self.keys = (
            TokenKeys(config.auth_key, config.auth_secret, config.auth_deny, config.auth_cert_map)
            if auth_on
            else None
        )
        self.certificates: Certificates | None = None
        self.replica: Any = None  # a Replica on PostgreSQL
        # The dwe.v1 handlers: this server's own once it owns the workflows, else forwards.
        self.router = Router()
        self._promotion: asyncio.Task[None] | None = None
        self.http = HttpFront(config, self.prometheus_text) if config.http_port >= 0 else None
        self._owning = False
        limits = TokenLimits(
            config.token_create_rate, config.token_create_burst, config.token_max_streams
        )
        self.guard = AuthGuard(self.keys, Quotas(limits)) if self.keys is not None else None
        self.grpc = grpc.aio.server(
            interceptors=[self.guard] if self.guard is not None else None,
            options=[
                ("grpc.max_receive_message_length", config.max_message_bytes),
                ("grpc.max_send_message_length", config.max_message_bytes),
                ("grpc.so_reuseport", 0),
                # Room for an oversized token to reach the auth check (refused there with
                # UNAUTHENTICATED above 8 KiB), instead of gRPC's own random refusals
                # between its default 8 KiB soft and 16 KiB hard metadata limits.
                ("grpc.max_metadata_size", 32 * 1024),
                ("grpc.absolute_max_metadata_size", 64 * 1024),
                # Agents may ping to detect half-open connections.
                ("grpc.http2.min_ping_interval_without_data_ms", 5000),
                ("grpc.keepalive_permit_without_calls", 1),
            ],
        )
        # Loaded up front so a bad rules file stops the server before it listens.
        self.intents = IntentDetectionEngine(config.intent_threshold, config.intents_file or None)
        self.port = 0
        self._stopped = False

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.port}"

    async def start(self) -> None:
        for rule in load_rules(self.config.rules) if self.config.rules else ():
            self.coordinator.add_rule(rule)
        owner = await self._claim()
        self.port = self._bind()
        advertise = advertised(self.config, self.port)
        if self.http is not None:  # before anything runs: a port it cannot have stops us here
            try:
                self.http.prepare(self.grpc)
                await self.http.start(self.config.max_message_bytes)
            except BaseException:
                await self.http.stop()
                await self.grpc.stop(None)
                raise
        if self.replica is not None:
            self.replica.lease.address = advertise
            if owner:  # store the address now: standbys forward calls to it
                await asyncio.to_thread(self.replica.lease.beat)
        if owner:
            await self._own()
        else:  # a standby: forwards every call to the owner until it takes over
            self.router.forward = Forwarder(
                lambda: self.replica.owner_address,
                self.config.max_message_bytes,
                peer_credentials(self.config),
            )
            self._promotion = asyncio.get_running_loop().create_task(self._stand_by(advertise))
        self.grpc.add_generic_rpc_handlers((self.router,))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        names = (
            *(
                service_pb2.DESCRIPTOR.services_by_name[n.split(".")[-1]].full_name
                for n in SERVICES
            ),
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        )
        reflection.enable(self.grpc, names)
        await self.grpc.start()
        for name in ("", *SERVICES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.sampler.start()
        if self.http is not None:
            log.info("dwe dashboard at %s", self.http.url)
        log.info(
            "dwe server listening on %s (store %s; %s)",
            self.address,
            getattr(self.store, "path", self.config.db_path),
            self._security_summary(),
        )

    async def _claim(self) -> bool:
        """Whether this server owns the workflows now: always on SQLite; on PostgreSQL,
        when it holds the scheduler lease."""
        if not is_postgres(self.config.db_path):
            return True
        from .replica import Replica  # psycopg is imported only on PostgreSQL

        self.replica = Replica(self.store, self.config.replica_id, self.config.lease_seconds)
        return bool(await self.replica.try_now(advertised(self.config, self.config.port)))

    async def _stand_by(self, address: str) -> None:
        """Wait for the lease, then take the workflows over and serve them here."""
        await self.replica.acquire(address)
        await self._own()

    async def _own(self) -> None:
        """Resume the workflows (as a restart does) and serve calls here, not forwarded."""
        self._owning = True
        if self.replica is not None:
            self.replica.start()
        await self.coordinator.open()
        if self.config.agents_file:
            for reg in load_registry(self.config.agents_file):
                await self.coordinator.register_agent(reg)
        self._add_services()
        if self.config.retention > 0:
            self.coordinator.start_retention(self.config.retention, self.config.prune_interval)

    async def _replicas(self) -> tuple[str, list[Any]]:
        """This replica's id and every replica on the database (on SQLite: this server)."""
        if self.replica is None:
            me = SimpleNamespace(
                replica_id="", address=self.address, heartbeat_age=0.0, owner=True, epoch=0
            )
            return "", [me]
        from .store.pg_lease import replicas  # psycopg is imported only on PostgreSQL

        return self.replica.replica_id, await asyncio.to_thread(replicas, self.replica.lease.url)

    def _add_services(self) -> None:
        """The three dwe.v1 services, as generic handlers: their request decoders turn
        bytes that do not decode into INVALID_ARGUMENT (see api/handlers.py)."""
        sizes = self.config.sizes
        scopes = Scopes(self.keys)
        self.router.local = (
            generic_handler(
                "WorkflowService",
                WorkflowServicer(
                    self.coordinator, self.config.default_timeout, self.intents, sizes, scopes
                ),
            ),
            generic_handler(
                "AgentService",
                AgentServicer(self.coordinator, self.config.heartbeat_interval, sizes, self.keys),
            ),
            generic_handler(
                "EngineService",
                EngineServicer(
                    self.coordinator,
                    self.sampler,
                    sizes,
                    self.config.heartbeat_interval,
                    self._auth_refused,
                    scopes,
                    self._replicas,
                ),
            ),
        )

    def reload(self) -> None:
        """SIGHUP: read the TLS files and the token deny-list again."""
        if self.certificates is not None:
            self.certificates.reload()
        denied = self.keys.reload_denied() if self.keys is not None else 0
        log.info(
            "reloaded: %s%d deny-list entries",
            "certificates, " if self.certificates is not None else "",
            denied,
        )

    def _security_summary(self) -> str:
        tls = (
            "mTLS" if self.config.tls_client_ca else "TLS" if self.config.tls_cert else "plaintext"
        )
        return f"{tls}, auth {'on' if self.keys is not None else 'off'}"

    def _auth_refused(self) -> int:
        return self.guard.refused if self.guard is not None else 0

    def _bind(self) -> int:
        """Listen: TLS (and mTLS) when configured; plaintext beyond loopback only with
        ``insecure``, and then with a warning."""
        config = self.config
        credentials, self.certificates = server_credentials(config)
        if (credentials is None or self.keys is None) and not is_loopback(config.host):
            if not config.insecure:
                raise InsecureBind(
                    f"refusing to listen on {config.host} without TLS and auth: anyone who"
                    " reaches the port could submit, cancel, read payloads and connect as any"
                    " agent. Give --tls-cert and --tls-key, or --insecure to accept that"
                )
            log.warning(
                "listening on %s with %s (--insecure)",
                config.host,
                "TLS but no auth" if credentials is not None else "no TLS",
            )
        if credentials is None:
            port = self.grpc.add_insecure_port(config.address)
        else:
            port = self.grpc.add_secure_port(config.address, credentials)
        if port == 0:
            raise OSError(f"cannot bind {config.address}")
        return port

    def prometheus_text(self) -> bytes:
        """The current metrics in the Prometheus text format (``runtime.prometheus``)."""
        return prometheus_text(self.metrics_reader)

    async def stop(self, grace: float | None = None) -> None:
        """Health -> NOT_SERVING, refuse new calls, drain agents, end streams, let calls
        in flight finish, stop gRPC, final commit, close.

        New calls get UNAVAILABLE from the moment stopping begins (gRPC's own stop
        would cancel calls it had not handed out yet: CANCELLED tells a caller
        nothing). Agents get Drain and the grace period to deliver finished
        results; streams end before gRPC stops, once calls in flight are done and
        callers have stopped arriving; the store closes last, after the final commit.
        """
        if self._stopped:
            return
        self._stopped = True
        grace = self.config.grace if grace is None else grace
        if self.http is not None:  # its event streams end; its calls are ours to refuse
            await self.http.stop()
        if not await self._stop_standby(grace):
            return
        await self.health.enter_graceful_shutdown()
        admission = self.coordinator.admission
        admission.refuse()  # new calls: UNAVAILABLE, never cut off by gRPC's stop
        await self.sampler.stop()
        await self.coordinator.drain_agents(grace)
        self.coordinator.end_streams()
        await admission.quiet(grace)
        await self.grpc.stop(grace)
        await self.coordinator.close()
        if self.replica is not None:
            await self.replica.stop()
        self.store.close()
        await self._close_meters()
        log.info("dwe server stopped")

    async def _close_meters(self) -> None:
        if self._own_meters:  # the last export of the periodic readers may wait on a network
            await asyncio.to_thread(self.meter_provider.shutdown)

    async def _stop_standby(self, grace: float) -> bool:
        """A standby has no workflows to close: stop forwarding and leave. False when it
        was one; True when the owner's stop goes on."""
        if self._promotion is not None:
            self._promotion.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._promotion
        if self._owning:
            return True
        await self.grpc.stop(grace)
        if isinstance(self.router.forward, Forwarder):
            await self.router.forward.close()
        await self.replica.stop()
        self.store.close()
        await self._close_meters()
        log.info("dwe server (standby) stopped")
        return False


async def create_server(
    config: ServerConfig, tracer_provider: Any = None, meter_provider: Any = None
) -> DweServer:
    """Build and start a server; ``server.port`` is the bound port (use port=0 in tests).

    The providers default to the global OpenTelemetry ones.
    """
    server = DweServer(config, tracer_provider, meter_provider)
    await server.start()
    return server


async def _serve(config: ServerConfig) -> None:
    server = await create_server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, _reloading(server))
    print(f"dwe server listening on {server.address}", flush=True)  # the first line, always
    if server.http is not None:
        print(f"dwe dashboard at {server.http.url}", flush=True)
    await stop.wait()
    log.info("shutting down")
    await server.stop()


def _reloading(server: DweServer) -> Callable[[], None]:
    def reload() -> None:
        try:
            server.reload()
        except (OSError, ValueError) as exc:  # keep serving with what was loaded
            log.error("reload failed, keeping the previous files: %s", exc)

    return reload


def serve(config: ServerConfig) -> None:
    """Run a server until SIGINT/SIGTERM (the ``dwe server`` command)."""
    configure_logging(config.log_level, config.log_format)
    provider = configure_tracing("dwe-server")
    tune_gc()
    try:
        asyncio.run(_serve(config))
    finally:
        if provider is not None:
            provider.shutdown()
