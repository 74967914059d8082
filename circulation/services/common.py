"""Small shared pieces: per-library settings, calendars, errors, money text."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from circulation.calendar import LibraryCalendar, build_calendar
from circulation.models import CirculationRule, CirculationSettings, LibraryClosure
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


# Per-transaction memo of settings, libraries and calendars: a checkout asks for them several times,
# and a settings row that does not exist (the defaults) would otherwise be looked up each time.
CACHE_KEY = "circulation_memo"


def _memo() -> dict[Any, Any]:
    return db.session.info.setdefault(CACHE_KEY, {})


def forget_memo(*_args: object) -> None:
    """Drop the memo and the process-wide copies (settings or closures changed)."""
    db.session.info.pop(CACHE_KEY, None)
    forget_shared()


def _forget_on(session: Session, *_args: object) -> None:
    session.info.pop(CACHE_KEY, None)


def install_session_hooks() -> None:
    """Forget the memo at the end of every transaction (idempotent)."""
    for name in ("after_commit", "after_rollback"):
        if not event.contains(Session, name, _forget_on):
            event.listen(Session, name, _forget_on)


# Process-wide, short-lived copies of each library's settings, calendar and rules: they change a few times a
# year and are read on every checkout and check-in. A change made here is seen at once (the cache is
# dropped); one made through another web process within CIRCULATION_CACHE_SECONDS.
_SHARED: dict[Any, tuple[float, Any]] = {}


def _shared(key: Any, build: Callable[[], Any]) -> Any:
    seconds = float(current_app.config.get("CIRCULATION_CACHE_SECONDS", 0))
    if seconds <= 0:
        return build()
    now = time.monotonic()
    hit = _SHARED.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = build()
    _SHARED[key] = (now + seconds, value)
    return value


def forget_shared() -> None:
    """Drop the process-wide copies (after a change of settings or closures)."""
    _SHARED.clear()


def _settings_values(library_id: int) -> dict[str, Any]:
    row = db.session.get(CirculationSettings, library_id)
    return dict(DEFAULTS) if row is None else {name: getattr(row, name) for name in SETTING_FIELDS}


def settings_for(library_id: int) -> CirculationSettings:
    """The library's circulation settings (a detached copy; the defaults until someone saves them)."""
    memo = _memo()
    key = ("settings", library_id)
    if key not in memo:
        values = _shared(("settings", library_id), lambda: _settings_values(library_id))
        memo[key] = CirculationSettings(library_id=library_id, **values)
    return memo[key]


def library(library_id: int) -> Library | None:
    """A library row, remembered for the transaction (the identity map alone does not keep it)."""
    memo = _memo()
    key = ("library", library_id)
    if key not in memo:
        memo[key] = db.session.get(Library, library_id)
    return memo[key]


def calendar_for(library_id: int, around: date) -> LibraryCalendar:
    """The library's calendar for the year of ``around`` and the next (due dates may cross a year)."""
    memo = _memo()
    key = ("calendar", library_id, around.year)
    if key not in memo:
        memo[key] = _shared(key, lambda: _build_calendar(library_id, around))  # immutable: safe to share
    return memo[key]


def _build_calendar(library_id: int, around: date) -> LibraryCalendar:
    found = library(library_id)
    if found is None:
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
    return build_calendar(tz_name=found.timezone, opening_hours=found.opening_hours or {}, years=years,
                          overrides=list(chosen.values()), national=settings.national_holidays,
                          cuti_bersama=settings.cuti_bersama)


def rules_for(library_id: int) -> list[CirculationRule]:
    """The rows of the matrix that may apply at a library: its own and the city-wide ones."""
    return list(db.session.scalars(select(CirculationRule).where(
        or_(CirculationRule.library_id.is_(None), CirculationRule.library_id == library_id))))


@dataclass(frozen=True)
class RuleRow:
    """A read-only copy of a matrix row, safe to share between requests and threads."""

    id: int
    library_id: int | None
    category_code: str
    item_type: str
    loanable: bool
    loan_days: int | None
    loan_hours: int | None
    max_loans_library: int
    max_loans_city: int
    renewals: int
    renewal_days: int
    fine_per_day: int
    fine_cap: int
    grace_days: int
    holds_allowed: bool
    hold_shelf_days: int
    other_libraries: bool
    note: str


def rule_rows(library_id: int) -> list[RuleRow]:
    """The matrix rows that may apply at a library, as shared copies (checkout and holds read these)."""
    return _shared(("rules", library_id), lambda: [
        RuleRow(**{name: getattr(rule, name) for name in RuleRow.__dataclass_fields__})
        for rule in rules_for(library_id)])


def rupiah(amount: int) -> str:
    """Rupiah as Indonesians write it: Rp 12.500."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def local_today(library_id: int, now: datetime) -> date:
    """The library's local date at ``now``."""
    found = library(library_id)
    return now.astimezone(ZoneInfo(found.timezone if found else "Asia/Makassar")).date()


def as_dict(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """Some attributes of an object as a dict."""
    return {name: getattr(obj, name) for name in fields}
