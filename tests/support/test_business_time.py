"""Business-time arithmetic, with every expected moment worked out by hand in the comments.

Calendar: Asia/Kolkata; Monday-Friday 09:00-18:00, Saturday 09:00-13:00, Sunday closed;
Monday 26 January 2026 (Republic Day) is a holiday. 23 Jan 2026 is a Friday.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from modules.support.business_time import Calendar, add_business_minutes, business_minutes_between

IST = ZoneInfo("Asia/Kolkata")
WEEKDAY = [(time(9), time(18))]
CAL = Calendar(tz=IST, hours={0: WEEKDAY, 1: WEEKDAY, 2: WEEKDAY, 3: WEEKDAY, 4: WEEKDAY,
                              5: [(time(9), time(13))]},
               holidays=frozenset({date(2026, 1, 26)}))


def ist(day, hour, minute=0):
    return datetime(2026, 1, day, hour, minute, tzinfo=IST)


def test_eight_hours_from_friday_afternoon_skip_sunday_and_the_holiday():
    # Fri 16:00-18:00 = 2 h, Sat 09:00-13:00 = 4 h, Sun closed, Mon holiday, Tue 09:00 + 2 h.
    assert add_business_minutes(ist(23, 16), 8 * 60, CAL) == ist(27, 11)


def test_a_start_after_saturday_closing_waits_for_the_next_working_day():
    # Sat closes 13:00; Sun closed; Mon holiday; Tue 09:00 + 1 h.
    assert add_business_minutes(ist(24, 14), 60, CAL) == ist(27, 10)


def test_a_target_ending_exactly_at_closing_time_ends_at_closing_time():
    assert add_business_minutes(ist(23, 16), 120, CAL) == ist(23, 18)


def test_zero_minutes_is_the_start_itself():
    assert add_business_minutes(ist(25, 11), 0, CAL) == ist(25, 11)


def test_working_minutes_between_friday_evening_and_tuesday_morning():
    # Fri 17:00-18:00 = 60, Sat 09:00-13:00 = 240, Sun 0, Mon holiday 0, Tue 09:00-10:00 = 60.
    assert business_minutes_between(ist(23, 17), ist(27, 10), CAL) == 360


def test_no_working_minutes_inside_a_weekend_and_holiday_gap():
    assert business_minutes_between(ist(24, 13), ist(27, 9), CAL) == 0


def test_round_the_clock_calendar_still_skips_holidays():
    cal = Calendar(tz=IST, holidays=frozenset({date(2026, 1, 26)}))
    # Sun 22:00-24:00 = 2 h, Monday skipped, Tue 00:00 + 1 h.
    assert add_business_minutes(ist(25, 22), 180, cal) == ist(27, 1)


def test_without_a_calendar_the_clock_is_wall_time():
    assert add_business_minutes(ist(24, 14), 24 * 60, None) == ist(25, 14)


def test_daylight_saving_change_counts_real_minutes():
    # London moves from 01:00 GMT to 02:00 BST on 29 March 2026: an hour after 00:30 GMT is
    # 01:30 UTC, which reads 02:30 on the wall clock.
    london = ZoneInfo("Europe/London")
    cal = Calendar(tz=london)
    start = datetime(2026, 3, 29, 0, 30, tzinfo=london)
    due = add_business_minutes(start, 60, cal)
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert due.astimezone(london).hour == 2
    assert business_minutes_between(start, due, cal) == 60


def test_a_calendar_without_any_working_time_is_refused():
    closed = Calendar(tz=IST, hours={0: []})
    with pytest.raises(ValueError):
        add_business_minutes(ist(23, 9), 1, closed)
