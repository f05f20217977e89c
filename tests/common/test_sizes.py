"""Sizes as people write them, and the server's pair of size limits."""

from __future__ import annotations

import pytest

from dwe.common.sizes import parse_size
from dwe.server.config import ServerConfig

from ..support.procs import run_cli


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4MiB", 4 * 1024 * 1024),
        ("4M", 4 * 1024 * 1024),
        ("4 mb", 4 * 1024 * 1024),
        ("512k", 512 * 1024),
        ("1G", 1024**3),
        ("1.5M", 3 * 512 * 1024),
        ("1048576", 1048576),
        (" 10B ", 10),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1", "4T", "M", "1.5", "0.3k"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"size|whole number"):
        parse_size(text)


def test_size_variables_and_their_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWE_MAX_MESSAGE_BYTES", "8MiB")
    monkeypatch.setenv("DWE_MAX_PAYLOAD_BYTES", "6M")
    config = ServerConfig.from_env()
    assert (config.max_message_bytes, config.max_payload_bytes) == (8 << 20, 6 << 20)
    with pytest.raises(ValueError, match="max_payload_bytes must be from 1 to"):
        ServerConfig(max_payload_bytes=4 << 20)  # no room left for the envelope
    with pytest.raises(ValueError, match="max_message_bytes must be from 262144"):
        ServerConfig(max_message_bytes=1000, max_payload_bytes=10)
    monkeypatch.setenv("DWE_MAX_PAYLOAD_BYTES", "lots")
    with pytest.raises(ValueError, match="DWE_MAX_PAYLOAD_BYTES: not a size"):
        ServerConfig.from_env()


async def test_the_server_command_refuses_limits_that_clash() -> None:
    result = await run_cli("server", "--port", "0", "--max-payload-bytes", "5M")
    assert result.code != 0
    assert "max_payload_bytes must be from 1 to" in result.err
    assert "Traceback" not in result.err
