"""Which namespaces a caller may see and write, from its token (or all, with auth off).

Workflows, agents, events and registry entries each belong to one namespace. A token's
``ns`` claim lists the namespaces it may use (``*``: every one); the first is where its
creates go when a request names none. With auth off every caller sees everything and
writes to ``default``.

A request that names a namespace the caller may not use gets PERMISSION_DENIED naming
it. A workflow of another namespace looked up by id is NOT_FOUND, exactly as one that
does not exist, so ids do not reveal what other namespaces hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import grpc

from dwe.common import namespaces
from dwe.common.namespaces import ALL

from ..auth import AuthError, Claims, TokenKeys
from ..engine.model import DEFAULT_NAMESPACE
from .guard import claims_of
from .limits import quote


class NamespaceDenied(PermissionError):
    """The caller named a namespace its token does not grant (PERMISSION_DENIED)."""


class BadNamespace(ValueError):
    """A namespace name that breaks the naming rule (INVALID_ARGUMENT)."""


def check_name(name: str, where: str = "namespace") -> str:
    """``name`` when it is a valid namespace name; BadNamespace saying why otherwise."""
    try:
        return namespaces.check(name)
    except ValueError:
        raise BadNamespace(
            f"{where}: {quote(name)} is not a namespace name ({namespaces.RULE})"
        ) from None


@dataclass(frozen=True, slots=True)
class Scope:
    """What one caller may see: ``visible`` namespaces (None: all), creating in ``home``."""

    home: str = DEFAULT_NAMESPACE
    visible: frozenset[str] | None = None
    subject: str = ""
    role: str = ""

    @property
    def unrestricted(self) -> bool:
        return self.visible is None

    def sees(self, namespace: str) -> bool:
        return self.visible is None or namespace in self.visible

    def target(self, requested: str, where: str = "namespace") -> str:
        """The namespace a write goes to: ``requested``, or home when it is empty."""
        if not requested:
            return self.home
        self._allow(check_name(requested, where))
        return requested

    def among(self, requested: Iterable[str], where: str = "namespaces") -> frozenset[str] | None:
        """The namespaces a read covers: the requested ones (each must be visible), or
        every visible one (None: all) when none is requested."""
        names = frozenset(check_name(n, where) for n in requested)
        if not names:
            return self.visible
        for name in sorted(names):
            self._allow(name)
        return names

    def listed(self) -> list[str]:
        """The visible namespaces for display: [ALL] when unrestricted."""
        return [ALL] if self.visible is None else sorted(self.visible)

    def _allow(self, name: str) -> None:
        if not self.sees(name):
            who = f"the token of {quote(self.subject)}" if self.subject else "the caller"
            raise NamespaceDenied(
                f"{who} may not use namespace {quote(name)}"
                f" (it may use: {', '.join(self.listed())})"
            )


#: The scope of every caller when auth is off.
OPEN = Scope()


def scope_of_claims(claims: Claims) -> Scope:
    """A token's scope: its namespaces, or every one with ``*``."""
    names = claims.namespaces or (DEFAULT_NAMESPACE,)
    home = next((n for n in names if n != ALL), DEFAULT_NAMESPACE)
    visible = None if ALL in names else frozenset(names)
    return Scope(home, visible, claims.subject, claims.role)


class Scopes:
    """Resolves the scope of a call from its token (the guard has checked it already)."""

    def __init__(self, keys: TokenKeys | None) -> None:
        self._keys = keys

    @property
    def enabled(self) -> bool:
        return self._keys is not None

    async def of(self, context: grpc.aio.ServicerContext) -> Scope:
        """The caller's scope; UNAUTHENTICATED if its token stopped being valid since
        the guard looked (it expired or was revoked in between)."""
        if self._keys is None:
            return OPEN
        try:
            claims = claims_of(self._keys, context)
        except AuthError as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            raise  # unreachable: abort raises
        return scope_of_claims(claims)
