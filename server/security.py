"""Transport security of the server: TLS and mTLS credentials, and where plaintext may listen.

Auth may be off only on loopback (DESIGN "Security"): a server asked to listen on any
other address without TLS refuses to start, unless the operator says ``--insecure``.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import grpc

from .config import ServerConfig

LOOPBACK_NAMES = ("localhost", "ip6-localhost")


class InsecureBind(RuntimeError):
    """Plaintext beyond loopback, without ``--insecure``."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0, :: and other names."""
    name = host.strip("[]")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Certificates:
    """The server's PEM files, read again after ``reload`` (SIGHUP): new connections
    then use the new certificate and client CA; open ones keep theirs."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._pending = False
        self.first = self.read()  # fails at start, not at the first handshake

    def read(self) -> Any:
        c = self._config
        pair = (Path(c.tls_key).read_bytes(), Path(c.tls_cert).read_bytes())
        client_ca = Path(c.tls_client_ca).read_bytes() if c.tls_client_ca else None
        return grpc.ssl_server_certificate_configuration([pair], root_certificates=client_ca)

    def reload(self) -> None:
        self.read()  # a bad file is reported now; the old certificate stays meanwhile
        self._pending = True

    def fetch(self) -> Any:
        """Called by gRPC before each handshake: the new configuration once, else None."""
        if not self._pending:
            return None
        self._pending = False
        return self.read()


def server_credentials(
    config: ServerConfig,
) -> tuple[grpc.ServerCredentials | None, Certificates | None]:
    """TLS credentials from the configured PEM files, reloadable (None: plaintext). With
    a client CA, every client must present a certificate that CA signed."""
    if not config.tls_cert:
        return None, None
    certificates = Certificates(config)
    credentials = grpc.dynamic_ssl_server_credentials(
        certificates.first,
        certificates.fetch,
        require_client_authentication=bool(config.tls_client_ca),
    )
    return credentials, certificates


def peer_credentials(config: ServerConfig) -> grpc.ChannelCredentials | None:
    """How a standby calls the owner: over TLS when this server serves TLS, trusting
    the peer CA (else the client CA, else the system's roots), and with mTLS showing
    its own certificate, which must then allow client authentication too. None:
    plaintext."""
    if not config.tls_cert:
        return None
    roots_file = config.tls_peer_ca or config.tls_client_ca
    roots = Path(roots_file).read_bytes() if roots_file else None
    if not config.tls_client_ca:
        return grpc.ssl_channel_credentials(root_certificates=roots)
    return grpc.ssl_channel_credentials(
        root_certificates=roots,
        private_key=Path(config.tls_key).read_bytes(),
        certificate_chain=Path(config.tls_cert).read_bytes(),
    )


def advertised(config: ServerConfig, port: int) -> str:
    """Where the other replicas reach this one: --advertise, else host:port, with this
    machine's name in place of a wildcard host (0.0.0.0 or ::)."""
    if config.advertise:
        return config.advertise
    host = config.host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        return f"{socket.getfqdn()}:{port}"
    return f"{config.host}:{port}"
