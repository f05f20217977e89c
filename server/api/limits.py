"""What error messages may repeat of their input: each quoted value and the whole message.

A status message travels in the ``grpc-message`` trailer, percent-encoded, and
gRPC refuses trailers over 16 KiB (warning from 8 KiB): a message that
repeated a 20 KB id would reach the caller as "metadata size exceeds hard
limit" instead of the error. So every message that quotes input quotes it
through :func:`quote` or :func:`clip`, and :func:`bounded` caps the whole
message (``errors.status_for`` applies it to every status it maps).
"""

from __future__ import annotations

#: Characters of an input value an error message repeats; the rest is counted.
QUOTE_CHARS = 64
#: Bytes a status message may take in its trailer, percent-encoded (ASCII
#: letters take one byte, anything else three per UTF-8 byte).
MAX_MESSAGE_BYTES = 4096
#: Steps of a dependency cycle named in full at either end of a long cycle.
CYCLE_ENDS = 6


def clip(value: str, limit: int = QUOTE_CHARS) -> str:
    """``value`` itself, or its first ``limit`` characters and how many were left out."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…(+{len(value) - limit} chars)"


def quote(value: str, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` of at most ``limit`` characters of it: ``'abc'`` or ``'abc'…(+N chars)``."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}…(+{len(value) - limit} chars)"


def cycle_path(cycle: list[str]) -> str:
    """``A -> B -> A`` with each id clipped; a long cycle keeps both ends and counts the rest."""
    names = [clip(step_id) for step_id in cycle]
    if len(names) > 2 * CYCLE_ENDS + 1:
        hidden = len(names) - 2 * CYCLE_ENDS
        names = [*names[:CYCLE_ENDS], f"…({hidden} more steps)…", *names[-CYCLE_ENDS:]]
    return " -> ".join(names)


def _encoded_size(char: str) -> int:
    return 1 if " " <= char <= "~" and char != "%" else 3 * len(char.encode("utf-8", "replace"))


def bounded(message: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """``message`` cut so that, percent-encoded, it fits in ``limit`` bytes."""
    if len(message) * 12 <= limit:  # no character encodes to more than 12 bytes
        return message
    size = 0
    for i, char in enumerate(message):
        size += _encoded_size(char)
        if size > limit - 64:  # room for the marker
            return f"{message[:i]}…(message cut, {len(message) - i} more chars)"
    return message
