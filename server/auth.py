"""Who may call what: bearer tokens (JWTs the server's key signed) and roles.

A token arrives in the ``authorization`` metadata as ``Bearer <jwt>``. It is signed
with Ed25519 (``--auth-key``: a PEM key; the private key also mints) or HS256
(``--auth-secret``: a file holding the secret). Its claims: ``sub`` (who), ``role``,
``ns`` (namespaces), for agents ``agent_id`` and ``caps``, and ``iat``/``exp``
(``nbf`` optional). Roles, each including the one before it except ``agent``:

- viewer: read (status, lists, watching, intents analysis, server info);
- operator: also create, start, execute and cancel workflows, and StartIntent;
- admin: everything, including the registry, metrics and pruning;
- agent: ``AgentService.Connect`` only, as the agent id and capabilities it grants.

Health checks and reflection need no token. With mTLS, a client certificate may stand
in for a token: ``--auth-cert-map`` names, by the certificate subject's common name, the
claims such a caller gets (``CertificateMap``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ROLES = ("viewer", "operator", "agent", "admin")
ISSUER = "dwe"
#: Longest ``authorization`` value read (bytes): anything longer is refused unread.
MAX_TOKEN_BYTES = 8192
#: Tokens whose signature was checked, kept to skip the check on their next calls (an
#: Ed25519 check costs about 0.1 ms; a client sends the same token with every call).
VERIFIED_CACHE = 1024

_VIEWER = frozenset(
    {
        "GetWorkflowStatus",
        "ListWorkflows",
        "WatchWorkflow",
        "WatchEvents",
        "AnalyzeIntent",
        "GetServerInfo",
    }
)
_OPERATOR = frozenset(
    {
        "CreateWorkflow",
        "CreateWorkflows",
        "StartWorkflow",
        "ExecuteWorkflow",
        "ExecuteWorkflows",
        "CancelWorkflow",
        "StartIntent",
    }
)
_AGENT = frozenset({"Connect"})
_ADMIN = frozenset({"RegisterAgent", "ListAgents", "GetEngineMetrics", "PruneWorkflows"})
_GRANTS = {
    "viewer": _VIEWER,
    "operator": _VIEWER | _OPERATOR,
    "agent": _AGENT,
    "admin": _VIEWER | _OPERATOR | _AGENT | _ADMIN,
}


class AuthError(Exception):
    """The token is missing, malformed, forged, expired or not yet valid."""


def needed_role(method: str) -> str:
    """The least role that may call ``method`` (a method name, e.g. ``CreateWorkflow``)."""
    for role in ("viewer", "operator", "agent", "admin"):
        if method in _GRANTS[role]:
            return role
    return "admin"


def allowed(role: str, method: str) -> bool:
    return method in _GRANTS.get(role, frozenset())


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says."""

    subject: str
    role: str
    namespaces: tuple[str, ...] = ("default",)
    agent_id: str = ""
    capabilities: tuple[str, ...] = ()
    expires: float = 0.0
    token_id: str = ""  # the ``jti`` claim, for revocation
    extra: dict[str, Any] = field(default_factory=dict)


class TokenKeys:
    """Verifies tokens, and mints them when it holds a private key or the secret."""

    def __init__(
        self, key_file: str = "", secret_file: str = "", deny_file: str = "", cert_map: str = ""
    ) -> None:
        self.deny_file = deny_file
        self.certificates = CertificateMap(cert_map) if cert_map else None
        self._denied: frozenset[str] = frozenset()
        self.reload_denied()
        if bool(key_file) == bool(secret_file):
            raise ValueError("auth needs exactly one of --auth-key and --auth-secret")
        self._signing: Any = None
        self._verifying: Any = None
        self._verified: dict[str, Claims] = {}
        if secret_file:
            secret = Path(secret_file).read_bytes().strip()
            if len(secret) < 32:
                raise ValueError("--auth-secret: the secret must be at least 32 bytes")
            self.algorithm, self._verifying, self._signing = "HS256", secret, secret
            return
        key = _load_ed25519(Path(key_file).read_bytes())
        self.algorithm = "EdDSA"
        if isinstance(key, Ed25519PrivateKey):
            self._signing, self._verifying = key, key.public_key()
        else:
            self._verifying = key

    def verify(self, authorization: str) -> Claims:
        """The claims of ``Bearer <jwt>``; AuthError saying why when it is not valid.

        A token verified before is not checked again until it expires (its signature
        cannot have changed); the cache is bounded and forgets the oldest first.
        """
        known = self._verified.get(authorization)
        if known is not None:
            if known.expires > time.time():
                return self._not_revoked(known)
            del self._verified[authorization]
        claims = self._not_revoked(self._verify(authorization))
        if len(self._verified) >= VERIFIED_CACHE:
            del self._verified[next(iter(self._verified))]
        self._verified[authorization] = claims
        return claims

    def for_certificate(self, common_name: str) -> Claims:
        """The claims the certificate map gives a client certificate's common name."""
        if self.certificates is None:
            raise AuthError("no token: send 'authorization: Bearer <token>'")
        return self._not_revoked(self.certificates.claims(common_name))

    def reload_denied(self) -> int:
        """Read the deny-list again (``--auth-deny``): one token id (``jti``) or
        ``sub:SUBJECT`` per line, ``#`` comments; returns how many entries it has."""
        if not self.deny_file:
            return 0
        lines = Path(self.deny_file).read_text().splitlines()
        entries = [line.split("#", 1)[0].strip() for line in lines]
        self._denied = frozenset(e for e in entries if e)
        return len(self._denied)

    def _not_revoked(self, claims: Claims) -> Claims:
        denied = self._denied
        if denied and (claims.token_id in denied or f"sub:{claims.subject}" in denied):
            raise AuthError("token revoked")
        return claims

    def _verify(self, authorization: str) -> Claims:
        if not authorization:
            raise AuthError("no token: send 'authorization: Bearer <token>'")
        if len(authorization) > MAX_TOKEN_BYTES:
            raise AuthError(f"token longer than {MAX_TOKEN_BYTES} bytes")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the authorization metadata must be 'Bearer <token>'")
        try:
            raw = jwt.decode(
                token.strip(),
                self._verifying,
                algorithms=[self.algorithm],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not valid yet") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {str(exc)[:200]}") from None
        return _claims(raw)

    def mint(self, claims: Claims, ttl: float) -> str:
        """A signed token for ``claims``, valid for ``ttl`` seconds."""
        if self._signing is None:
            raise ValueError("minting needs the private key (or the secret), not a public key")
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "sub": claims.subject,
            "role": claims.role,
            "ns": list(claims.namespaces),
            "iat": now,
            "exp": now + int(ttl),
            "jti": uuid.uuid4().hex,
        }
        if claims.agent_id:
            body["agent_id"] = claims.agent_id
        if claims.capabilities:
            body["caps"] = list(claims.capabilities)
        return jwt.encode(body, self._signing, algorithm=self.algorithm)


def _load_ed25519(pem: bytes) -> Ed25519PrivateKey | Ed25519PublicKey:
    try:
        key: Any = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        raise ValueError("--auth-key must be an Ed25519 key (openssl genpkey -algorithm ed25519)")
    return key


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AuthError(f"invalid token: claim {name!r} must be a list of strings")
    return tuple(value)


def _claims(raw: dict[str, Any]) -> Claims:
    role = raw.get("role")
    if role not in ROLES:
        raise AuthError(f"invalid token: unknown role {str(role)[:40]!r}")
    subject, agent_id = raw.get("sub"), raw.get("agent_id", "")
    if not isinstance(subject, str) or not isinstance(agent_id, str):
        raise AuthError("invalid token: 'sub' and 'agent_id' must be strings")
    return Claims(
        subject=subject,
        role=role,
        namespaces=_strings(raw.get("ns"), "ns") or ("default",),
        agent_id=agent_id,
        capabilities=_strings(raw.get("caps"), "caps"),
        expires=float(raw["exp"]),
        token_id=str(raw.get("jti", ""))[:100],
    )


class CertificateMap:
    """Client certificates that stand in for tokens (``--auth-cert-map``, mTLS only).

    The file is a JSON object keyed by the certificate subject's common name (CN); each
    value holds the claims a token would: ``role``, ``ns``, and for agents ``agent_id``
    and ``caps``. The subject of such a caller is ``cert:<CN>``, for logs, limits and
    the deny-list (``sub:cert:<CN>``).
    """

    def __init__(self, path: str) -> None:
        try:
            raw = json.loads(Path(path).read_text())
            if not isinstance(raw, dict):
                raise ValueError("the top level must be an object keyed by common name")
            self._claims = {str(cn): _mapped(str(cn), entry) for cn, entry in raw.items()}
        except (ValueError, AuthError) as exc:
            raise ValueError(f"--auth-cert-map {path}: {exc}") from None

    def claims(self, common_name: str) -> Claims:
        if not common_name:
            raise AuthError("no token, and no client certificate the certificate map knows")
        found = self._claims.get(common_name)
        if found is None:
            raise AuthError(f"the client certificate {common_name[:80]!r} is not in the map")
        return found

    def __len__(self) -> int:
        return len(self._claims)


def _mapped(common_name: str, entry: Any) -> Claims:
    if not isinstance(entry, dict):
        raise ValueError(f"{common_name!r}: each entry must be an object")
    raw = {**entry, "sub": f"cert:{common_name}", "exp": float("inf")}
    return _claims(raw)
