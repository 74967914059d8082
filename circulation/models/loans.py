"""Loans, holds and transits, with the invariants the database itself enforces.

R1: one active loan per item (partial unique index). R3: an item fills at most one hold that is
in transit or on the shelf, and a hold captures at most one item (one column).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Item, Record
from circulation.models.patrons import Patron
from ils.extensions import db
from ils.mixins import UTCDateTime, enum_column, utcnow
from ils.models import Library


class Loan(db.Model):
    """A checkout. patron_id becomes NULL when a returned loan is anonymised."""

    __tablename__ = "circ_loan"
    __table_args__ = (
        Index("uq_circ_loan_active_item", "item_id", unique=True,
              sqlite_where=text("returned_at IS NULL"), postgresql_where=text("returned_at IS NULL")),
        Index("ix_circ_loan_patron_active", "patron_id", "returned_at"),
        Index("ix_circ_loan_due_active", "due_at", sqlite_where=text("returned_at IS NULL"),
              postgresql_where=text("returned_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("circ_patron.id", ondelete="SET NULL"))
    # Kept after anonymisation so statistics by category and library survive (UU PDP: aggregates).
    patron_category: Mapped[str] = mapped_column(String(20), nullable=False)
    patron_home_library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"))
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)  # lent at
    item_library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("circ_rule.id", ondelete="SET NULL"))
    # The rule's terms at checkout: a later edit of the matrix does not change running loans.
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    checked_out_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    renewals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    return_library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"))
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="desk")  # desk|sip2|api|opac
    # A retried request (double scan, SIP resend, API retry) carries the same key: R2.
    request_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    no_block: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    override_reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)
    anonymised: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    item: Mapped[Item] = relationship()
    patron: Mapped[Patron | None] = relationship()
    library: Mapped[Library] = relationship(foreign_keys=[library_id])

    @property
    def active(self) -> bool:
        """True while the item is out."""
        return self.returned_at is None


class HoldStatus(str, enum.Enum):
    """A hold's life: waiting in the queue, travelling, on the shelf, then done one way or another."""

    WAITING = "waiting"
    IN_TRANSIT = "in_transit"
    READY = "ready"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(HOLD_STATUS_LABELS[self])

    @property
    def open(self) -> bool:
        """True while the hold still counts."""
        return self in (HoldStatus.WAITING, HoldStatus.IN_TRANSIT, HoldStatus.READY)


HOLD_STATUS_LABELS = {
    HoldStatus.WAITING: _l("Waiting"), HoldStatus.IN_TRANSIT: _l("In transit to pickup"),
    HoldStatus.READY: _l("Ready for pickup"), HoldStatus.FULFILLED: _l("Collected"),
    HoldStatus.CANCELLED: _l("Cancelled"), HoldStatus.EXPIRED: _l("Expired on the shelf"),
}
CAPTURED = ("in_transit", "ready")


class Hold(db.Model):
    """A reservation of a title (any copy) or of one copy, picked up at a chosen library."""

    __tablename__ = "circ_hold"
    __table_args__ = (
        Index("uq_circ_hold_captured_item", "captured_item_id", unique=True,
              sqlite_where=text("status IN ('in_transit', 'ready')"),
              postgresql_where=text("status IN ('in_transit', 'ready')")),
        Index("ix_circ_hold_queue", "record_id", "status", "placed_at"),
        Index("ix_circ_hold_patron", "patron_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("catalog_record.id"), nullable=False)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id"))  # copy-level hold
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("circ_patron.id", ondelete="SET NULL"))
    patron_category: Mapped[str] = mapped_column(String(20), nullable=False)
    pickup_library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    status: Mapped[HoldStatus] = mapped_column(enum_column(HoldStatus, "hold_status", 12), nullable=False,
                                               default=HoldStatus.WAITING)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    captured_item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id"))
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shelf_until: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("circ_loan.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="desk")
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)

    record: Mapped[Record] = relationship()
    item: Mapped[Item | None] = relationship(foreign_keys=[item_id])
    captured_item: Mapped[Item | None] = relationship(foreign_keys=[captured_item_id])
    patron: Mapped[Patron | None] = relationship()
    pickup_library: Mapped[Library] = relationship()


class Transit(db.Model):
    """An item travelling between libraries: going home, or to a hold's pickup library."""

    __tablename__ = "circ_transit"
    __table_args__ = (
        Index("uq_circ_transit_open_item", "item_id", unique=True,
              sqlite_where=text("received_at IS NULL"), postgresql_where=text("received_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), nullable=False)
    from_library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False)
    to_library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("circ_hold.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(10), nullable=False)  # home | hold
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)

    item: Mapped[Item] = relationship()
    from_library: Mapped[Library] = relationship(foreign_keys=[from_library_id])
    to_library: Mapped[Library] = relationship(foreign_keys=[to_library_id])
