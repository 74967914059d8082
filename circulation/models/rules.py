"""The rules matrix, per-library circulation settings, closures and SIP2 kiosk accounts."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ils.extensions import db
from ils.mixins import TimestampMixin, UTCDateTime
from ils.models import Library

ANY = "*"


class CirculationRule(TimestampMixin, db.Model):
    """One row of the matrix library x patron category x item type; NULL / "*" mean any."""

    __tablename__ = "circ_rule"
    __table_args__ = (
        UniqueConstraint("library_key", "category_code", "item_type"),
        CheckConstraint("(loan_days IS NULL) <> (loan_hours IS NULL)", name="one_period"),
        CheckConstraint("fine_per_day >= 0 AND fine_cap >= 0 AND grace_days >= 0", name="money_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"))
    # library_id or 0: NULLs are distinct in a unique constraint, so the key needs a plain value.
    library_key: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    category_code: Mapped[str] = mapped_column(String(20), nullable=False, default=ANY)
    item_type: Mapped[str] = mapped_column(String(20), nullable=False, default=ANY)
    # Reference copies and the like: the row exists so the explainer can say why.
    loanable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    loan_days: Mapped[int | None] = mapped_column(Integer)
    loan_hours: Mapped[int | None] = mapped_column(Integer)
    max_loans_library: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    max_loans_city: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    renewals: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    renewal_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    fine_per_day: Mapped[int] = mapped_column(Integer, nullable=False, default=500)  # rupiah
    fine_cap: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 0: no cap
    grace_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    holds_allowed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    hold_shelf_days: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    other_libraries: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")

    library: Mapped[Library | None] = relationship()

    @validates("library_id")
    def _keep_key(self, _key: str, value: int | None) -> int | None:
        self.library_key = value or 0
        return value


class CirculationSettings(db.Model):
    """Per-library circulation choices (rows, not deploy config: house style habit 4)."""

    __tablename__ = "circ_settings"

    library_id: Mapped[int] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"), primary_key=True)
    # Koha's finesCalendar / Evergreen's default: no fines for days the library is closed.
    fines_skip_closed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    national_holidays: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    cuti_bersama: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Floating collection: returned items stay where they were returned instead of going home.
    floating: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pickup_point: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Patron blocks: unpaid fees above this (rupiah), and overdue items.
    fee_block_threshold: Mapped[int] = mapped_column(Integer, nullable=False, default=10000)
    block_on_overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    self_registration: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    due_soon_days: Mapped[int] = mapped_column(Integer, nullable=False, default=2)


class LibraryClosure(db.Model):
    """A day a library (or, with no library, every library) is closed, or open despite a holiday."""

    __tablename__ = "circ_closure"
    __table_args__ = (UniqueConstraint("library_key", "on_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"), index=True)
    library_key: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # library_id or 0
    on_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    closed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    @validates("library_id")
    def _keep_key(self, _key: str, value: int | None) -> int | None:
        self.library_key = value or 0
        return value


class SipAccount(TimestampMixin, db.Model):
    """A self-check machine's login, bound to one library."""

    __tablename__ = "circ_sip_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Self-check machines may check PINs; a kiosk without a PIN pad sets this off.
    require_pin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    library: Mapped[Library] = relationship()

