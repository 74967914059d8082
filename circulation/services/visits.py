"""The visitor log (buku tamu) and in-library use (baca di tempat): counts, never who.

A member scans their card and we keep only their category (and gender, for the usual L/P
statistics), never the card or the patron: a visit log that names people is a movement record
nobody asked us to keep (UU PDP data minimisation). Guests tick a category and a purpose.

Double scans: a card scanned again at the same library within DEDUPE_WINDOW of the scan that was
counted counts once. What is remembered for that is a keyed hash (HMAC with a key derived from
SECRET_KEY) of library + card in circ_visit_seen, deleted once older than the window: no card
number is stored, and without the key the hash cannot be matched to a card (card numbers are short
enough to enumerate, so a plain hash would not do). The table is shared by every web process.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from catalog.services import items as catalog_items
from circulation.models import InHouseUse, Patron, PatronStatus, Visit, VisitSeen
from circulation.services.common import local_today
from ils.authz import Actor, require
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library

DEDUPE_WINDOW = timedelta(minutes=10)
MAX_GROUP = 500
MAX_IN_HOUSE_COUNT = 1000

# Guest kinds and visit purposes: codes stored in circ_visit, labels shown on the kiosk.
GUEST_CATEGORIES = {
    "anak": _l("Child"),
    "pelajar": _l("School pupil"),
    "mahasiswa": _l("University student"),
    "guru": _l("Teacher"),
    "umum": _l("General public"),
}
PURPOSES = {
    "membaca": _l("Reading"),
    "meminjam": _l("Borrowing or returning books"),
    "belajar": _l("Studying or homework"),
    "internet": _l("Internet"),
    "kegiatan": _l("An event or activity"),
    "lainnya": _l("Something else"),
}
GENDERS = {"L": _l("Male"), "P": _l("Female")}


def seen_recently(key: str, *, library_id: int, now: datetime) -> bool:
    """True if this keyed hash was counted less than DEDUPE_WINDOW ago; otherwise remember it now.

    One table shared by every web process; expired rows are deleted here, so it holds minutes only.
    """
    db.session.execute(delete(VisitSeen).where(VisitSeen.expires_at <= now))
    if db.session.get(VisitSeen, key) is not None:
        return True
    try:
        with db.session.begin_nested():
            db.session.add(VisitSeen(key_hash=key, library_id=library_id, expires_at=now + DEDUPE_WINDOW))
    except IntegrityError:
        return True  # the same card scanned at the same moment on another kiosk
    return False


def _scan_key(library_id: int, card_number: str) -> str:
    secret = (current_app.config.get("SECRET_KEY") or "").encode()
    key = hmac.new(secret, b"circulation-visit-dedupe", hashlib.sha256).digest()
    return hmac.new(key, f"{library_id}:{card_number}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VisitResult:
    """The visit row (None when a repeated scan was not counted again) and what the kiosk says."""

    visit: Visit | None
    member: bool
    category: str

    @property
    def counted(self) -> bool:
        """True if this scan or tick added a visit."""
        return self.visit is not None


def _library(actor: Actor, library_id: int) -> Library:
    require(actor, "visits.record", library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    return library


def record_visit(*, actor: Actor, library_id: int, now: datetime, card_number: str | None = None,
                 guest_category: str | None = None, purpose: str, gender: str = "",
                 group_size: int = 1) -> VisitResult:
    """Count one visit: a member by card (category only is kept) or a guest by category and purpose."""
    _library(actor, library_id)
    card = (card_number or "").strip()
    if bool(card) == bool(guest_category):
        raise ValidationFailed(_l("Scan a library card or choose a visitor category."), field="card_number")
    if purpose and purpose not in PURPOSES:
        raise ValidationFailed(_l("Choose the purpose of the visit from the list."), field="purpose")
    if gender not in ("", *GENDERS):
        raise ValidationFailed(_l("Unknown gender code."), field="gender")
    if not 1 <= group_size <= MAX_GROUP:
        raise ValidationFailed(_l("A group has between 1 and %(max)d people.", max=MAX_GROUP), field="group_size")
    if card:
        patron = db.session.scalar(select(Patron).where(Patron.card_number == card))
        if patron is None or patron.status == PatronStatus.ERASED:
            # Not a 404: at a kiosk a mistyped card is an everyday event with a message on the form.
            raise ValidationFailed(_l("No member has this card number."), field="card_number")
        category, member, gender, group_size = patron.category_code, True, patron.gender or "", 1
        if seen_recently(_scan_key(library_id, card), library_id=library_id, now=now):
            return VisitResult(visit=None, member=True, category=category)
    else:
        if guest_category not in GUEST_CATEGORIES:
            raise ValidationFailed(_l("Choose the visitor category from the list."), field="category")
        if not purpose:
            raise ValidationFailed(_l("Choose the purpose of the visit from the list."), field="purpose")
        category, member = str(guest_category), False
    visit = Visit(library_id=library_id, at=now, local_date=local_today(library_id, now), member=member,
                  category=category, purpose=purpose or "", gender=gender, group_size=group_size)
    db.session.add(visit)
    db.session.flush()
    return VisitResult(visit=visit, member=member, category=category)


def record_in_house_use(*, actor: Actor, library_id: int, barcode: str, now: datetime, count: int = 1) -> InHouseUse:
    """Count an item read in the library without a loan (baca di tempat)."""
    _library(actor, library_id)
    if not 1 <= count <= MAX_IN_HOUSE_COUNT:
        raise ValidationFailed(_l("The count must be between 1 and %(max)d.", max=MAX_IN_HOUSE_COUNT), field="count")
    item = catalog_items.item_by_barcode(barcode or "")
    if item is None:
        raise ValidationFailed(_l("No item has this barcode."), field="barcode")
    row = InHouseUse(library_id=library_id, item_id=item.id, at=now, local_date=local_today(library_id, now),
                     count=count)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass(frozen=True)
class DayCount:
    """Visitors (members, guests, counting group sizes) and in-library uses on one local date."""

    day: date
    members: int
    guests: int
    in_house: int

    @property
    def visitors(self) -> int:
        """Members and guests together."""
        return self.members + self.guests


def daily_counts(library_id: int, start: date, end: date) -> list[DayCount]:
    """One row per local date from ``start`` to ``end`` (inclusive), zero on days without visitors."""
    visits = db.session.execute(
        select(Visit.local_date, Visit.member, func.sum(Visit.group_size))
        .where(Visit.library_id == library_id, Visit.local_date >= start, Visit.local_date <= end)
        .group_by(Visit.local_date, Visit.member)).all()
    uses = db.session.execute(
        select(InHouseUse.local_date, func.sum(InHouseUse.count))
        .where(InHouseUse.library_id == library_id, InHouseUse.local_date >= start, InHouseUse.local_date <= end)
        .group_by(InHouseUse.local_date)).all()
    members: dict[date, int] = {}
    guests: dict[date, int] = {}
    for day, member, total in visits:
        (members if member else guests)[day] = int(total or 0)
    in_house = {day: int(total or 0) for day, total in uses}
    days = []
    day = start
    while day <= end:
        days.append(DayCount(day=day, members=members.get(day, 0), guests=guests.get(day, 0),
                             in_house=in_house.get(day, 0)))
        day += timedelta(days=1)
    return days
