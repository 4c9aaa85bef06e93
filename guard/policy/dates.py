"""The business date that callers pass to the engine to select campaigns.

Campaign dates (`starts_on`/`ends_on`) are calendar days in Beijing time (UTC+8, no daylight
saving), whatever time zone the server runs in: a campaign starting 2026-11-01 starts at
00:00 Beijing time, not at 08:00 as it would on a UTC server using `date.today()`.
The engine itself reads no clock; callers (CLI, proxy) call `business_today()` and pass it in.
"""

from __future__ import annotations

import datetime as dt
import time

__all__ = ["BEIJING", "beijing_day", "business_today"]

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

_OFFSET = 8 * 3600  # Beijing is UTC+8 all year
_EPOCH = dt.date(1970, 1, 1)


def beijing_day(t: float) -> tuple[float, float, dt.date]:
    """The Beijing calendar day holding unix time `t`: (its first second, the next day's, the date)."""
    days = int((t + _OFFSET) // 86400)
    start = float(days * 86400 - _OFFSET)
    return start, start + 86400.0, _EPOCH + dt.timedelta(days=days)


# The current Beijing day, kept as one tuple: read and replaced whole, so threads agree.
_today: tuple[float, float, dt.date] = (0.0, 0.0, _EPOCH)


def business_today(now: dt.datetime | None = None, tz: dt.tzinfo = BEIJING) -> dt.date:
    """Today's date in `tz` (Beijing time by default); `now` (aware) for tests.

    Every guarded call asks for it: without `now`, Beijing's date is computed once a day and then
    only compared with the clock (≈ 0.1 µs instead of ≈ 1 µs through `datetime`).
    """
    global _today
    if now is None and tz is BEIJING:
        t = time.time()
        day = _today
        if not day[0] <= t < day[1]:
            day = _today = beijing_day(t)
        return day[2]
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(tz).date()
