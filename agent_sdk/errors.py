"""Exceptions handlers raise, and how they become an ``ErrorInfo``."""

from __future__ import annotations

from dwe.v1 import common_pb2


class NonRetryableError(Exception):
    """Raise from a handler to fail the step at once, whatever retries remain.

    Any other exception is reported as retryable, so the server may run the step
    again according to its retry policy.
    """


class PayloadTooLarge(NonRetryableError):
    """An output or progress payload over the server's payload limit (from Welcome).

    Raised by ``Task.stream``/``Task.emit``; an output over the limit fails its
    attempt with this type, which the server does not retry.
    """


def too_large_message(what: str, size: int, limit: int) -> str:
    """Says what, how big, and which server setting bounds it."""
    return (
        f"{what} is {size} bytes, over the server's payload limit of {limit} bytes"
        " (its --max-payload-bytes)"
    )


class AgentConfigError(ValueError):
    """The agent definition is invalid (e.g. no capabilities and no handlers)."""


def error_info(exc: BaseException) -> common_pb2.ErrorInfo:
    """Map a handler exception to the ``ErrorInfo`` sent in a ``StepResult``.

    Args:
        exc: The exception the handler raised.

    Returns:
        ``ErrorInfo`` with ``message=str(exc)`` (the class name when the text is
        empty), ``type`` the exception class name and ``retryable`` False only
        for :class:`NonRetryableError` and its subclasses.
    """
    kind = type(exc).__name__
    return common_pb2.ErrorInfo(
        message=str(exc) or kind,
        type=kind,
        retryable=not isinstance(exc, NonRetryableError),
    )
