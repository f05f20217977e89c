"""``DWE_FAULTS_SECURE=1`` (``make faults-secure``): the whole fault suite with TLS and auth.

The server processes read their certificate and token key from DWE_SERVER_TLS_CERT,
DWE_SERVER_TLS_KEY and DWE_AUTH_KEY; the clients and agent processes their CA and an
admin token from DWE_TLS_CA and DWE_TOKEN. All of them are set here, once per session,
so every test of the suite runs unchanged over TLS with tokens.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dwe.server.auth import Claims, TokenKeys

from ..support.certs import Authority

SECURE = os.environ.get("DWE_FAULTS_SECURE") == "1"


@pytest.fixture(scope="session", autouse=True)
def secure_everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if not SECURE:
        yield
        return
    folder: Path = tmp_path_factory.mktemp("secure")
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
    token = TokenKeys(str(key_file)).mint(Claims("faults", "admin"), 4 * 3600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DWE_SERVER_TLS_CERT", cert.cert)
        patch.setenv("DWE_SERVER_TLS_KEY", cert.key)
        patch.setenv("DWE_AUTH_KEY", str(key_file))
        patch.setenv("DWE_TLS_CA", ca.ca)
        patch.setenv("DWE_TOKEN", token)
        yield


@pytest.fixture(scope="session", autouse=True)
def stores_on_postgres(request: pytest.FixtureRequest) -> None:
    """DWE_TEST_STORE=postgres: every fault cluster gets its own database on the
    session's PostgreSQL cluster."""
    from ..conftest import TEST_STORE
    from . import cluster

    if TEST_STORE == "postgres":
        cluster.STORES = request.getfixturevalue("pg_cluster")
