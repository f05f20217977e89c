"""Sizes as people write them: ``4MiB``, ``512KiB``, ``8M``, ``1048576`` (pure, stdlib only).

The server's ``--max-message-bytes`` and ``--max-payload-bytes`` read them with
:func:`parse_size`.
"""

from __future__ import annotations

import re

__all__ = ["parse_size"]

#: Bytes per unit; K, M and G are read as their binary (Ki, Mi, Gi) values.
UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?")


def parse_size(text: str) -> int:
    """Bytes of a size: a bare number, or a number with K/M/G (KiB/MiB/GiB, KB/MB/GB).

    ``"4MiB"`` and ``"4M"`` are 4,194,304; ``"512k"`` is 524,288; case and
    spaces do not matter.

    Raises:
        ValueError: Empty, negative, a fraction of a byte or an unknown unit.
    """
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"not a size: {text!r} (use bytes, or a number with K, M or G)")
    value = float(match.group(1)) * UNITS[match.group(2)]
    if value != int(value):
        raise ValueError(f"not a whole number of bytes: {text!r}")
    return int(value)
