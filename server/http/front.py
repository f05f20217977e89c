"""The HTTP port (``--http-host``/``--http-port``, 127.0.0.1:8080 by default): the web
dashboard's files, its JSON API and event stream, and Prometheus ``/metrics``.

The API reaches this server's handlers through a private unix socket the gRPC server
also listens on (``prepare``): one implementation of validation, auth and namespaces.
The same rule as gRPC's holds for where it may listen: beyond loopback only with TLS
(the server's certificate; with mTLS, browsers need a client certificate too) and
auth, or with --insecure.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import shutil
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

import grpc
from aiohttp import web

from ..config import ServerConfig
from ..security import InsecureBind, is_loopback
from .gateway import Gateway, error
from .sse import EventStream

log = logging.getLogger("dwe.server.http")

#: The port the dashboard is on unless told otherwise; when taken, any free port is
#: used instead (and logged), so a second server or an embedded engine still starts.
DEFAULT_HTTP_PORT = 8080
STATIC = Path(__file__).resolve().parent / "static"
_NOT_BUILT = (
    "<!doctype html><title>dwe</title><p>The dashboard is not built into this copy of dwe:"
    " run <code>make dashboard</code>. The API is at <code>/api/v1/</code>.</p>"
)
_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class HttpFront:
    """One server's HTTP port."""

    def __init__(self, config: ServerConfig, metrics: Callable[[], bytes] | None = None) -> None:
        self._config = config
        self._metrics = metrics
        self._folder = Path(tempfile.mkdtemp(prefix="dwe-http-"))  # 0700: this user only
        self.socket = str(self._folder / "grpc.sock")
        self._closing = asyncio.Event()
        self._channel: grpc.aio.Channel | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def prepare(self, server: grpc.aio.Server) -> None:
        """Have the gRPC server listen on the private socket too (before it starts)."""
        if not server.add_insecure_port(f"unix:{self.socket}"):
            raise OSError(f"cannot listen on {self.socket}")

    @property
    def url(self) -> str:
        scheme = "https" if self._config.tls_cert else "http"
        return f"{scheme}://{self._config.http_host}:{self.port}/"

    async def start(self, max_message_bytes: int) -> None:
        self._check_exposure()
        limit = max_message_bytes + 64 * 1024
        options = [
            ("grpc.max_send_message_length", limit),
            ("grpc.max_receive_message_length", limit),
        ]
        self._channel = grpc.aio.insecure_channel(f"unix:{self.socket}", options)
        app = web.Application(client_max_size=1024 * 1024)
        app.add_routes(Gateway(self._channel).routes())
        app.add_routes([EventStream(self._channel, self._closing).route()])
        app.add_routes([web.get("/metrics", self._prometheus), web.get("/{tail:.*}", self._file)])
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self.port = await self._listen(self._config.http_port)

    def _check_exposure(self) -> None:
        c = self._config
        secured = bool(c.tls_cert) and bool(c.auth_key or c.auth_secret)
        if not secured and not c.insecure and not is_loopback(c.http_host):
            raise InsecureBind(
                f"refusing to serve the dashboard on {c.http_host} without TLS and auth:"
                " anyone who reaches it could read and cancel workflows. Give --tls-cert,"
                " --tls-key and --auth-key (or --auth-secret), or --insecure"
            )

    async def _listen(self, port: int) -> int:
        assert self._runner is not None
        site = web.TCPSite(
            self._runner,
            self._config.http_host,
            port,
            ssl_context=self._tls(),
        )
        try:
            await site.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port != DEFAULT_HTTP_PORT:
                raise OSError(
                    f"cannot serve HTTP on {self._config.http_host}:{port}: {exc.strerror}"
                ) from None
            log.warning("HTTP port %d is taken; the dashboard uses a free port instead", port)
            return await self._listen(0)
        return int(self._runner.addresses[-1][1])  # this site's: the bound port

    def _tls(self) -> ssl.SSLContext | None:
        c = self._config
        if not c.tls_cert:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(c.tls_cert, c.tls_key)
        if c.tls_client_ca:
            context.load_verify_locations(c.tls_client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    async def _prometheus(self, http: web.Request) -> web.Response:
        if self._metrics is None:
            return error("UNIMPLEMENTED", "no metrics on this server", 501)
        return web.Response(body=self._metrics(), headers={"Content-Type": _PROMETHEUS})

    async def _file(self, http: web.Request) -> web.StreamResponse:
        """A built file, else the single-page app's index (it routes in the browser)."""
        tail = http.match_info["tail"]
        if tail.startswith("api/"):
            return error("NOT_FOUND", f"no API route {http.path}", 404)
        wanted = (STATIC / tail).resolve()
        if tail and wanted.is_relative_to(STATIC) and wanted.is_file():
            cache = "public, max-age=31536000, immutable" if tail.startswith("assets/") else ""
            return web.FileResponse(wanted, headers={"Cache-Control": cache or "no-cache"})
        index = STATIC / "index.html"
        if not index.is_file():
            return web.Response(text=_NOT_BUILT, content_type="text/html")
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def stop(self) -> None:
        """End event streams, close the port and the socket."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._channel is not None:
            await self._channel.close()
        shutil.rmtree(self._folder, ignore_errors=True)
