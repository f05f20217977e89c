"""argparse types of the ``dwe`` flags: durations and sizes."""

from __future__ import annotations

import argparse

from dwe.common.durations import parse_duration
from dwe.common.sizes import parse_size

__all__ = ["duration", "size"]


def duration(text: str) -> float:
    """Seconds of ``7d``, ``12h``, ``30m``, ``1h30m`` or a bare number."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def size(text: str) -> int:
    """Bytes of ``4MiB``, ``512K`` or a bare number."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
