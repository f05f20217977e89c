"""parse_duration and format_duration as tables: --retention, --prune-interval, --older-than."""

from __future__ import annotations

import pytest

from dwe.common.durations import MAX_DURATION_SECONDS, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("0", 0.0, id="zero"),
        pytest.param("0s", 0.0, id="zero-seconds"),
        pytest.param("0d", 0.0, id="zero-days"),
        pytest.param("90", 90.0, id="bare-seconds"),
        pytest.param("2.5", 2.5, id="bare-fraction"),
        pytest.param("45s", 45.0, id="seconds"),
        pytest.param("30m", 1800.0, id="minutes"),
        pytest.param("12h", 43200.0, id="hours"),
        pytest.param("7d", 604800.0, id="days"),
        pytest.param("2w", 1209600.0, id="weeks"),
        pytest.param("1.5h", 5400.0, id="fractional-unit"),
        pytest.param("1h30m", 5400.0, id="compound"),
        pytest.param("1d12h30m15s", 131415.0, id="compound-all"),
        pytest.param("30m1h", 5400.0, id="any-order"),
        pytest.param("  7D ", 604800.0, id="case-and-spaces"),
        pytest.param("36525d", MAX_DURATION_SECONDS, id="at-the-maximum"),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("", "not a duration", id="empty"),
        pytest.param("   ", "not a duration", id="blank"),
        pytest.param("-1", "not a duration", id="negative"),
        pytest.param("-7d", "not a duration", id="negative-unit"),
        pytest.param("7x", "not a duration", id="unknown-unit"),
        pytest.param("d", "not a duration", id="unit-alone"),
        pytest.param("7 d", "not a duration", id="space-inside"),
        pytest.param("1h 30m", "not a duration", id="space-between-parts"),
        pytest.param("7d2", "not a duration", id="trailing-number"),
        pytest.param("1e3", "not a duration", id="exponent"),
        pytest.param("inf", "not a duration", id="inf"),
        pytest.param("nan", "not a duration", id="nan"),
        pytest.param(".5h", "not a duration", id="no-leading-digit"),
        pytest.param("36526d", "100 years", id="over-the-maximum"),
        pytest.param("9" * 400, "100 years", id="huge-number"),
    ],
)
def test_parse_duration_refuses(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(0.0, "0s", id="zero"),
        pytest.param(45.0, "45s", id="seconds"),
        pytest.param(5400.0, "1h30m", id="compound"),
        pytest.param(604800.0, "7d", id="a-week-in-days"),
        pytest.param(131415.0, "1d12h30m15s", id="all-units"),
        pytest.param(0.5, "0.5s", id="fraction"),
    ],
)
def test_format_duration_reads_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
