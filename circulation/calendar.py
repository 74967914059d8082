"""The library calendar behind due dates and fines: opening days and hours, holidays, closures.

Pure: no Flask, no database. Datetimes go in and come out timezone-aware (UTC out); business dates are
computed in the library's own timezone with zoneinfo, never in the server's, so results do not depend
on the TZ the process runs under.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_TZ = "Asia/Makassar"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A shortened hourly loan must leave the patron at least this long; otherwise it runs to the next
# open day's closing instead (a loan that expires before the patron reaches the door is no loan).
MIN_HOURLY_LOAN = timedelta(minutes=30)
_END_OF_DAY = 24 * 3600 - 1  # 23:59:59: "24:00" would be the next local date, and fines count dates

OpeningHours = Mapping[str, Sequence[Sequence[str]]]
Interval = tuple[int, int]  # seconds after local midnight: (opens, closes)


def national_closures(years: Iterable[int], *, cuti_bersama: bool = True) -> dict[date, str]:
    """National public holidays (and, if asked, cuti bersama) of Indonesia, names in Bahasa Indonesia."""
    return dict(_national_closures(tuple(sorted(set(years))), cuti_bersama))


@lru_cache(maxsize=64)
def _national_closures(years: tuple[int, ...], cuti_bersama: bool) -> tuple[tuple[date, str], ...]:
    """Cached, immutable form of national_closures for one normalised key."""
    # The package files the SKB cuti bersama days under its "government" category.
    categories = ("public", "government") if cuti_bersama else ("public",)
    found = holidays.country_holidays("ID", years=years, categories=categories, language="id")
    return tuple(sorted(found.items()))


def _aware(at: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused rather than guessed at."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware (UTC) datetime")
    return at.astimezone(timezone.utc)


def _seconds(text: str) -> int:
    """Seconds after midnight for "HH:MM" or "HH:MM:SS" (up to "24:00")."""
    parts = str(text).split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"opening time {text!r} is not HH:MM")
    h, m, s = (int(p) for p in (parts + ["0"])[:3])
    if m > 59 or s > 59 or h * 3600 + m * 60 + s > 24 * 3600:
        raise ValueError(f"opening time {text!r} is out of range")
    return h * 3600 + m * 60 + s


def _parse_hours(opening_hours: OpeningHours) -> tuple[tuple[Interval, ...], ...] | None:
    """Intervals per weekday (Monday first), sorted; None when no hours are configured at all."""
    if not opening_hours:
        return None
    unknown = set(opening_hours) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday keys {sorted(unknown)}: use {', '.join(WEEKDAYS)}")
    week: list[tuple[Interval, ...]] = []
    for key in WEEKDAYS:
        intervals: list[Interval] = []
        for pair in opening_hours.get(key) or ():
            if len(pair) != 2:
                raise ValueError(f"{key}: an interval is [opens, closes], got {list(pair)!r}")
            opens, closes = _seconds(pair[0]), _seconds(pair[1])
            if opens >= closes:
                raise ValueError(f"{key}: {pair[0]}-{pair[1]} closes before it opens")
            intervals.append((opens, closes))
        intervals.sort()
        for (_, earlier_closes), (later_opens, _) in zip(intervals, intervals[1:]):
            # Later code walks intervals in order and takes the last one as the day's closing.
            if later_opens < earlier_closes:
                raise ValueError(f"{key}: opening intervals overlap")
        week.append(tuple(intervals))
    return tuple(week)


@dataclass(frozen=True)
class LibraryCalendar:
    """One library's calendar: timezone, weekly opening hours and every resolved closed date."""

    tz_name: str
    opening_hours: OpeningHours
    closed: frozenset[date]
    _week: tuple[tuple[Interval, ...], ...] | None = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate once so every later question is cheap and cannot fail on bad configuration."""
        try:
            zone = ZoneInfo(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.tz_name!r}") from exc
        # object.__setattr__: the dataclass is frozen, these are derived caches set exactly once.
        object.__setattr__(self, "closed", frozenset(self.closed))
        object.__setattr__(self, "_week", _parse_hours(self.opening_hours))
        object.__setattr__(self, "_zone", zone)

    def tz(self) -> ZoneInfo:
        """The library's timezone."""
        return self._zone

    def local_date(self, at: datetime) -> date:
        """The library's calendar date at an instant."""
        return _aware(at).astimezone(self._zone).date()

    def _intervals(self, day: date) -> tuple[Interval, ...]:
        """The weekly opening intervals for that weekday, ignoring closures."""
        if self._week is None:
            return ((0, _END_OF_DAY),)
        return self._week[day.weekday()]

    def _instant(self, day: date, seconds: int) -> datetime:
        """UTC instant of a local wall-clock time on a local date."""
        seconds = min(seconds, _END_OF_DAY)
        local = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), tzinfo=self._zone)
        return local.astimezone(timezone.utc)

    def is_open(self, day: date) -> bool:
        """True if the library opens at all on that local date."""
        return day not in self.closed and bool(self._intervals(day))

    def closing_time(self, day: date) -> datetime:
        """UTC end of the day's last opening interval (23:59:59 local if no hours are configured)."""
        if not self.is_open(day):
            raise ValueError(f"the library is closed on {day.isoformat()}")
        return self._instant(day, self._intervals(day)[-1][1])

    def next_open_day(self, day: date, *, limit_days: int = 366) -> date:
        """The first open date from ``day`` on (``day`` itself if open), looking ``limit_days`` ahead."""
        for offset in range(limit_days + 1):
            candidate = day + timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        raise ValueError(f"no open day within {limit_days} days of {day.isoformat()}")

    def due_at(self, start: datetime, *, days: int | None = None, hours: int | None = None) -> datetime:
        """When a loan starting at ``start`` is due (UTC); give exactly one of ``days`` or ``hours``.

        days=n: the closing time of local date(start) + n, or of the next open day if that date is
        closed; days=0 is due at today's closing. If that closing time has already passed (a loan made
        after hours), the next open day's closing.

        hours=h: start + h if the library is open at that instant. Otherwise it is shortened to the last
        instant at or before start + h when the library is open (typically today's closing time, or
        the end of the interval before a lunch break), so the item comes back before the library
        closes. If that would leave less than MIN_HOURLY_LOAN (30 minutes), or the library is not open
        at all between start and start + h (a loan made after closing or on a closed day), the loan
        instead runs to the closing time of the next open day that ends at least MIN_HOURLY_LOAN
        after start.
        """
        if (days is None) == (hours is None):
            raise ValueError("give exactly one of days or hours")
        start = _aware(start)
        if days is not None:
            if days < 0:
                raise ValueError("days must not be negative")
            return self._closing_after(self.local_date(start) + timedelta(days=days), start, timedelta(0))
        assert hours is not None  # narrows the type: the check above leaves exactly one given
        if hours <= 0:
            raise ValueError("hours must be positive")
        shortened = self._last_open_instant(start, start + timedelta(hours=hours))
        if shortened is not None and shortened - start >= MIN_HOURLY_LOAN:
            return shortened
        return self._closing_after(self.local_date(start), start, MIN_HOURLY_LOAN)

    def _closing_after(self, day: date, start: datetime, margin: timedelta) -> datetime:
        """Closing time of the first open day from ``day`` on that closes later than start + margin."""
        day = self.next_open_day(day)
        while self.closing_time(day) <= start + margin:
            day = self.next_open_day(day + timedelta(days=1))
        return self.closing_time(day)

    def _last_open_instant(self, start: datetime, end: datetime) -> datetime | None:
        """The latest instant in (start, end] at which the library is open, if any."""
        first = self.local_date(start)
        day = self.local_date(end)
        while day >= first:
            if self.is_open(day):
                for opens, closes in reversed(self._intervals(day)):
                    if self._instant(day, opens) > end:
                        continue
                    closing = self._instant(day, closes)
                    # Intervals are walked latest first: once one ends by start, so do all earlier.
                    return min(end, closing) if closing > start else None
            day -= timedelta(days=1)
        return None

    def late_days(self, due: datetime, returned: datetime, *, skip_closed: bool) -> int:
        """Days late: local dates after the due date up to the return date (open ones only if skipping).

        Any return after the due instant counts at least one day: that covers hourly loans returned
        later on the due date, and keeps the count from dropping when the return slips onto a closed
        day (a book drop), so the result never decreases as ``returned`` moves later.
        """
        due, returned = _aware(due), _aware(returned)
        if returned <= due:
            return 0
        day, last = self.local_date(due), self.local_date(returned)
        if not skip_closed:
            return max(1, (last - day).days)
        count = 0
        while day < last:
            day += timedelta(days=1)
            if self.is_open(day):
                count += 1
        return max(1, count)

    def open_hours_per_week(self) -> float:
        """Hours open in a normal week (168 if no hours are configured)."""
        if self._week is None:
            return 168.0
        return sum(closes - opens for day in self._week for opens, closes in day) / 3600


def resolve_closures(*, years: Iterable[int], overrides: Iterable[tuple[date, bool, str]] = (),
                     national: bool = True, cuti_bersama: bool = True) -> dict[date, str]:
    """Closed dates with their reasons: national ones, then per-library overrides in order."""
    closures = national_closures(years, cuti_bersama=cuti_bersama) if national else {}
    for day, closed, reason in overrides:
        if closed:
            closures[day] = reason
        else:
            # Open on a national day (a library may serve through cuti bersama): weekly hours still apply.
            closures.pop(day, None)
    return closures


def build_calendar(*, tz_name: str = DEFAULT_TZ, opening_hours: OpeningHours, years: Iterable[int],
                   overrides: Iterable[tuple[date, bool, str]] = (), national: bool = True,
                   cuti_bersama: bool = True) -> LibraryCalendar:
    """Resolve national holidays plus per-library overrides into a calendar.

    overrides are (date, closed, reason): closed=True adds a local closure (HUT Kota Bontang,
    renovation); closed=False declares the library open on a national holiday or cuti bersama day.
    Later overrides win. Dates outside ``years`` know no national holidays, so pass every year a loan
    or fine can reach (typically the start year and the next).
    """
    closures = resolve_closures(years=years, overrides=overrides, national=national, cuti_bersama=cuti_bersama)
    return LibraryCalendar(tz_name=tz_name, opening_hours=opening_hours, closed=frozenset(closures))
