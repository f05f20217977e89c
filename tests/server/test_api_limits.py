"""The helpers that keep quoted input and whole status messages bounded."""

from __future__ import annotations

from urllib.parse import quote as percent

from dwe.server.api.limits import MAX_MESSAGE_BYTES, bounded, clip, cycle_path, quote


def _trailer_bytes(message: str) -> int:
    """Size of the message as gRPC sends it: percent-encoded outside printable ASCII."""
    return len(percent(message, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~"))


def test_short_values_are_quoted_whole() -> None:
    assert quote("analyze") == "'analyze'"
    assert clip("analyze") == "analyze"


def test_long_values_keep_64_characters_and_count_the_rest() -> None:
    assert quote("x" * 100) == "'" + "x" * 64 + "'…(+36 chars)"
    assert clip("y" * 1000, 10) == "yyyyyyyyyy…(+990 chars)"


def test_long_cycles_keep_both_ends() -> None:
    assert cycle_path(["A", "B", "A"]) == "A -> B -> A"
    text = cycle_path([str(i) for i in range(100)] + ["0"])
    assert text.startswith("0 -> 1 -> 2 -> 3 -> 4 -> 5 -> …(89 more steps)… -> 95")
    assert text.endswith("-> 99 -> 0")


def test_bounded_messages_fit_a_trailer_whatever_the_characters() -> None:
    for char in ("a", "%", "\u00e9", "\u20ac", "\U0001f600", "\n"):
        message = bounded("prefix: " + char * 50_000)
        assert message.startswith("prefix: ")
        assert "message cut" in message
        assert _trailer_bytes(message) <= MAX_MESSAGE_BYTES, char
    assert bounded("short message") == "short message"
