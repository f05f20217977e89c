"""Handler exceptions -> ErrorInfo as a table."""

import pytest

from dwe.agent_sdk import NonRetryableError
from dwe.agent_sdk.errors import error_info


class BadInput(NonRetryableError):
    pass


@pytest.mark.parametrize(
    ("exc", "message", "kind", "retryable"),
    [
        (ValueError("boom"), "boom", "ValueError", True),
        (KeyError("k"), "'k'", "KeyError", True),
        (RuntimeError(), "RuntimeError", "RuntimeError", True),  # empty text -> class name
        (TimeoutError("slow"), "slow", "TimeoutError", True),
        (NonRetryableError("fatal"), "fatal", "NonRetryableError", False),
        (BadInput("no account"), "no account", "BadInput", False),  # subclasses too
    ],
)
def test_error_info_table(exc: Exception, message: str, kind: str, retryable: bool) -> None:
    info = error_info(exc)
    assert (info.message, info.type, info.retryable) == (message, kind, retryable)
