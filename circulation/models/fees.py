"""Fees (overdue fines, lost items, manual charges) and what was paid or waived against them."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circulation.models.patrons import Patron
from ils.extensions import db
from ils.mixins import UTCDateTime, enum_column, utcnow


class FeeKind(str, enum.Enum):
    """Why a patron owes money."""

    OVERDUE = "overdue"
    LOST = "lost"
    DAMAGE = "damage"
    CARD = "card"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(FEE_KIND_LABELS[self])


FEE_KIND_LABELS = {
    FeeKind.OVERDUE: _l("Overdue fine"), FeeKind.LOST: _l("Lost item"), FeeKind.DAMAGE: _l("Damaged item"),
    FeeKind.CARD: _l("Replacement card"), FeeKind.OTHER: _l("Other charge"),
}


class Fee(db.Model):
    """An amount (integer rupiah) charged to a patron by one library; paid and waived are sums."""

    __tablename__ = "circ_fee"
    __table_args__ = (
        CheckConstraint("amount >= 0 AND paid >= 0 AND waived >= 0 AND paid + waived <= amount",
                        name="amounts"),
        Index("ix_circ_fee_patron_open", "patron_id", "settled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("circ_patron.id", ondelete="SET NULL"))
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("circ_loan.id", ondelete="SET NULL"), unique=False)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id", ondelete="SET NULL"))
    kind: Mapped[FeeKind] = mapped_column(enum_column(FeeKind, "fee_kind", 10), nullable=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    paid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    waived: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    description: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)

    patron: Mapped[Patron | None] = relationship()

    @property
    def balance(self) -> int:
        """What is still owed."""
        return self.amount - self.paid - self.waived


class TransactionKind(str, enum.Enum):
    """A payment reduces a fee with money; a waiver forgives it with a reason."""

    PAYMENT = "payment"
    WAIVER = "waiver"


class FeeTransaction(db.Model):
    """One payment or waiver against one fee; a receipt groups the lines of one desk action."""

    __tablename__ = "circ_fee_transaction"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),
                      Index("ix_circ_fee_tx_library_at", "library_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    fee_id: Mapped[int] = mapped_column(ForeignKey("circ_fee.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, "fee_tx_kind", 10), nullable=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False)  # where it was taken
    receipt_no: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(20), nullable=False, default="cash")  # cash | transfer | qris
    reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)

    fee: Mapped[Fee] = relationship()
