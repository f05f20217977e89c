"""Transport security of the server: TLS and mTLS credentials, and where plaintext may listen.

Auth may be off only on loopback (DESIGN "Security"): a server asked to listen on any
other address without TLS refuses to start, unless the operator says ``--insecure``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

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


def server_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured PEM files (None: plaintext). With a client CA,
    every client must present a certificate that CA signed."""
    if not config.tls_cert:
        return None
    pair = (Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())
    client_ca = Path(config.tls_client_ca).read_bytes() if config.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
