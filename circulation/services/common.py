"""Small shared pieces: per-library settings, calendars, errors, money text."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from circulation.calendar import LibraryCalendar, build_calendar
from circulation.models import CirculationSettings, LibraryClosure
from circulation.policy import Check
from ils.errors import NotFound, PolicyViolation
from ils.extensions import db
from ils.models import Library


class CheckFailed(PolicyViolation):
    """A circulation check refused the action; ``checks`` holds every check, passed or not."""

    def __init__(self, checks: list[Check], *, message: str | None = None) -> None:
        failed = [c for c in checks if not c.passed]
        text = message or "; ".join(c.message for c in failed) or str(_l("A rule of the library does not allow this."))
        super().__init__(text)
        self.checks = checks
        self.failed = failed

    @property
    def codes(self) -> list[str]:
        """Codes of the failed checks."""
        return [c.code for c in self.failed]


class ItemNotFound(NotFound):
    """No item has the scanned barcode."""

    default_message = _l("No item has this barcode.")


class PatronNotFound(NotFound):
    """No patron has the scanned card number."""

    default_message = _l("No member has this card number.")


# What a library has until it saves its own settings (the column defaults of CirculationSettings).
DEFAULTS = {"fines_skip_closed": True, "national_holidays": True, "cuti_bersama": True, "floating": False,
            "pickup_point": True, "fee_block_threshold": 10000, "block_on_overdue": True, "self_registration": True,
            "due_soon_days": 2}
SETTING_FIELDS = tuple(DEFAULTS)


def settings_for(library_id: int) -> CirculationSettings:
    """The library's circulation settings (defaults, not stored, until someone saves them)."""
    row = db.session.get(CirculationSettings, library_id)
    return row if row is not None else CirculationSettings(library_id=library_id, **DEFAULTS)


def calendar_for(library_id: int, around: date) -> LibraryCalendar:
    """The library's calendar for the year of ``around`` and the next (due dates may cross a year)."""
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    settings = settings_for(library_id)
    years = (around.year - 1, around.year, around.year + 1)
    rows = db.session.execute(
        select(LibraryClosure.on_date, LibraryClosure.closed, LibraryClosure.reason, LibraryClosure.library_id)
        .where(or_(LibraryClosure.library_id.is_(None), LibraryClosure.library_id == library_id))
        .where(LibraryClosure.on_date >= date(years[0], 1, 1), LibraryClosure.on_date <= date(years[-1], 12, 31))
    ).all()
    # A library's own row beats a city-wide row for the same day.
    chosen: dict[date, tuple[date, bool, str]] = {}
    for on_date, closed, reason, owner in sorted(rows, key=lambda r: r[3] is not None):
        chosen[on_date] = (on_date, closed, reason)
    return build_calendar(tz_name=library.timezone, opening_hours=library.opening_hours or {}, years=years,
                          overrides=list(chosen.values()), national=settings.national_holidays,
                          cuti_bersama=settings.cuti_bersama)


def rupiah(amount: int) -> str:
    """Rupiah as Indonesians write it: Rp 12.500."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def local_today(library_id: int, now: datetime) -> date:
    """The library's local date at ``now``."""
    library = db.session.get(Library, library_id)
    return now.astimezone(ZoneInfo(library.timezone if library else "Asia/Makassar")).date()


def as_dict(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """Some attributes of an object as a dict."""
    return {name: getattr(obj, name) for name in fields}
