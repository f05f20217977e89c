"""gRPC status -> dwe exception mapping."""

from __future__ import annotations

import grpc
import pytest

from dwe.clients import errors as e


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str | None) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str | None:
        return self._details


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, e.ValidationError),
        (grpc.StatusCode.NOT_FOUND, e.NotFoundError),
        (grpc.StatusCode.ALREADY_EXISTS, e.AlreadyExistsError),
        (grpc.StatusCode.FAILED_PRECONDITION, e.FailedPreconditionError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, e.ResourceExhaustedError),
        (grpc.StatusCode.UNAVAILABLE, e.UnavailableError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, e.DeadlineExceededError),
        (grpc.StatusCode.CANCELLED, e.RpcCancelledError),
        (grpc.StatusCode.PERMISSION_DENIED, e.PermissionDeniedError),
        (grpc.StatusCode.UNAUTHENTICATED, e.UnauthenticatedError),
        (grpc.StatusCode.INTERNAL, e.InternalError),
        (grpc.StatusCode.UNKNOWN, e.InternalError),
        (grpc.StatusCode.UNIMPLEMENTED, e.InternalError),
    ],
)
def test_status_codes_map_to_classes(code: grpc.StatusCode, cls: type[e.DweError]) -> None:
    err = e.from_rpc_error(FakeRpcError(code, "step 'a': bad"))
    assert type(err) is cls
    assert isinstance(err, e.DweError)
    assert err.code is code
    assert err.details == str(err) == "step 'a': bad"


def test_translate_errors_replaces_grpc_errors() -> None:
    with pytest.raises(e.NotFoundError) as info, e.translate_errors():
        raise FakeRpcError(grpc.StatusCode.NOT_FOUND, "workflow x not found")
    assert isinstance(info.value.__cause__, grpc.RpcError)


def test_translate_errors_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), e.translate_errors():
        raise KeyError("x")


def test_unavailable_names_the_target() -> None:
    err = e.from_rpc_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "refused"), target="h:1")
    assert str(err) == "dwe server at h:1 is unavailable: refused"


def test_missing_details_fall_back_to_code_name() -> None:
    err = e.from_rpc_error(FakeRpcError(grpc.StatusCode.INTERNAL, None))
    assert err.details


def test_builtin_bases_let_callers_catch_broadly() -> None:
    assert issubclass(e.ValidationError, ValueError)
    assert issubclass(e.NotFoundError, LookupError)
    assert issubclass(e.UnavailableError, ConnectionError)
    assert e.ValidationError("x").code is grpc.StatusCode.INVALID_ARGUMENT
