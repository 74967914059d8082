"""Circulation figures for workflows and reports (named metrics in the ils.metrics registry).

Periods are local dates (start and end inclusive; None leaves that side open). Instants such as
checkout times are compared with the period's local midnights in the library's timezone, or in
ILS_DEFAULT_TIMEZONE for the whole network. Member figures are read from the patron rows as they
are now (a card blocked today is not counted for last year either): the database keeps no history
of statuses, and a reconstruction from loans would need the patron links that UU PDP has us cut.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from circulation.models import InHouseUse, Loan, Patron, PatronCategory, PatronStatus, Visit
from ils import metrics
from ils.extensions import db
from ils.models import Library


def _zone(library_id: int | None) -> ZoneInfo:
    library = db.session.get(Library, library_id) if library_id is not None else None
    return ZoneInfo(library.timezone if library else current_app.config["ILS_DEFAULT_TIMEZONE"])


def _instant_window(column: InstrumentedAttribute[datetime], library_id: int | None, start: date | None,
                    end: date | None) -> list[ColumnElement[bool]]:
    return _zone_window(column, _zone(library_id), start, end)


def _zone_window(column: InstrumentedAttribute[datetime], zone: ZoneInfo, start: date | None,
                 end: date | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= datetime.combine(start, time(0), tzinfo=zone))
    if end is not None:
        where.append(column < datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone))
    return where


def _date_window(column: InstrumentedAttribute[date], start: date | None,
                 end: date | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= start)
    if end is not None:
        where.append(column <= end)
    return where


@metrics.register("circulation.visits", description="Visitors counted in the visitor log (members and guests, "
                                                    "group sizes included)")
def visits(library_id: int | None, start: date | None, end: date | None) -> float:
    """People who visited a library (or the network) in the period."""
    stmt = select(func.coalesce(func.sum(Visit.group_size), 0)).where(*_date_window(Visit.local_date, start, end))
    if library_id is not None:
        stmt = stmt.where(Visit.library_id == library_id)
    return float(db.session.scalar(stmt) or 0)


@metrics.register("circulation.in_house_use", description="Items read in the library without a loan")
def in_house_use(library_id: int | None, start: date | None, end: date | None) -> float:
    """In-library uses (baca di tempat) recorded in the period."""
    stmt = select(func.coalesce(func.sum(InHouseUse.count), 0)).where(
        *_date_window(InHouseUse.local_date, start, end))
    if library_id is not None:
        stmt = stmt.where(InHouseUse.library_id == library_id)
    return float(db.session.scalar(stmt) or 0)


@metrics.register("circulation.loans", description="Checkouts made at the library (renewals not counted)")
def loans(library_id: int | None, start: date | None, end: date | None) -> float:
    """Loans lent at a library (or the network) in the period, anonymised ones included."""
    stmt = select(func.count()).select_from(Loan).where(
        *_instant_window(Loan.checked_out_at, library_id, start, end))
    if library_id is not None:
        stmt = stmt.where(Loan.library_id == library_id)
    return float(db.session.scalar(stmt) or 0)


def _members(library_id: int | None, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    """Conditions for a member with a valid card at the end of the period."""
    where = _valid_card(_zone(library_id), end)
    if library_id is not None:
        where.append(Patron.home_library_id == library_id)
    return where


def _valid_card(zone: ZoneInfo, end: date | None) -> list[ColumnElement[bool]]:
    day = end or datetime.now(zone).date()
    return [Patron.status == PatronStatus.ACTIVE,
            or_(Patron.expiry_date.is_(None), Patron.expiry_date >= day),
            or_(Patron.approved_at.is_(None),
                Patron.approved_at < datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone))]


@metrics.register("circulation.active_members", description="Members whose card is valid at the end of the "
                                                            "period (home library)")
def active_members(library_id: int | None, start: date | None, end: date | None) -> float:
    """Active, unexpired members registered by the end of the period."""
    return float(db.session.scalar(select(func.count()).select_from(Patron)
                                   .where(*_members(library_id, start, end))) or 0)


@metrics.register("circulation.new_members", description="Members who joined in the period (home library)")
def new_members(library_id: int | None, start: date | None, end: date | None) -> float:
    """Members approved in the period (desk registrations, approved OPAC sign-ups, class lists)."""
    stmt = select(func.count()).select_from(Patron).where(
        Patron.approved_at.is_not(None), *_instant_window(Patron.approved_at, library_id, start, end))
    if library_id is not None:
        stmt = stmt.where(Patron.home_library_id == library_id)
    return float(db.session.scalar(stmt) or 0)


@metrics.register("circulation.pupil_members", description="Active members in a school-pupil category "
                                                           "(IPLM: members among school pupils)")
def pupil_members(library_id: int | None, start: date | None, end: date | None) -> float:
    """Active members whose category counts as school pupils."""
    stmt = (select(func.count()).select_from(Patron)
            .join(PatronCategory, PatronCategory.code == Patron.category_code)
            .where(PatronCategory.is_pupil.is_(True), *_members(library_id, start, end)))
    return float(db.session.scalar(stmt) or 0)


# --- the same figures for many libraries in one query per timezone (the DPK dashboard) ---------------

def _by_zone(library_ids: list[int]) -> dict[ZoneInfo, list[int]]:
    """The libraries grouped by their timezone (instants are compared with local midnights)."""
    zones: dict[ZoneInfo, list[int]] = {}
    for library_id, name in db.session.execute(select(Library.id, Library.timezone).where(Library.id.in_(library_ids))):
        zones.setdefault(ZoneInfo(name or current_app.config["ILS_DEFAULT_TIMEZONE"]), []).append(library_id)
    return zones


def _counts(stmt: Select[tuple[int, int]]) -> dict[int, float]:
    return {library_id: float(count or 0) for library_id, count in db.session.execute(stmt)}


@metrics.grouped("circulation.visits")
def visits_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Visitors per library in the period."""
    return _counts(select(Visit.library_id, func.coalesce(func.sum(Visit.group_size), 0))
                   .where(Visit.library_id.in_(library_ids), *_date_window(Visit.local_date, start, end))
                   .group_by(Visit.library_id))


@metrics.grouped("circulation.loans")
def loans_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Loans lent per library in the period."""
    out: dict[int, float] = {}
    for zone, ids in _by_zone(library_ids).items():
        out.update(_counts(select(Loan.library_id, func.count()).where(
            Loan.library_id.in_(ids), *_zone_window(Loan.checked_out_at, zone, start, end)).group_by(Loan.library_id)))
    return out


@metrics.grouped("circulation.active_members")
def active_members_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Members with a valid card at the end of the period, per home library."""
    out: dict[int, float] = {}
    for zone, ids in _by_zone(library_ids).items():
        out.update(_counts(select(Patron.home_library_id, func.count()).where(
            Patron.home_library_id.in_(ids), *_valid_card(zone, end)).group_by(Patron.home_library_id)))
    return out


@metrics.grouped("circulation.new_members")
def new_members_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Members approved in the period, per home library."""
    out: dict[int, float] = {}
    for zone, ids in _by_zone(library_ids).items():
        out.update(_counts(select(Patron.home_library_id, func.count()).where(
            Patron.home_library_id.in_(ids), Patron.approved_at.is_not(None),
            *_zone_window(Patron.approved_at, zone, start, end)).group_by(Patron.home_library_id)))
    return out
