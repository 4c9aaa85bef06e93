"""The business date that callers pass to the engine to select campaigns.

Campaign dates (`starts_on`/`ends_on`) are calendar days in Beijing time (UTC+8, no daylight
saving), whatever time zone the server runs in: a campaign starting 2026-11-01 starts at
00:00 Beijing time, not at 08:00 as it would on a UTC server using `date.today()`.
The engine itself reads no clock; callers (CLI, proxy) call `business_today()` and pass it in.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["BEIJING", "business_today"]

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def business_today(now: dt.datetime | None = None, tz: dt.tzinfo = BEIJING) -> dt.date:
    """Today's date in `tz` (Beijing time by default); `now` (aware) for tests."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(tz).date()
