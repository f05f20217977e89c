"""Durations as people write them: ``7d``, ``12h``, ``30m``, ``1h30m``, ``90`` (pure, stdlib only).

The server's ``--retention`` and ``--prune-interval`` and the CLI's
``dwe admin prune --older-than`` read them with :func:`parse_duration`.
"""

from __future__ import annotations

import re

__all__ = ["MAX_DURATION_SECONDS", "format_duration", "parse_duration"]

#: Seconds per unit: s, m, h, d, w.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: The longest duration accepted: 100 years of 365.25 days.
MAX_DURATION_SECONDS = 100 * 365.25 * 86400

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(text: str) -> float:
    """Seconds of a duration: a number with a unit, several of them, or a bare number.

    ``"7d"`` is 604,800 s, ``"1h30m"`` 5,400 s, ``"1.5h"`` 5,400 s, ``"90"``
    (no unit) 90 s and ``"0"`` 0 (which ``--retention`` reads as "keep
    everything"). Units: ``s``, ``m``, ``h``, ``d``, ``w``; case and the
    surrounding spaces do not matter.

    Raises:
        ValueError: Empty, negative, unknown unit, or longer than 100 years.
    """
    s = text.strip().lower()
    if _NUMBER.fullmatch(s):
        seconds = float(s)
    elif _WHOLE.fullmatch(s):
        seconds = sum(float(n) * UNITS[u] for n, u in _PART.findall(s))
    else:
        raise ValueError(
            f"{text!r} is not a duration: write a number with a unit (s, m, h, d, w),"
            " such as 30m, 12h, 7d or 1h30m, or a number of seconds"
        )
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"{text!r} is longer than the maximum of 100 years")
    return seconds


def format_duration(seconds: float) -> str:
    """A form ``parse_duration`` reads back, in days at most: 604800 -> ``"7d"``.

    A duration with a fraction of a second is given in seconds (``"0.5s"``).
    """
    if seconds != int(seconds) or seconds < 0:
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    out = []
    for unit in ("d", "h", "m", "s"):
        n, rest = divmod(rest, UNITS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
