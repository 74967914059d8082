"""Per-library circulation settings, closures and the year calendar, and SIP2 kiosk accounts.

Settings and closures are rows, not deploy config (house style habit 4): a head librarian changes
their own library's, admin and the DPK also the city-wide closures. The year calendar is read back
through common.calendar_for, the same function due dates and fines use, so the page shows exactly
what circulation will do.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from circulation.calendar import national_closures
from circulation.models import CirculationSettings, LibraryClosure, SipAccount
from circulation.services.common import SETTING_FIELDS, as_dict, calendar_for, forget_memo, settings_for
from ils import audit, authz
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library
from ils.passwords import check_policy, hash_password

SETTINGS_PERMISSION = "library.settings"
SIP_PERMISSION = "sip.manage"
SIP_FIELDS = ("login", "library_id", "label", "active", "require_pin")
CLOSURE_FIELDS = ("library_id", "on_date", "closed", "reason")
SIP_LOGIN = re.compile(r"[A-Za-z0-9._-]{3,40}")
# The holidays package knows Indonesia's calendar for these years; outside them a date is a typo.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_FEE_THRESHOLD = 10_000_000


def _library(library_id: int) -> Library:
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    return library


# --- settings ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SettingsInput:
    """Every circulation setting of a library (see CirculationSettings for what each means)."""

    fines_skip_closed: bool = True
    national_holidays: bool = True
    cuti_bersama: bool = True
    floating: bool = False
    pickup_point: bool = True
    fee_block_threshold: int = 10000
    block_on_overdue: bool = True
    self_registration: bool = True
    due_soon_days: int = 2


def get_settings(*, actor: Actor, library_id: int) -> CirculationSettings:
    """A library's settings (the defaults, unsaved, until someone saves them)."""
    authz.require(actor, SETTINGS_PERMISSION, library_id)
    _library(library_id)
    return settings_for(library_id)


def update_settings(*, actor: Actor, library_id: int, data: SettingsInput, now: datetime) -> CirculationSettings:
    """Save a library's circulation settings; the row is created on the first save."""
    authz.require(actor, SETTINGS_PERMISSION, library_id)
    _library(library_id)
    if not 0 <= data.fee_block_threshold <= MAX_FEE_THRESHOLD:
        raise ValidationFailed(_l("The fee limit must be between Rp 0 and Rp %(high)s.", high=f"{MAX_FEE_THRESHOLD:,}"),
                               field="fee_block_threshold")
    if not 0 <= data.due_soon_days <= 14:
        raise ValidationFailed(_l("The reminder must come 0 to 14 days before the due date."), field="due_soon_days")
    row = db.session.get(CirculationSettings, library_id)
    if row is None:
        row = settings_for(library_id)  # the defaults, so the audit diff shows what really changed
        db.session.add(row)
    before = as_dict(row, SETTING_FIELDS)
    for name, value in asdict(data).items():
        setattr(row, name, value)
    db.session.flush()
    changes = audit.diff(before, as_dict(row, SETTING_FIELDS))
    if changes:
        audit.record(actor, "circulation.settings", object_type="library", object_id=library_id,
                     library_id=library_id, details={"changes": changes}, now=now)
        db.session.flush()
    forget_memo()  # due dates and fines computed later in this transaction see the change
    return row


# --- closures ---------------------------------------------------------------------------------------------

def _year_range(year: int) -> tuple[date, date]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(_l("Choose a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
                               field="year")
    return date(year, 1, 1), date(year, 12, 31)


def _closure_rows(library_id: int, year: int) -> list[LibraryClosure]:
    """The library's own and the city-wide rows of a year, city-wide first on each day."""
    first, last = _year_range(year)
    stmt = (select(LibraryClosure)
            .where((LibraryClosure.library_id.is_(None)) | (LibraryClosure.library_id == library_id))
            .where(LibraryClosure.on_date >= first, LibraryClosure.on_date <= last)
            .order_by(LibraryClosure.on_date, LibraryClosure.library_key))
    return list(db.session.scalars(stmt))


def list_closures(*, actor: Actor, library_id: int, year: int) -> list[LibraryClosure]:
    """Closures and "open despite the holiday" rows of a year that concern a library."""
    authz.require(actor, SETTINGS_PERMISSION, library_id)
    _library(library_id)
    return _closure_rows(library_id, year)


def may_write_closures(actor: Actor, library_id: int | None) -> bool:
    """True if the actor may add or remove rows of this library (None: city-wide rows)."""
    return authz.can(actor, SETTINGS_PERMISSION, library_id)


def _day_label(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def add_closure(*, actor: Actor, library_id: int | None, on_date: date, closed: bool, reason: str,
                now: datetime) -> LibraryClosure:
    """Close a library (library_id None: every library) on a day, or keep it open despite a holiday.

    An "open" row only makes sense on a day that would otherwise be closed: a national holiday or
    cuti bersama day, or (for one library) a city-wide closure; anything else is refused so the
    calendar never holds rows that change nothing.
    """
    authz.require(actor, SETTINGS_PERMISSION, library_id)
    if library_id is not None:
        _library(library_id)
    _year_range(on_date.year)
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise ValidationFailed(_l("Give a reason of at most 200 characters (it is shown on the calendar)."),
                               field="reason")
    if not closed and on_date not in national_closures([on_date.year], cuti_bersama=True):
        city_closed = library_id is not None and db.session.scalar(select(LibraryClosure.id).where(
            LibraryClosure.library_id.is_(None), LibraryClosure.on_date == on_date, LibraryClosure.closed.is_(True)))
        if not city_closed:
            raise ValidationFailed(_l("%(day)s is not a national holiday, cuti bersama or city-wide closure, so the "
                                      "library is open that day anyway.", day=_day_label(on_date)), field="on_date")
    _refuse_duplicate_day(library_id, on_date)
    row = LibraryClosure(library_id=library_id, on_date=on_date, closed=closed, reason=reason)
    db.session.add(row)
    try:
        with db.session.begin_nested():  # a row saved meanwhile by someone else: the same clear Conflict
            db.session.flush()
    except IntegrityError:
        _refuse_duplicate_day(library_id, on_date)
        raise
    audit.record(actor, "closure.add", object_type="circ_closure", object_id=row.id, library_id=library_id,
                 details={"changes": audit.diff({}, as_dict(row, CLOSURE_FIELDS))}, now=now)
    db.session.flush()
    forget_memo()  # due dates and fines computed later in this transaction see the change
    return row


def _refuse_duplicate_day(library_id: int | None, on_date: date) -> None:
    other = db.session.scalar(select(LibraryClosure).where(LibraryClosure.library_key == (library_id or 0),
                                                           LibraryClosure.on_date == on_date))
    if other is not None:
        raise Conflict(_l("%(day)s already has an entry (%(reason)s). Remove it first.", day=_day_label(on_date),
                          reason=other.reason), field="on_date")


def remove_closure(*, actor: Actor, closure_id: int, now: datetime) -> LibraryClosure:
    """Delete a closure or "open" row (city-wide rows: admin and DPK only); returns the deleted row."""
    row = db.session.get(LibraryClosure, closure_id)
    if row is None:
        raise NotFound()
    authz.require(actor, SETTINGS_PERMISSION, row.library_id)
    audit.record(actor, "closure.remove", object_type="circ_closure", object_id=row.id, library_id=row.library_id,
                 details={"changes": audit.diff(as_dict(row, CLOSURE_FIELDS), {})}, now=now)
    db.session.delete(row)
    db.session.flush()
    forget_memo()  # due dates and fines computed later in this transaction see the change
    return row


@dataclass(frozen=True)
class CalendarEntry:
    """One day of the year page: what it is, the row that overrides it, and whether the library is closed."""

    day: date
    kind: str  # national | cuti_bersama | local
    holiday: str  # the national holiday's name ("" for a local closure)
    row: LibraryClosure | None  # the deciding row: the library's own, else the city-wide one
    shadowed_row: LibraryClosure | None  # a city-wide row the library's own row overrides
    observed: bool  # False: the library's settings ignore this kind of national day
    closed: bool  # the effective answer circulation uses


@dataclass(frozen=True)
class YearCalendar:
    """A library's closed days of one year."""

    library: Library
    year: int
    settings: CirculationSettings
    entries: list[CalendarEntry]

    @property
    def closed_count(self) -> int:
        """Days in the list the library is closed."""
        return sum(1 for entry in self.entries if entry.closed)


def year_calendar(*, actor: Actor, library_id: int, year: int) -> YearCalendar:
    """National holidays, cuti bersama and local rows of a year, with the library's overrides applied."""
    authz.require(actor, SETTINGS_PERMISSION, library_id)
    library = _library(library_id)
    _year_range(year)
    every = national_closures([year], cuti_bersama=True)
    public = national_closures([year], cuti_bersama=False)
    settings = settings_for(library_id)
    own: dict[date, LibraryClosure] = {}
    city: dict[date, LibraryClosure] = {}
    for row in _closure_rows(library_id, year):
        (city if row.library_id is None else own)[row.on_date] = row
    # The calendar circulation itself uses: the page cannot disagree with due dates and fines.
    closed = calendar_for(library_id, date(year, 7, 1)).closed
    entries = []
    for day in sorted(set(every) | set(own) | set(city)):
        kind = "national" if day in public else "cuti_bersama" if day in every else "local"
        observed = {"national": settings.national_holidays,
                    "cuti_bersama": settings.national_holidays and settings.cuti_bersama}.get(kind, True)
        deciding = own.get(day) or city.get(day)
        entries.append(CalendarEntry(day=day, kind=kind, holiday=every.get(day, ""), row=deciding,
                                     shadowed_row=city.get(day) if day in own else None, observed=observed,
                                     closed=day in closed))
    return YearCalendar(library=library, year=year, settings=settings, entries=entries)


# --- SIP2 kiosk accounts ------------------------------------------------------------------------------------

def list_sip_accounts(*, actor: Actor, library_id: int | None = None) -> list[SipAccount]:
    """Kiosk accounts the actor manages (network roles: all, or one library's with ``library_id``)."""
    visible = authz.require_listing(actor, SIP_PERMISSION)
    stmt = select(SipAccount).join(Library).order_by(Library.name, SipAccount.login)
    if library_id is not None:
        authz.require(actor, SIP_PERMISSION, library_id)
        stmt = stmt.where(SipAccount.library_id == library_id)
    elif visible is not None:
        stmt = stmt.where(SipAccount.library_id.in_(visible))
    return list(db.session.scalars(stmt))


def get_sip_account(*, actor: Actor, account_id: int) -> SipAccount:
    """One kiosk account the actor manages."""
    account = db.session.get(SipAccount, account_id)
    if account is None:
        raise NotFound()
    authz.require(actor, SIP_PERMISSION, account.library_id)
    return account


def create_sip_account(*, actor: Actor, library_id: int | None, login: str, password: str, label: str = "",
                       require_pin: bool = True, now: datetime) -> SipAccount:
    """A self-check machine's login for one library; only the argon2 hash of the password is kept."""
    if library_id is None:
        raise ValidationFailed(_l("Choose the library first."), field="library_id")
    authz.require(actor, SIP_PERMISSION, library_id)
    _library(library_id)
    login = login.strip()
    if not SIP_LOGIN.fullmatch(login):
        raise ValidationFailed(_l("Use 3 to 40 letters, digits, dots, dashes or underscores for the login."),
                               field="login")
    if db.session.scalar(select(SipAccount.id).where(SipAccount.login == login)) is not None:
        raise Conflict(_l("The kiosk login %(login)s is already used.", login=login), field="login")
    label = label.strip()
    if len(label) > 100:
        raise ValidationFailed(_l("The label may be at most 100 characters long."), field="label")
    check_policy(password, username=login)
    account = SipAccount(login=login, password_hash=hash_password(password), library_id=library_id, label=label,
                         require_pin=require_pin, active=True)
    db.session.add(account)
    db.session.flush()
    audit.record(actor, "sip.create", object_type="circ_sip_account", object_id=account.id, library_id=library_id,
                 details={"changes": audit.diff({}, as_dict(account, SIP_FIELDS))}, now=now)
    db.session.flush()
    return account


def reset_sip_password(*, actor: Actor, account_id: int, password: str, now: datetime) -> SipAccount:
    """Give a kiosk account a new password (the kiosk's configuration must be changed to match)."""
    account = get_sip_account(actor=actor, account_id=account_id)
    check_policy(password, username=account.login)
    account.password_hash = hash_password(password)
    audit.record(actor, "sip.password", object_type="circ_sip_account", object_id=account.id,
                 library_id=account.library_id, details={"login": account.login}, now=now)
    db.session.flush()
    return account


def deactivate_sip_account(*, actor: Actor, account_id: int, now: datetime) -> SipAccount:
    """Stop a kiosk account from logging in (kept for the loans and audit rows that name it)."""
    account = get_sip_account(actor=actor, account_id=account_id)
    if account.active:
        account.active = False
        audit.record(actor, "sip.deactivate", object_type="circ_sip_account", object_id=account.id,
                     library_id=account.library_id, details={"changes": {"active": [True, False]}}, now=now)
        db.session.flush()
    return account

