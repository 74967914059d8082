"""Fees and payments: partial payments oldest fee first, waivers with reasons, receipts, cash report."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from circulation.models import Fee, FeeKind, FeeTransaction, Patron, TransactionKind
from ils import audit
from ils.authz import Actor, require
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library

METHODS = ("cash", "transfer", "qris")


@dataclass
class Receipt:
    """What a desk prints after taking money or waiving a fee."""

    number: str
    patron: Patron
    library: Library
    at: datetime
    lines: list[FeeTransaction]
    method: str

    @property
    def total(self) -> int:
        """Sum of the receipt's lines."""
        return sum(line.amount for line in self.lines)


def open_fees(patron_id: int) -> list[Fee]:
    """Unsettled fees of a patron, oldest first."""
    return list(db.session.scalars(select(Fee).where(Fee.patron_id == patron_id, Fee.settled_at.is_(None))
                                   .order_by(Fee.created_at, Fee.id)))


def balance(patron_id: int) -> int:
    """What the patron owes in total (rupiah)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Fee.amount - Fee.paid - Fee.waived), 0))
                                 .where(Fee.patron_id == patron_id, Fee.settled_at.is_(None))) or 0)


def _receipt_number(library: Library, now: datetime) -> str:
    day = now.astimezone(ZoneInfo(library.timezone)).strftime("%Y%m%d")
    prefix = f"{library.code}-{day}-"
    count = db.session.scalar(select(func.count(func.distinct(FeeTransaction.receipt_no)))
                              .where(FeeTransaction.receipt_no.like(f"{prefix}%"))) or 0
    return f"{prefix}{count + 1:04d}"


def _settle(fee: Fee, now: datetime) -> None:
    if fee.balance == 0 and fee.settled_at is None:
        fee.settled_at = now


def pay(*, actor: Actor, patron_id: int, amount: int, library_id: int, now: datetime, method: str = "cash",
        fee_ids: list[int] | None = None) -> Receipt:
    """Take a payment at a desk; it settles the chosen (or the oldest) fees first. Partial is fine."""
    require(actor, "fees.collect", library_id)
    if amount <= 0:
        raise ValidationFailed(_l("The amount must be more than zero."), field="amount")
    if method not in METHODS:
        raise ValidationFailed(_l("Unknown payment method."), field="method")
    patron = db.session.get(Patron, patron_id)
    if patron is None:
        raise NotFound()
    fees = [f for f in open_fees(patron_id) if fee_ids is None or f.id in fee_ids]
    owed = sum(f.balance for f in fees)
    if amount > owed:
        raise ValidationFailed(_l("The amount is more than what is owed (%(owed)s).", owed=f"Rp {owed:,}".replace(",", ".")),
                               field="amount")
    library = db.session.get(Library, library_id)
    number = _receipt_number(library, now)
    lines = []
    left = amount
    for fee in fees:
        if left == 0:
            break
        part = min(left, fee.balance)
        fee.paid += part
        left -= part
        _settle(fee, now)
        line = FeeTransaction(fee_id=fee.id, kind=TransactionKind.PAYMENT, amount=part, library_id=library_id,
                              receipt_no=number, method=method, at=now, actor_label=actor.label)
        db.session.add(line)
        lines.append(line)
    audit.record(actor, "fee.pay", object_type="patron", object_id=patron_id, library_id=library_id,
                 details={"amount": amount, "receipt": number, "method": method}, now=now)
    db.session.flush()
    return Receipt(number=number, patron=patron, library=library, at=now, lines=lines, method=method)


def waive_fee(fee: Fee, *, amount: int, reason: str, actor: Actor, library_id: int, now: datetime) -> FeeTransaction:
    """Forgive part or all of one fee (the reason is kept on the transaction and in the audit log)."""
    if not reason.strip():
        raise ValidationFailed(_l("Give the reason for the waiver."), field="reason")
    if amount <= 0 or amount > fee.balance:
        raise ValidationFailed(_l("The waiver must be between Rp 1 and what is still owed."), field="amount")
    library = db.session.get(Library, library_id)
    fee.waived += amount
    _settle(fee, now)
    line = FeeTransaction(fee_id=fee.id, kind=TransactionKind.WAIVER, amount=amount, library_id=library_id,
                          receipt_no=_receipt_number(library, now), method="waiver", reason=reason.strip()[:300],
                          at=now, actor_label=actor.label)
    db.session.add(line)
    audit.record(actor, "fee.waive", object_type="fee", object_id=fee.id, library_id=library_id,
                 details={"amount": amount, "reason": reason.strip()[:300]}, now=now)
    db.session.flush()
    return line


def waive(*, actor: Actor, fee_id: int, amount: int, reason: str, now: datetime) -> FeeTransaction:
    """Staff waive a fee charged by their library."""
    fee = db.session.get(Fee, fee_id)
    if fee is None:
        raise NotFound()
    require(actor, "fees.waive", fee.library_id)
    return waive_fee(fee, amount=amount, reason=reason, actor=actor, library_id=fee.library_id, now=now)


def charge(*, actor: Actor, patron_id: int, library_id: int, kind: FeeKind, amount: int, description: str,
           now: datetime) -> Fee:
    """A manual charge (replacement card, damage) by a library."""
    require(actor, "fees.collect", library_id)
    if amount <= 0:
        raise ValidationFailed(_l("The amount must be more than zero."), field="amount")
    if db.session.get(Patron, patron_id) is None:
        raise NotFound()
    fee = Fee(patron_id=patron_id, library_id=library_id, kind=kind, amount=amount, description=description[:300],
              created_at=now, actor_label=actor.label)
    db.session.add(fee)
    db.session.flush()
    audit.record(actor, "fee.charge", object_type="fee", object_id=fee.id, library_id=library_id,
                 details={"amount": amount, "kind": kind.value}, now=now)
    return fee


@dataclass
class CashReport:
    """One library's takings for one local day, by method and by staff member."""

    library: Library
    day: date
    lines: list[FeeTransaction]

    @property
    def payments(self) -> list[FeeTransaction]:
        """Money taken (waivers excluded)."""
        return [line for line in self.lines if line.kind == TransactionKind.PAYMENT]

    @property
    def total(self) -> int:
        """Money taken that day."""
        return sum(line.amount for line in self.payments)

    def by(self, attribute: str) -> dict[str, int]:
        """Totals of money taken grouped by ``method`` or ``actor_label``."""
        totals: dict[str, int] = {}
        for line in self.payments:
            key = getattr(line, attribute)
            totals[key] = totals.get(key, 0) + line.amount
        return totals

    @property
    def waived(self) -> int:
        """Amount waived that day."""
        return sum(line.amount for line in self.lines if line.kind == TransactionKind.WAIVER)


def cash_report(*, actor: Actor, library_id: int, day: date) -> CashReport:
    """Payments and waivers taken at a library on one of its local days."""
    require(actor, "circulation.reports", library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    zone = ZoneInfo(library.timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = start + timedelta(days=1)
    lines = list(db.session.scalars(select(FeeTransaction).where(
        FeeTransaction.library_id == library_id, FeeTransaction.at >= start, FeeTransaction.at < end)
        .order_by(FeeTransaction.at, FeeTransaction.id)))
    return CashReport(library=library, day=day, lines=lines)
