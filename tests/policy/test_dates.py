"""The business date is Beijing's calendar day, whatever the server's time zone."""

from __future__ import annotations

import datetime as dt

import pytest

from guard.policy.dates import business_today

UTC = dt.UTC


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (dt.datetime(2026, 10, 31, 15, 59, tzinfo=UTC), dt.date(2026, 10, 31)),  # 23:59 Beijing
        (dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC), dt.date(2026, 11, 1)),  # 00:00 Beijing: a campaign starts
        (dt.datetime(2026, 11, 1, 7, 59, tzinfo=UTC), dt.date(2026, 11, 1)),
    ],
)
def test_business_today_is_beijing_date(now: dt.datetime, day: dt.date) -> None:
    assert business_today(now) == day


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_today(dt.datetime(2026, 11, 1))
