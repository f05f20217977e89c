"""``BENCH_SECURE=1``: the benchmark with TLS and bearer tokens on, to measure what they cost.

Makes a CA, a server certificate and an Ed25519 token key in the run's temporary
folder, and puts the CA and an admin token in the environment, so that the client
and the agent processes use them (``DWE_TLS_CA``, ``DWE_TOKEN``).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dwe.server.auth import Claims, TokenKeys
from tests.support.certs import Authority


def secure(folder: Path) -> tuple[str, ...]:
    """The ``dwe server`` flags of a TLS + auth server; sets this process's DWE_TLS_CA
    and DWE_TOKEN for the client and the agents it starts."""
    ca = Authority(folder / "ca")
    cert = ca.issue("server", server=True)
    key_file = folder / "auth.pem"
    key_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    token = TokenKeys(str(key_file)).mint(Claims("bench", "admin"), 3600)
    os.environ["DWE_TLS_CA"] = ca.ca
    os.environ["DWE_TOKEN"] = token
    return ("--tls-cert", cert.cert, "--tls-key", cert.key, "--auth-key", str(key_file))
