"""TLS settings of a client or an agent: a CA to trust, and a certificate and key for mTLS.

Every Python entry point (the typed clients, the guide's engine, the agent SDK and the
CLI) takes the same three files, as arguments or as the ``DWE_TLS_CA``,
``DWE_TLS_CERT`` and ``DWE_TLS_KEY`` variables. With none of them set, channels are
plaintext (the server's default on 127.0.0.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

__all__ = ["TlsFiles", "bearer", "open_channel"]


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files: ``ca`` to verify the server (empty: the system's roots), and
    ``cert``/``key`` to present a client certificate (mTLS)."""

    ca: str = ""
    cert: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        if bool(self.cert) != bool(self.key):
            raise ValueError("a TLS client certificate needs its key, and a key its certificate")

    @classmethod
    def from_env(cls) -> TlsFiles | None:
        """From ``DWE_TLS_CA``/``DWE_TLS_CERT``/``DWE_TLS_KEY``; None when none is set."""
        files = {k: os.environ.get(f"DWE_TLS_{k.upper()}", "") for k in ("ca", "cert", "key")}
        return cls(**files) if any(files.values()) else None

    def credentials(self) -> grpc.ChannelCredentials:
        """Channel credentials that verify the server and, with a certificate, present it."""

        def read(path: str) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca),
            private_key=read(self.key),
            certificate_chain=read(self.cert),
        )


def resolve(tls: TlsFiles | bool | None) -> TlsFiles | None:
    """``tls`` as given; True means the environment's (or system roots); None: the
    environment's when it sets any, else plaintext; False: plaintext."""
    if tls is False:
        return None
    if tls is None:
        return TlsFiles.from_env()
    if tls is True:
        return TlsFiles.from_env() or TlsFiles()
    return tls


def open_channel(
    target: str, tls: TlsFiles | None, options: list[tuple[str, Any]], aio: bool = True
) -> Any:
    """A ``grpc.aio`` (or blocking) channel to ``target``, secure when ``tls`` is set."""
    module: Any = grpc.aio if aio else grpc
    if tls is None:
        return module.insecure_channel(target, options=options)
    return module.secure_channel(target, tls.credentials(), options=options)


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``token`` (None: ``DWE_TOKEN`` when set); empty without one."""
    value = os.environ.get("DWE_TOKEN", "") if token is None else token
    return (("authorization", f"Bearer {value}"),) if value else ()
