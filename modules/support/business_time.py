"""Business-time arithmetic for SLA clocks: add working minutes, count working minutes.

A `Calendar` holds the tenant's time zone, its working intervals per weekday and its holidays.
Intervals are wall-clock times in that zone, so a DST change moves them with the clock. A
calendar with no intervals at all means "round the clock, except holidays".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")
_HORIZON_DAYS = 3 * 366  # a target can never need more working days than this


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    # weekday (0 = Monday) -> sorted [(opens, closes)]; empty mapping = every hour of every day
    hours: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working intervals of `day` as aware datetimes (empty on holidays and closed days)."""
        if day in self.holidays:
            return []
        if not self.hours:
            start = datetime.combine(day, time.min, self.tz)
            return [(start, datetime.combine(day + timedelta(days=1), time.min, self.tz))]
        return [(datetime.combine(day, opens, self.tz), datetime.combine(day, closes, self.tz))
                for opens, closes in self.hours.get(day.weekday(), [])]


def _segments(cal: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals from `start` onwards, clipped at `start`, in order, in UTC.

    UTC matters: Python subtracts two datetimes of the same zone on the wall clock, which is
    an hour off across a DST change; in UTC the arithmetic is exact.
    """
    start = start.astimezone(UTC)
    day = start.astimezone(cal.tz).date()
    for _ in range(_HORIZON_DAYS):
        for opens, closes in cal.intervals(day):
            opens, closes = opens.astimezone(UTC), closes.astimezone(UTC)
            if closes > start:
                yield max(opens, start), closes
        day += timedelta(days=1)


def add_business_minutes(start: datetime, minutes: int, cal: Calendar | None) -> datetime:
    """The moment `minutes` of working time after `start` (wall-clock time without a calendar)."""
    if cal is None:
        return start.astimezone(UTC) + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return start
    for seg_start, seg_end in _segments(cal, start):
        available = seg_end - seg_start
        if remaining <= available:
            return seg_start + remaining
        remaining -= available
    raise ValueError("The business calendar has no working time within three years.")


def business_minutes_between(start: datetime, end: datetime, cal: Calendar | None) -> int:
    """Whole working minutes between `start` and `end` (0 if end is not after start)."""
    if end <= start:
        return 0
    if cal is None:
        return int((end - start).total_seconds() // 60)
    end = end.astimezone(UTC)
    total = timedelta()
    for seg_start, seg_end in _segments(cal, start):
        if seg_start >= end:
            break
        total += min(seg_end, end) - seg_start
    return int(total.total_seconds() // 60)
