"""The business date is Beijing's calendar day, whatever the server's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.policy.dates import BEIJING, beijing_day, business_today

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


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))  # 1970 … 2100
def test_beijing_day_agrees_with_datetime(t: float) -> None:
    start, end, day = beijing_day(t)
    assert day == dt.datetime.fromtimestamp(t, UTC).astimezone(BEIJING).date()
    assert start <= t < end and end - start == 86400
    assert dt.datetime.fromtimestamp(start, UTC).astimezone(BEIJING).time() == dt.time(0, 0)


def test_business_today_without_now_is_todays_beijing_date() -> None:
    before = dt.datetime.now(UTC).astimezone(BEIJING).date()
    first, second = business_today(), business_today()  # the second reads the kept day
    after = dt.datetime.now(UTC).astimezone(BEIJING).date()
    assert first in (before, after) and second in (before, after)
