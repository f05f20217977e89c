"""The security options of ``dwe server``: TLS, auth and the limits per token."""

from __future__ import annotations

import argparse


def add_security_options(p: argparse.ArgumentParser) -> None:
    """TLS, auth, per-token limits, and plaintext beyond loopback."""
    _add_tls(p)
    _add_auth(p)


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
