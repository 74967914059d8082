"""The reads every checkout and check-in makes, as statements built once.

A desk scan runs these on every request: a statement object built once keeps its SQLAlchemy cache
key, so it is neither rebuilt nor re-hashed per request, and each read answers several questions in
one round trip.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, exists, func, or_, select

from catalog.models import Item
from circulation.models import Fee, Hold, HoldStatus, Loan, Patron, PatronStatus
from circulation.services.holds import OPEN
from ils.extensions import db

_PATRON_ID, _ITEM_ID = bindparam("patron_id"), bindparam("item_id")
# The patron's active loans (all, overdue, at the item's library), unpaid fees and open holds on the title.
_LOAN_COUNTS = select(
    func.count(), func.count().filter(Loan.due_at < bindparam("now")),
    func.count().filter(Loan.item_library_id == bindparam("item_library_id")),
    select(func.coalesce(func.sum(Fee.amount - Fee.paid - Fee.waived), 0))
    .where(Fee.patron_id == _PATRON_ID, Fee.settled_at.is_(None)).scalar_subquery(),
    select(func.count()).where(Hold.patron_id == _PATRON_ID, Hold.record_id == bindparam("record_id"),
                               Hold.status.in_(OPEN)).scalar_subquery(),
).where(Loan.patron_id == _PATRON_ID, Loan.returned_at.is_(None))
# The card's patron and the id of the loan a request key already made.
_PATRON_AND_REPEAT = select(Patron, select(Loan.id).where(Loan.request_key == bindparam("request_key"))
                            .scalar_subquery()).where(Patron.card_number == bindparam("card"))
_BY_REQUEST_KEY = select(Loan).where(Loan.request_key == bindparam("request_key"))
# The copy's active loan, and whether a waiting hold could take the copy (the same condition as the
# hold queue read at capture). The patron is not joined in: for the one active-loan row PostgreSQL
# chose a merge join that walks the patron key index from its start when the loans' patron_id
# statistics are skewed (the bench's 500-loan patron: about 4 ms of its CPU per check-in with 50,000
# patrons); the lazy load by primary key that follows costs a fraction of that.
_CHECKIN_LOAN = select(Loan, exists().where(
    Hold.record_id == bindparam("record_id"), Hold.status == HoldStatus.WAITING,
    or_(Hold.item_id.is_(None), Hold.item_id == _ITEM_ID))).where(Loan.item_id == _ITEM_ID, Loan.returned_at.is_(None))


def loan_counts(patron_id: int, item: Item | None, *, now: datetime) -> Row[Any]:
    """(active loans, overdue, at the item's library, unpaid fees, open holds on the item's title)."""
    return db.session.execute(_LOAN_COUNTS, {
        "patron_id": patron_id, "now": now, "item_library_id": item.library_id if item else -1,
        "record_id": item.record_id if item else -1}).one()


def by_request_key(request_key: str | None) -> Loan | None:
    """The loan a checkout with this request key made, if any."""
    return db.session.scalar(_BY_REQUEST_KEY, {"request_key": request_key}) if request_key else None


def patron_and_repeat(card_number: str, request_key: str | None,
                      patron: Patron | None = None) -> tuple[Patron | None, Loan | None]:
    """The card's patron and the loan the request key already made (a repeated request), in one query.

    ``patron``: the caller's, used when it has that card. The patron is None for an unknown or
    erased card (as ``patrons.require_by_card`` refuses); the loan is None for a new request.
    """
    if patron is not None and patron.card_number == card_number.strip():
        return patron, by_request_key(request_key)
    row = db.session.execute(_PATRON_AND_REPEAT, {"card": card_number.strip(), "request_key": request_key}).first()
    if row is None:  # an unknown card: a known key still answers "used for another checkout"
        return None, by_request_key(request_key)
    found = None if row[0].status == PatronStatus.ERASED else row[0]
    return found, (db.session.get(Loan, row[1]) if row[1] is not None else None)


def checkin_loan(item: Item) -> tuple[Loan | None, bool | None]:
    """The copy's active loan and whether a waiting hold could take the copy.

    Without an active loan the second value is None (unknown: the hold queue is read as usual).
    """
    row = db.session.execute(_CHECKIN_LOAN, {"item_id": item.id, "record_id": item.record_id}).first()
    return (row[0], bool(row[1])) if row is not None else (None, None)
