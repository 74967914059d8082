"""Core models: the library network, staff accounts, the audit trail and job records."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ils.extensions import db
from ils.mixins import TimestampMixin, UTCDateTime, enum_column, utcnow


class LibraryType(str, enum.Enum):
    """Kinds of library in the network (Perpusnas typology, plus the parent office)."""

    UMUM_KOTA = "umum_kota"
    KECAMATAN = "kecamatan"
    KELURAHAN = "kelurahan"
    SEKOLAH_SD = "sekolah_sd"
    SEKOLAH_SMP = "sekolah_smp"
    SEKOLAH_SMA = "sekolah_sma"
    PERGURUAN_TINGGI = "perguruan_tinggi"
    KHUSUS = "khusus"
    POJOK_BACA = "pojok_baca"
    # The DPK or a school foundation: a parent in the network, not a service point.
    INDUK = "induk"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(LIBRARY_TYPE_LABELS[self])


LIBRARY_TYPE_LABELS = {
    LibraryType.UMUM_KOTA: _l("City public library"),
    LibraryType.KECAMATAN: _l("District (kecamatan) library"),
    LibraryType.KELURAHAN: _l("Village (kelurahan/desa) library"),
    LibraryType.SEKOLAH_SD: _l("Primary school (SD/MI) library"),
    LibraryType.SEKOLAH_SMP: _l("Junior secondary school (SMP/MTs) library"),
    LibraryType.SEKOLAH_SMA: _l("Senior secondary school (SMA/SMK/MA) library"),
    LibraryType.PERGURUAN_TINGGI: _l("University library"),
    LibraryType.KHUSUS: _l("Special library (company or government)"),
    LibraryType.POJOK_BACA: _l("Reading corner (pojok baca)"),
    LibraryType.INDUK: _l("Parent organisation (DPK, foundation)"),
}


class Role(str, enum.Enum):
    """Staff roles. admin and dpk are network-wide; the others belong to one library."""

    ADMIN = "admin"
    DPK = "dpk"
    LIBRARIAN = "librarian"
    CATALOGUER = "cataloguer"
    CIRCULATION = "circulation"
    ASSESSOR = "assessor"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(ROLE_LABELS[self])

    @property
    def network_wide(self) -> bool:
        """True for roles that see every library."""
        return self in (Role.ADMIN, Role.DPK)


ROLE_LABELS = {
    Role.ADMIN: _l("System administrator"),
    Role.DPK: _l("City library office (DPK)"),
    Role.LIBRARIAN: _l("Head librarian"),
    Role.CATALOGUER: _l("Cataloguer"),
    Role.CIRCULATION: _l("Circulation desk"),
    Role.ASSESSOR: _l("Assessor (read-only)"),
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Library(TimestampMixin, db.Model):
    """A library (or parent organisation) in the city network."""

    __tablename__ = "library"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[LibraryType] = mapped_column(
        enum_column(LibraryType, "library_type", 20),
        nullable=False,
    )
    npp: Mapped[str | None] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    kelurahan: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="Asia/Makassar")
    # {"mon": [["08:00", "16:00"]], ..., "sun": []}: several intervals a day are allowed.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    opac_public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    parent: Mapped["Library | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Library"]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Library {self.code}>"

    @property
    def weekly_open_minutes(self) -> int:
        """Minutes open per week according to ``opening_hours``."""
        total = 0
        for intervals in (self.opening_hours or {}).values():
            for start, end in intervals:
                sh, sm = (int(p) for p in start.split(":"))
                eh, em = (int(p) for p in end.split(":"))
                total += (eh * 60 + em) - (sh * 60 + sm)
        return total


class StaffUser(TimestampMixin, db.Model):
    """A staff login. Patrons are a separate model (circulation)."""

    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'dpk', 'assessor') OR library_id IS NOT NULL", name="library_required"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(
        enum_column(Role, "staff_role", 20),
        nullable=False,
    )
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="id")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on password change or deactivation: every existing session becomes invalid.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    library: Mapped[Library | None] = relationship()

    def __repr__(self) -> str:
        return f"<StaffUser {self.username}>"

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot log in."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """Loaded users are authenticated."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Staff users are never anonymous."""
        return False

    def get_id(self) -> str:
        """Session id carries the session version so old sessions stop working."""
        return f"{self.id}:{self.session_version}"


class AuditEvent(db.Model):
    """Who did what, when, from where. Never holds passwords or patron identifiers."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_library_at", "library_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # The library whose staff may read this event (None: network level, admin/dpk only).
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id", ondelete="SET NULL"))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class JobStatus(str, enum.Enum):
    """Life cycle of a background job."""

    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(JOB_STATUS_LABELS[self])


JOB_STATUS_LABELS = {
    JobStatus.QUEUED: _l("Queued"),
    JobStatus.STARTED: _l("Running"),
    JobStatus.FINISHED: _l("Finished"),
    JobStatus.FAILED: _l("Failed"),
}


class JobRecord(db.Model):
    """Mirror of one RQ job: what, who, progress, outcome. Arguments hold ids only."""

    __tablename__ = "job_record"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    queue: Mapped[str] = mapped_column(String(20), nullable=False)
    args: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status", 12),
        nullable=False, default=JobStatus.QUEUED, index=True,
    )
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    started_by_label: Mapped[str] = mapped_column(String(100), nullable=False)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id", ondelete="SET NULL"), index=True)
    retry_of_id: Mapped[str | None] = mapped_column(ForeignKey("job_record.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    library: Mapped[Library | None] = relationship()

    @property
    def done(self) -> bool:
        """True once the job has finished or failed."""
        return self.status in (JobStatus.FINISHED, JobStatus.FAILED)


class DeliveryStatus(str, enum.Enum):
    """A message's delivery state in an outbox (members' notices, staff e-mail; see ils.outbox): a send
    is tried only by the run that moves a row from pending to sending."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # no address for the channel now, or the person chose no messages or left

    @property
    def label(self) -> str:
        """Translated label."""
        return str(DELIVERY_STATUS_LABELS[self])


DELIVERY_STATUS_LABELS = {DeliveryStatus.PENDING: _l("Waiting"), DeliveryStatus.SENDING: _l("Sending"),
                          DeliveryStatus.SENT: _l("Sent"), DeliveryStatus.FAILED: _l("Failed"),
                          DeliveryStatus.SKIPPED: _l("Not sent")}


class StaffMessage(db.Model):
    """An e-mail to a staff member (a workflow step waiting for them, a reminder), sent by the
    ``ils.send_staff_mail`` job. The dedupe key makes queueing the same message twice a no-op."""

    __tablename__ = "staff_message"
    __table_args__ = (Index("ix_staff_message_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    topic: Mapped[str] = mapped_column(String(40), nullable=False)  # e.g. workflows.step, workflows.reminder
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="email")
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "delivery_status", 10), nullable=False,
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff_user: Mapped[StaffUser] = relationship()
