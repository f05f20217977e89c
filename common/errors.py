"""Exceptions of dwe's Python packages, one per gRPC status code.

Callers of the clients never see ``grpc.RpcError``: every RPC goes through
:func:`translate_errors`, the one place where a gRPC status becomes one of the
classes below. The spec builder and the enums raise ``ValidationError`` too, on
the client and in the server alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

__all__ = [
    "AlreadyExistsError",
    "DeadlineExceededError",
    "DweError",
    "FailedPreconditionError",
    "InternalError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "RpcCancelledError",
    "UnauthenticatedError",
    "UnavailableError",
    "ValidationError",
    "from_rpc_error",
    "from_status",
    "translate_errors",
]


class DweError(Exception):
    """Base class of every error raised by the dwe clients.

    Attributes:
        code: The gRPC status code behind the error (``grpc.StatusCode.UNKNOWN``
            for errors raised client-side without a status).
        details: The server's message, or the client's own.
    """

    default_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str, *, code: grpc.StatusCode | None = None) -> None:
        super().__init__(details)
        self.details = details
        self.code = code if code is not None else self.default_code

    def __str__(self) -> str:
        return self.details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.details!r}, code={self.code.name})"


class ValidationError(DweError, ValueError):
    """The request was malformed (INVALID_ARGUMENT); nothing was stored."""

    default_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(DweError, LookupError):
    """An id named in the request does not exist (NOT_FOUND)."""

    default_code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(DweError):
    """The entity already exists (ALREADY_EXISTS)."""

    default_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPreconditionError(DweError):
    """The workflow's state does not allow the operation (FAILED_PRECONDITION)."""

    default_code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhaustedError(DweError):
    """A limit was hit (RESOURCE_EXHAUSTED); retry later or send less."""

    default_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnavailableError(DweError, ConnectionError):
    """The server could not be reached or is shutting down (UNAVAILABLE)."""

    default_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceededError(DweError, TimeoutError):
    """The call did not finish within its deadline (DEADLINE_EXCEEDED)."""

    default_code = grpc.StatusCode.DEADLINE_EXCEEDED


class RpcCancelledError(DweError):
    """The call was cancelled (CANCELLED) by the server or another party.

    Not to be confused with ``asyncio.CancelledError``, which the clients let
    through untouched.
    """

    default_code = grpc.StatusCode.CANCELLED


class PermissionDeniedError(DweError):
    """The caller may not do this (PERMISSION_DENIED or UNAUTHENTICATED)."""

    default_code = grpc.StatusCode.PERMISSION_DENIED


class UnauthenticatedError(PermissionDeniedError):
    """No valid identity: the token is missing, expired, forged or revoked, or the
    client certificate is unknown (UNAUTHENTICATED)."""

    default_code = grpc.StatusCode.UNAUTHENTICATED


class InternalError(DweError):
    """The server failed (INTERNAL, UNKNOWN, DATA_LOSS, UNIMPLEMENTED, ...)."""

    default_code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[DweError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: ValidationError,
    grpc.StatusCode.OUT_OF_RANGE: ValidationError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: RpcCancelledError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}


#: Transport failures a mismatch of TLS settings between client and server produces.
_CONNECT_FAILURES = ("failed to connect", "Socket closed", "handshake", "Handshake")


def from_rpc_error(err: grpc.RpcError, *, target: str | None = None, hint: str = "") -> DweError:
    """Turns a gRPC error (sync or aio) into the matching :class:`DweError`.

    Args:
        err: The error raised by a grpc call.
        target: The server address, mentioned in UNAVAILABLE messages.
        hint: Added to an UNAVAILABLE message when the connection itself failed
            (for example what to check about TLS).

    Returns:
        The dwe exception to raise in its place.
    """
    code_fn = getattr(err, "code", None)
    details_fn = getattr(err, "details", None)
    code = code_fn() if callable(code_fn) else None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    details = (details_fn() if callable(details_fn) else None) or str(err) or code.name
    if code is grpc.StatusCode.UNAVAILABLE and target:
        details = f"dwe server at {target} is unavailable: {details}"
        if hint and any(s in details for s in _CONNECT_FAILURES):
            details = f"{details} ({hint})"
    cls = _BY_CODE.get(code, InternalError)
    return cls(details, code=code)


def from_status(code: int, details: str) -> DweError:
    """The :class:`DweError` of a status given as its number (a batch item's error)."""
    status = _BY_NUMBER.get(code, grpc.StatusCode.UNKNOWN)
    return _BY_CODE.get(status, InternalError)(details, code=status)


_BY_NUMBER = {s.value[0]: s for s in grpc.StatusCode}


@contextmanager
def translate_errors(target: str | None = None, hint: str = "") -> Iterator[None]:
    """Re-raises any ``grpc.RpcError`` raised inside the block as a :class:`DweError`.

    Works around ``await`` expressions and stream iteration alike, e.g.
    ``with translate_errors(): await stub.GetWorkflowStatus(req)``.

    Args:
        target: The server address, mentioned in UNAVAILABLE messages.
        hint: Added to an UNAVAILABLE message when the connection itself failed.
    """
    try:
        yield
    except grpc.RpcError as err:
        raise from_rpc_error(err, target=target, hint=hint) from err
