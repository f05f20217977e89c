"""``dwe token create``: mint a bearer token with the server's key, offline."""

from __future__ import annotations

import argparse
import sys

from dwe.cli.namespaces import token_namespaces
from dwe.clients.errors import ValidationError


def cmd_token_create(args: argparse.Namespace) -> int:
    """Print a token for ``--role`` signed with ``--key`` (Ed25519) or ``--secret`` (HS256)."""
    from dwe.server.auth import Claims, TokenKeys

    if args.role == "agent" and not args.agent_id:
        raise ValidationError("an agent token needs --agent-id (the id it may connect as)")
    caps = tuple(c.strip() for c in args.capabilities.split(",") if c.strip())
    subject = args.subject or (f"agent:{args.agent_id}" if args.agent_id else args.role)
    namespaces = token_namespaces(args.namespace)
    try:
        keys = TokenKeys(args.key, args.secret)
        token = keys.mint(Claims(subject, args.role, namespaces, args.agent_id, caps), args.ttl)
    except (ValueError, OSError) as err:
        raise ValidationError(str(err)) from err
    print(token, flush=True)
    claims = keys.verify(f"Bearer {token}")
    print(f"# token id {claims.token_id} (revoke: add it to the --auth-deny file)", file=sys.stderr)
    return 0
