"""The server's log set-up drops grpc's report of a caller that closed its stream."""

from __future__ import annotations

import logging

from dwe.server.logs import client_gone


class SendStatusFromServerOperation:  # named as grpc's operation object is
    pass


def _record(message: str, exc: BaseException | None) -> logging.LogRecord:
    info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("grpc._cython.cygrpc", logging.ERROR, "x", 1, message, (), info)


def test_a_caller_that_closed_its_stream_is_not_an_error() -> None:
    gone = RuntimeError(f'Failed "execute_batch": ({SendStatusFromServerOperation()},)')
    message = "ExecuteBatchError raised in core by servicer method [/dwe.v1.X/Y]"
    assert client_gone(_record(message, gone)) is False


def test_other_grpc_errors_are_kept() -> None:
    message = "ExecuteBatchError raised in core by servicer method [/dwe.v1.X/Y]"
    assert client_gone(_record(message, RuntimeError("SendMessageOperation"))) is True
    assert client_gone(_record("Unexpected error in servicer", None)) is True
