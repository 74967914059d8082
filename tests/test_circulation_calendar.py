"""The library calendar: due dates and late days around Idul Fitri, closures, hourly loans, timezones.

Every expected value below was worked out by hand from the holidays package's 2025/2026 dates:
2026: 03-18 (Wed) cuti bersama Nyepi, 03-19 Nyepi, 03-20 cuti bersama, 03-21/22 Idul Fitri,
03-23/24 cuti bersama. 2025: 03-28 (Fri) cuti bersama Nyepi, 03-29 Nyepi, 03-31/04-01 Idul Fitri,
04-02..04 and 04-07 cuti bersama. Asia/Makassar is UTC+8, so 16:00 local is 08:00Z and local
midnight is 16:00Z the day before.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from circulation.calendar import (
    MIN_HOURLY_LOAN,
    LibraryCalendar,
    build_calendar,
    national_closures,
    resolve_closures,
)

YEARS = (2025, 2026, 2027)
# Sunday closed, Monday to Saturday 08:00-16:00.
SUNDAY_CLOSED = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": []}
# Weekdays with a lunch break, Saturday half day, no Sunday key at all (closed).
HALF_SATURDAY = {day: [["08:00", "12:00"], ["13:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": [["08:00", "12:00"]]}
HUT_BONTANG = date(2026, 10, 12)  # a Monday

CALENDARS: dict[str, Callable[[], LibraryCalendar]] = {
    "sunday_closed": lambda: build_calendar(tz_name="Asia/Makassar", opening_hours=SUNDAY_CLOSED, years=YEARS),
    "half_saturday": lambda: build_calendar(tz_name="Asia/Makassar", opening_hours=HALF_SATURDAY, years=YEARS),
    "always_open": lambda: build_calendar(tz_name="Asia/Makassar", opening_hours={}, years=YEARS),
    "no_cuti": lambda: build_calendar(tz_name="Asia/Makassar", opening_hours=SUNDAY_CLOSED, years=YEARS,
                                      cuti_bersama=False),
    "open_on_cuti": lambda: build_calendar(
        tz_name="Asia/Makassar", opening_hours=SUNDAY_CLOSED, years=YEARS,
        overrides=[(date(2026, 3, 23), False, "Layanan tetap buka"), (date(2026, 3, 24), False, "Layanan tetap buka")]),
    "hut_bontang": lambda: build_calendar(tz_name="Asia/Makassar", opening_hours=SUNDAY_CLOSED, years=YEARS,
                                          overrides=[(HUT_BONTANG, True, "HUT Kota Bontang")]),
}


def utc(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# (calendar, loan start Z, {"days": n} or {"hours": h}, due Z); comments give local (WITA) times.
DUE_CASES: list[tuple[str, str, dict[str, int], str]] = [
    # Idul Fitri 2026, Sunday-closed library: 03-18..03-24 closed, 03-25 (Wed) is the first open day.
    ("sunday_closed", "2026-03-10 02:00", {"days": 7}, "2026-03-17 08:00"),  # Tue -> Tue, open
    ("sunday_closed", "2026-03-11 02:00", {"days": 7}, "2026-03-25 08:00"),  # Wed 03-18 cuti -> Wed 03-25
    ("sunday_closed", "2026-03-16 02:00", {"days": 7}, "2026-03-25 08:00"),  # Mon 03-23 cuti -> 03-25
    ("sunday_closed", "2026-03-14 02:00", {"days": 14}, "2026-03-28 08:00"),  # Sat -> Sat, open
    ("sunday_closed", "2026-03-15 02:00", {"days": 14}, "2026-03-30 08:00"),  # Sun 03-29 -> Mon
    ("sunday_closed", "2026-03-17 02:00", {"days": 0}, "2026-03-17 08:00"),  # today at closing
    ("sunday_closed", "2026-03-17 09:00", {"days": 0}, "2026-03-25 08:00"),  # 17:00, after closing
    # Midnight: 15:59:59Z is Mon 23:59:59, 16:00:00Z is already Tue 00:00 (and Wed is cuti bersama).
    ("sunday_closed", "2026-03-16 15:59:59", {"days": 1}, "2026-03-17 08:00"),
    ("sunday_closed", "2026-03-16 16:00:00", {"days": 1}, "2026-03-25 08:00"),
    ("sunday_closed", "2025-03-26 15:59:59", {"days": 1}, "2025-03-27 08:00"),  # Wed night -> Thu
    ("sunday_closed", "2025-03-26 16:00:00", {"days": 1}, "2025-04-05 08:00"),  # Thu -> Fri 03-28 cuti -> Sat 04-05
    # Idul Fitri 2025: 03-28..04-04 closed (03-30 a Sunday), Sat 04-05 open, Mon 04-07 cuti bersama.
    ("sunday_closed", "2025-03-21 02:00", {"days": 7}, "2025-04-05 08:00"),
    ("half_saturday", "2025-03-21 02:00", {"days": 7}, "2025-04-05 04:00"),  # Saturday closes at 12:00
    ("half_saturday", "2025-03-22 02:00", {"days": 14}, "2025-04-05 04:00"),
    ("half_saturday", "2025-03-24 02:00", {"days": 14}, "2025-04-08 08:00"),  # Mon 04-07 cuti -> Tue
    ("half_saturday", "2025-03-20 02:00", {"days": 7}, "2025-03-27 08:00"),  # Thu, open, closes 16:00
    # cuti_bersama=False: only 03-19 Nyepi and 03-21/22 Idul Fitri are closed in 2026.
    ("no_cuti", "2026-03-11 02:00", {"days": 7}, "2026-03-18 08:00"),
    ("no_cuti", "2026-03-12 02:00", {"days": 7}, "2026-03-20 08:00"),  # Thu 03-19 Nyepi -> Fri
    ("no_cuti", "2026-03-14 02:00", {"days": 7}, "2026-03-23 08:00"),  # Sat Idul Fitri, Sun -> Mon
    ("no_cuti", "2025-03-21 02:00", {"days": 7}, "2025-03-28 08:00"),
    ("no_cuti", "2025-03-24 02:00", {"days": 7}, "2025-04-02 08:00"),  # Mon 03-31, Tue 04-01 -> Wed
    # Open on cuti bersama 03-23/24 by override; Idul Fitri itself stays closed.
    ("open_on_cuti", "2026-03-16 02:00", {"days": 7}, "2026-03-23 08:00"),
    ("open_on_cuti", "2026-03-14 02:00", {"days": 7}, "2026-03-23 08:00"),
    # A local closure: HUT Kota Bontang on Mon 2026-10-12.
    ("hut_bontang", "2026-10-05 02:00", {"days": 7}, "2026-10-13 08:00"),
    ("sunday_closed", "2026-10-05 02:00", {"days": 7}, "2026-10-12 08:00"),  # the same loan elsewhere
    # Hourly loans, weekdays 08-12 and 13-16, Saturday 08-12 (Mon 2026-03-09 is an ordinary day).
    ("half_saturday", "2026-03-09 01:00", {"hours": 2}, "2026-03-09 03:00"),  # 09:00 -> 11:00
    ("half_saturday", "2026-03-09 02:30", {"hours": 2}, "2026-03-09 04:00"),  # 12:30 is lunch -> 12:00
    ("half_saturday", "2026-03-09 03:45", {"hours": 1}, "2026-03-09 08:00"),  # 12:00 leaves 15 min -> 16:00
    ("half_saturday", "2026-03-09 06:00", {"hours": 3}, "2026-03-09 08:00"),  # 17:00 -> closing 16:00
    ("half_saturday", "2026-03-09 07:30", {"hours": 2}, "2026-03-09 08:00"),  # exactly 30 minutes left
    ("half_saturday", "2026-03-09 07:45", {"hours": 2}, "2026-03-10 08:00"),  # 15 minutes left -> Tue
    ("half_saturday", "2026-03-09 08:30", {"hours": 2}, "2026-03-10 08:00"),  # lent after closing
    ("half_saturday", "2026-03-09 07:00", {"hours": 20}, "2026-03-10 03:00"),  # Tue 11:00, open
    ("half_saturday", "2026-03-09 07:00", {"hours": 17}, "2026-03-10 00:00"),  # Tue 08:00, opening
    ("half_saturday", "2026-03-09 07:00", {"hours": 16}, "2026-03-09 08:00"),  # Tue 07:00 -> Mon 16:00
    ("half_saturday", "2026-03-14 03:00", {"hours": 2}, "2026-03-14 04:00"),  # Sat 13:00 -> 12:00
    ("half_saturday", "2026-03-14 03:45", {"hours": 2}, "2026-03-16 08:00"),  # Sat, 15 min -> Mon
    ("half_saturday", "2026-03-17 07:00", {"hours": 24}, "2026-03-17 08:00"),  # lands on cuti -> Tue 16:00
    ("half_saturday", "2026-03-17 07:45", {"hours": 4}, "2026-03-25 08:00"),  # 15 min before Idul Fitri week
    # Hourly loans across local midnight in a library with no hours configured (open 00:00-23:59:59).
    ("always_open", "2026-03-16 15:00", {"hours": 2}, "2026-03-16 17:00"),  # Mon 23:00 -> Tue 01:00
    ("always_open", "2026-03-17 15:00", {"hours": 2}, "2026-03-17 15:59:59"),  # Wed is cuti -> Tue 23:59:59
    ("always_open", "2026-03-17 15:45", {"hours": 2}, "2026-03-25 15:59:59"),  # 14:59 left -> 03-25
    ("always_open", "2026-03-17 16:00", {"days": 0}, "2026-03-25 15:59:59"),  # Wed 00:00, closed
]

# (calendar, due Z, returned Z, late days skipping closed days, late days counting every day)
LATE_CASES: list[tuple[str, str, str, int, int]] = [
    ("sunday_closed", "2026-03-17 08:00", "2026-03-17 07:59", 0, 0),
    ("sunday_closed", "2026-03-17 08:00", "2026-03-17 08:00", 0, 0),  # on the dot is on time
    ("sunday_closed", "2026-03-17 08:00", "2026-03-17 09:00", 1, 1),  # same day, after closing
    ("sunday_closed", "2026-03-17 08:00", "2026-03-17 16:00", 1, 1),  # book drop on Wed 03-18, closed
    ("sunday_closed", "2026-03-17 08:00", "2026-03-25 02:00", 1, 8),  # only 03-25 is open
    ("sunday_closed", "2026-03-17 08:00", "2026-03-26 02:00", 2, 9),
    ("sunday_closed", "2026-03-17 08:00", "2026-03-30 02:00", 5, 13),  # 25-28 and 30; Sun 29 closed
    ("sunday_closed", "2026-03-16 08:00", "2026-03-16 15:59:59", 1, 1),  # Mon 23:59:59
    ("sunday_closed", "2026-03-16 08:00", "2026-03-16 16:00:00", 1, 1),  # Tue 00:00
    ("sunday_closed", "2026-03-16 08:00", "2026-03-17 16:00:00", 1, 2),  # Wed 00:00, cuti bersama
    ("no_cuti", "2026-03-17 08:00", "2026-03-25 02:00", 5, 8),  # 18, 20, 23, 24, 25
    ("open_on_cuti", "2026-03-17 08:00", "2026-03-25 02:00", 3, 8),  # 23, 24, 25
    ("hut_bontang", "2026-10-09 08:00", "2026-10-13 02:00", 2, 4),  # Sat 10 and Tue 13
    ("sunday_closed", "2026-10-09 08:00", "2026-10-13 02:00", 3, 4),  # no HUT closure here
    ("half_saturday", "2025-03-27 08:00", "2025-04-05 05:00", 1, 9),  # Sat 04-05, after its 12:00 closing
    ("half_saturday", "2025-03-27 08:00", "2025-04-08 02:00", 2, 12),  # Sat 04-05 and Tue 04-08
    ("half_saturday", "2026-03-09 04:00", "2026-03-09 04:30", 1, 1),  # hourly loan, half an hour late
    ("half_saturday", "2026-03-09 04:00", "2026-03-10 01:00", 1, 1),
    ("half_saturday", "2026-03-09 04:00", "2026-03-11 01:00", 2, 2),
]


@pytest.mark.parametrize("name, start, loan, due", DUE_CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in DUE_CASES])
def test_due_dates(name: str, start: str, loan: dict[str, int], due: str) -> None:
    """Due dates land at the end of an open day, or inside opening hours for hourly loans."""
    result = CALENDARS[name]().due_at(utc(start), **loan)
    assert result == utc(due)
    assert result.tzinfo is timezone.utc


@pytest.mark.parametrize("name, due, returned, skipping, counting", LATE_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in LATE_CASES])
def test_late_days(name: str, due: str, returned: str, skipping: int, counting: int) -> None:
    """Fines skip closed days unless the library chooses otherwise."""
    calendar = CALENDARS[name]()
    assert calendar.late_days(utc(due), utc(returned), skip_closed=True) == skipping
    assert calendar.late_days(utc(due), utc(returned), skip_closed=False) == counting


def test_golden_table_is_large_enough() -> None:
    """The brief asks for at least 30 hand-computed cases."""
    assert len(DUE_CASES) + len(LATE_CASES) >= 30


def test_national_closures_from_the_holidays_package() -> None:
    """Public holidays always; cuti bersama only when asked; names in Bahasa Indonesia."""
    with_cuti = national_closures([2026])
    assert with_cuti[date(2026, 3, 19)] == "Hari Suci Nyepi"
    assert with_cuti[date(2026, 3, 21)] == "Hari Raya Idul Fitri"
    assert with_cuti[date(2026, 3, 20)].startswith("Cuti Bersama")
    idul_fitri_week = {date(2026, 3, 18) + timedelta(days=n) for n in range(7)}
    assert idul_fitri_week <= set(with_cuti)
    without = national_closures([2026], cuti_bersama=False)
    assert idul_fitri_week - set(without) == {date(2026, 3, d) for d in (18, 20, 23, 24)}
    assert not any(name.startswith("Cuti Bersama") for name in without.values())
    # The result is the caller's to edit; the cached copy must not change with it.
    with_cuti.clear()
    assert national_closures((2026,)) and national_closures(iter([2026, 2026]))[date(2026, 3, 19)]


def test_overrides_resolve_in_order() -> None:
    """closed=True adds a local closure, closed=False opens a national day; the later entry wins."""
    closures = resolve_closures(years=[2026], overrides=[
        (HUT_BONTANG, True, "HUT Kota Bontang"), (date(2026, 3, 23), False, "buka"),
        (date(2026, 5, 4), True, "Renovasi"), (date(2026, 5, 4), False, "Renovasi ditunda")])
    assert closures[HUT_BONTANG] == "HUT Kota Bontang"
    assert date(2026, 3, 23) not in closures and date(2026, 5, 4) not in closures
    assert date(2026, 3, 24) in closures
    local_only = build_calendar(opening_hours=SUNDAY_CLOSED, years=[2026], national=False,
                                overrides=[(HUT_BONTANG, True, "HUT Kota Bontang")])
    assert local_only.closed == frozenset({HUT_BONTANG})
    assert local_only.tz_name == "Asia/Makassar"


def test_an_open_override_keeps_weekly_hours() -> None:
    """Opening on a holiday that falls on Sunday does not open a Sunday-closed library."""
    calendar = build_calendar(opening_hours=SUNDAY_CLOSED, years=[2026],
                              overrides=[(date(2026, 3, 22), False, "buka")])
    assert date(2026, 3, 22) not in calendar.closed
    assert not calendar.is_open(date(2026, 3, 22))


def test_day_queries() -> None:
    """is_open, closing_time, next_open_day and local_date agree with the hand calendar."""
    calendar = CALENDARS["half_saturday"]()
    assert calendar.is_open(date(2026, 3, 17)) and not calendar.is_open(date(2026, 3, 18))
    assert not calendar.is_open(date(2026, 3, 15))  # Sunday: no key at all
    assert calendar.closing_time(date(2026, 3, 14)) == utc("2026-03-14 04:00")
    assert calendar.next_open_day(date(2026, 3, 17)) == date(2026, 3, 17)
    assert calendar.next_open_day(date(2026, 3, 18)) == date(2026, 3, 25)
    assert calendar.local_date(utc("2026-03-16 15:59:59")) == date(2026, 3, 16)
    assert calendar.local_date(utc("2026-03-16 16:00:00")) == date(2026, 3, 17)
    assert str(calendar.tz()) == "Asia/Makassar"
    with pytest.raises(ValueError, match="closed"):
        calendar.closing_time(date(2026, 3, 18))
    with pytest.raises(ValueError, match="no open day"):
        calendar.next_open_day(date(2026, 3, 18), limit_days=5)
    assert CALENDARS["always_open"]().closing_time(date(2026, 3, 16)) == utc("2026-03-16 15:59:59")


def test_open_hours_per_week() -> None:
    """Weekly hours from the intervals; no hours configured means open round the clock."""
    assert CALENDARS["sunday_closed"]().open_hours_per_week() == 48.0
    assert CALENDARS["half_saturday"]().open_hours_per_week() == 39.0
    assert CALENDARS["always_open"]().open_hours_per_week() == 168.0
    assert build_calendar(opening_hours={"mon": [["08:00", "24:00"]]}, years=[]).open_hours_per_week() == 16.0


def test_other_timezones_and_aware_offsets() -> None:
    """Business dates follow the library's own timezone; any aware input is accepted, UTC comes out."""
    jakarta = build_calendar(tz_name="Asia/Jakarta", opening_hours=SUNDAY_CLOSED, years=[2026])
    # 16:30Z is already Tue in Makassar (+8) but still Mon 23:30 in Jakarta (+7).
    assert jakarta.due_at(utc("2026-03-16 16:30"), days=1) == utc("2026-03-17 09:00")
    wita = timezone(timedelta(hours=8))
    start = datetime(2026, 3, 10, 10, 0, tzinfo=wita)
    assert CALENDARS["sunday_closed"]().due_at(start, days=7) == utc("2026-03-17 08:00")


@pytest.mark.parametrize("call", [
    lambda c: c.local_date(datetime(2026, 3, 16, 12)),
    lambda c: c.due_at(datetime(2026, 3, 16, 12), days=7),
    lambda c: c.due_at(datetime(2026, 3, 16, 12), hours=2),
    lambda c: c.late_days(datetime(2026, 3, 16, 12), utc("2026-03-17 00:00"), skip_closed=True),
    lambda c: c.late_days(utc("2026-03-16 00:00"), datetime(2026, 3, 17, 12), skip_closed=False),
], ids=["local_date", "due_days", "due_hours", "late_due", "late_returned"])
def test_naive_datetimes_are_refused(call: Callable[[LibraryCalendar], Any]) -> None:
    """A naive datetime has no instant; guessing the server's zone would break timezone independence."""
    with pytest.raises(ValueError, match="naive"):
        call(CALENDARS["sunday_closed"]())


@pytest.mark.parametrize("loan", [{}, {"days": 1, "hours": 1}, {"days": -1}, {"hours": 0}, {"hours": -3}],
                         ids=["neither", "both", "negative_days", "zero_hours", "negative_hours"])
def test_loan_length_must_make_sense(loan: dict[str, int]) -> None:
    """Exactly one of days or hours, and not negative."""
    with pytest.raises(ValueError):
        CALENDARS["sunday_closed"]().due_at(utc("2026-03-16 02:00"), **loan)


@pytest.mark.parametrize("hours, tz_name", [
    ({"mon": [["08:00", "16:00"]], "sabtu": []}, "Asia/Makassar"),
    ({"mon": [["16:00", "08:00"]]}, "Asia/Makassar"),
    ({"mon": [["08:00", "12:00"], ["11:00", "16:00"]]}, "Asia/Makassar"),
    ({"mon": [["8", "16:00"]]}, "Asia/Makassar"),
    ({"mon": [["08:00", "24:01"]]}, "Asia/Makassar"),
    ({"mon": [["08:00"]]}, "Asia/Makassar"),
    ({}, "Asia/Bontang"),
], ids=["unknown_day", "backwards", "overlap", "not_hh_mm", "past_midnight", "half_interval", "unknown_tz"])
def test_bad_configuration_is_refused(hours: dict[str, list[list[str]]], tz_name: str) -> None:
    """Opening hours and timezone are checked when the calendar is built, not at checkout."""
    with pytest.raises(ValueError):
        LibraryCalendar(tz_name=tz_name, opening_hours=hours, closed=frozenset())


def test_late_days_never_decrease_as_the_return_moves_later() -> None:
    """Monotonic in the return time, and skipping closed days never counts more than counting all."""
    for name in ("sunday_closed", "half_saturday", "open_on_cuti", "always_open"):
        calendar = CALENDARS[name]()
        for due in (utc("2026-03-13 00:00") + timedelta(hours=7 * n) for n in range(40)):
            previous = {True: 0, False: 0}
            for step in range(-4, 200):
                returned = due + timedelta(hours=3 * step, minutes=7)
                counts = {flag: calendar.late_days(due, returned, skip_closed=flag) for flag in (True, False)}
                for flag, count in counts.items():
                    assert count >= previous[flag], (name, due, returned, flag)
                    assert (count > 0) == (returned > due)
                assert counts[True] <= counts[False]
                previous = counts


def test_due_dates_always_fall_on_open_days_after_the_start() -> None:
    """Whatever the start, a due time is later than it, on an open day, and within that day's hours."""
    for name in ("sunday_closed", "half_saturday", "no_cuti", "always_open"):
        calendar = CALENDARS[name]()
        for n in range(0, 24 * 20, 5):
            start = utc("2026-03-10 00:00") + timedelta(hours=n, minutes=13)
            for loan in ({"days": 0}, {"days": 3}, {"hours": 1}, {"hours": 4}, {"hours": 30}):
                due = calendar.due_at(start, **loan)
                day = calendar.local_date(due)
                assert due > start and calendar.is_open(day), (name, start, loan)
                assert due <= calendar.closing_time(day)
                if "hours" in loan:
                    # Shortened never below the minimum; lengthened only to a closing time.
                    assert due - start >= MIN_HOURLY_LOAN or due == calendar.closing_time(day)
                    assert due <= start + timedelta(hours=loan["hours"]) or due == calendar.closing_time(day)
                else:
                    assert due == calendar.closing_time(day)


def _all_results() -> list[object]:
    """Every golden result, computed afresh under whatever TZ the process has now."""
    results: list[object] = [CALENDARS[n]().due_at(utc(s), **loan) for n, s, loan, _ in DUE_CASES]
    results += [CALENDARS[n]().late_days(utc(d), utc(r), skip_closed=flag)
                for n, d, r, _, _ in LATE_CASES for flag in (True, False)]
    results.append(CALENDARS["sunday_closed"]().local_date(utc("2026-03-16 16:00")))
    return results


def test_results_do_not_depend_on_the_server_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identical answers whether the process runs in UTC, WIB or WITA."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    seen: list[list[object]] = []
    try:
        for zone in ("UTC", "Asia/Jakarta", "Asia/Makassar"):
            monkeypatch.setitem(os.environ, "TZ", zone)
            time.tzset()
            assert time.strftime("%z", time.localtime(0)) == {"UTC": "+0000", "Asia/Jakarta": "+0700",
                                                               "Asia/Makassar": "+0800"}[zone]
            seen.append(_all_results())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert seen[0] == seen[1] == seen[2]
