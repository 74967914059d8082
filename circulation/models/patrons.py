"""Patrons: one city-wide card per person, categories, consents and photos.

Personal data stays in these tables only. NIK is kept as Fernet ciphertext plus a keyed hash
for duplicate checks and its last four digits for display (UU PDP, reliability-security.md).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ils.extensions import db
from ils.mixins import TimestampMixin, UTCDateTime, enum_column, utcnow
from ils.models import Library


class PatronStatus(str, enum.Enum):
    """Life cycle of a card. "Expired" is derived from the expiry date, not stored."""

    PENDING = "pending"      # self-registered from the OPAC, waiting for the library's approval
    ACTIVE = "active"
    BLOCKED = "blocked"      # manual block with a reason
    ERASED = "erased"        # personal data removed on request; statistics kept

    @property
    def label(self) -> str:
        """Translated label."""
        return str(PATRON_STATUS_LABELS[self])


PATRON_STATUS_LABELS = {
    PatronStatus.PENDING: _l("Waiting for approval"), PatronStatus.ACTIVE: _l("Active"),
    PatronStatus.BLOCKED: _l("Blocked"), PatronStatus.ERASED: _l("Erased"),
}


class PatronCategory(db.Model):
    """A patron category (anak, pelajar SMP, umum, ...): rows the DPK may edit."""

    __tablename__ = "circ_patron_category"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name_id: Mapped[str] = mapped_column(String(80), nullable=False)
    name_en: Mapped[str] = mapped_column(String(80), nullable=False)
    # Months a new or renewed card stays valid.
    card_months: Mapped[int] = mapped_column(Integer, nullable=False, default=12)
    # Under this age a guardian and the guardian's consent are required (UU PDP Pasal 25).
    minor_below_age: Mapped[int] = mapped_column(Integer, nullable=False, default=18)
    # Counts towards "members among school pupils" (IPLM, the 2019 coordination meeting's goal).
    is_pupil: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def label(self, locale: str = "id") -> str:
        """The name in the given language."""
        return self.name_en if locale == "en" else self.name_id


class Patron(TimestampMixin, db.Model):
    """A library member with one card valid at every library of the network."""

    __tablename__ = "circ_patron"
    __table_args__ = (
        CheckConstraint("guardian_id IS NULL OR guardian_id <> id", name="not_own_guardian"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    card_number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    category_code: Mapped[str] = mapped_column(ForeignKey("circ_patron_category.code"), nullable=False,
                                               index=True)
    home_library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    status: Mapped[PatronStatus] = mapped_column(enum_column(PatronStatus, "patron_status", 12), nullable=False,
                                                 default=PatronStatus.ACTIVE, index=True)
    block_reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1), nullable=False, default="")  # L / P / ""
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("circ_patron.id", ondelete="SET NULL"))
    guardian_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    guardian_phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    guardian_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    whatsapp: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    email: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    kelurahan: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    kecamatan: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    institution: Mapped[str] = mapped_column(String(200), nullable=False, default="")  # school or employer
    nis: Mapped[str] = mapped_column(String(30), nullable=False, default="")  # pupil number at the school
    school_class: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    school_library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    expiry_date: Mapped[date | None] = mapped_column(Date, index=True)
    nik_cipher: Mapped[str | None] = mapped_column(Text)
    nik_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    nik_last4: Mapped[str] = mapped_column(String(4), nullable=False, default="")
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    # Keeping the list of returned loans needs the patron's consent (ALA, UU PDP); off by default.
    history_opt_in: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    notice_channel: Mapped[str] = mapped_column(String(10), nullable=False, default="email")  # email|webhook|none
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="id")
    self_registered: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_activity_on: Mapped[date | None] = mapped_column(Date)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")  # staff-only notes
    import_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # school:<library>:<nis>

    category: Mapped[PatronCategory] = relationship()
    home_library: Mapped[Library] = relationship(foreign_keys=[home_library_id])
    school_library: Mapped[Library | None] = relationship(foreign_keys=[school_library_id])
    guardian: Mapped["Patron | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Patron {self.id}>"

    def expired(self, today: date) -> bool:
        """True once the card's expiry date has passed."""
        return self.expiry_date is not None and self.expiry_date < today

    def age(self, today: date) -> int | None:
        """Age in whole years, if the birth date is known."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def nik_masked(self) -> str:
        """NIK as shown to staff: only the last four digits."""
        return f"************{self.nik_last4}" if self.nik_last4 else ""


class PatronPhoto(db.Model):
    """An optional card photo, kept apart so patron lists never load it."""

    __tablename__ = "circ_patron_photo"

    patron_id: Mapped[int] = mapped_column(ForeignKey("circ_patron.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class PatronConsent(db.Model):
    """The consent ledger: one row per grant or withdrawal of a purpose (UU PDP Pasal 20-22)."""

    __tablename__ = "circ_patron_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("circ_patron.id", ondelete="CASCADE"), nullable=False,
                                           index=True)
    purpose: Mapped[str] = mapped_column(String(30), nullable=False)  # history, guardian, notices
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)  # desk, opac, paper, import
    witness: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    notice_version: Mapped[str] = mapped_column(String(20), nullable=False, default="2026-1")
