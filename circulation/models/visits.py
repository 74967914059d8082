"""The visitor log (buku tamu) and in-library use (baca di tempat): counts, not people."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ils.extensions import db
from ils.mixins import UTCDateTime, utcnow


class Visit(db.Model):
    """One visit: a member who scanned a card, or a guest who ticked a category and purpose.

    Only the category is kept, never who it was: a visit log that names people is a movement
    record nobody asked us to keep (UU PDP data minimisation).
    """

    __tablename__ = "circ_visit"
    __table_args__ = (Index("ix_circ_visit_library_day", "library_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    local_date: Mapped[date] = mapped_column(Date, nullable=False)
    member: Mapped[bool] = mapped_column(Boolean, nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)  # patron category or guest kind
    purpose: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    gender: Mapped[str] = mapped_column(String(1), nullable=False, default="")
    group_size: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class InHouseUse(db.Model):
    """An item read in the library without a loan (baca di tempat)."""

    __tablename__ = "circ_in_house_use"
    __table_args__ = (Index("ix_circ_in_house_library_day", "library_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    local_date: Mapped[date] = mapped_column(Date, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class VisitSeen(db.Model):
    """A card scanned at a kiosk in the last few minutes, as a keyed hash (never the card number).

    Only for counting a double scan once; rows expire after the de-duplication window and are
    deleted by the next scans, so the table never holds more than a few minutes of visits.
    """

    __tablename__ = "circ_visit_seen"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
