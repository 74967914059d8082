"""Self-assessments against an instrument, accreditation results, and facts a library enters."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ils.extensions import db
from ils.mixins import LibraryScopedMixin, UTCDateTime, enum_column, utcnow
from workflows.models.documents import WfDocument


class AssessmentStatus(str, enum.Enum):
    """Where a self-assessment stands."""

    DRAFT = "draft"          # the library is answering
    SUBMITTED = "submitted"  # sent to the DPK for review; answers are locked
    APPROVED = "approved"    # the DPK accepted it
    RETURNED = "returned"    # the DPK sent it back with comments; answers open again


class Assessment(LibraryScopedMixin, db.Model):
    """A library's self-assessment (penilaian mandiri), pinned to one instrument version."""

    __tablename__ = "wf_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("wf_document.id"), nullable=False)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id", ondelete="SET NULL"), index=True)
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus, "wf_assessment_status", 16), nullable=False, default=AssessmentStatus.DRAFT)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last computed score, kept for lists and the dashboard (recomputed on every answer).
    total: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    grade: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    answered: Mapped[int] = mapped_column(nullable=False, default=0)
    indicators: Mapped[int] = mapped_column(nullable=False, default=0)

    instrument: Mapped[WfDocument] = relationship()


class Answer(db.Model):
    """The option a library chose for one indicator, with the live figure offered as a prefill."""

    __tablename__ = "wf_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("wf_assessment.id", ondelete="CASCADE"), nullable=False)
    indicator: Mapped[str] = mapped_column(String(32), nullable=False)
    option: Mapped[str | None] = mapped_column(String(1))
    note: Mapped[str | None] = mapped_column(Text)
    prefill_option: Mapped[str | None] = mapped_column(String(1))
    prefill_figure: Mapped[str | None] = mapped_column(String(64))
    prefill_value: Mapped[float | None] = mapped_column(Float)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccreditationResult(LibraryScopedMixin, db.Model):
    """A grade Perpusnas awarded, with its certificate and how long it is valid."""

    __tablename__ = "wf_accreditation"
    __table_args__ = (Index("ix_wf_accreditation_library_on", "library_id", "certified_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id", ondelete="SET NULL"))
    grade: Mapped[str] = mapped_column(String(8), nullable=False)  # A, B, C or "" (not accredited)
    score: Mapped[float | None] = mapped_column(Float)
    instrument_version: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    certificate_number: Mapped[str | None] = mapped_column(String(100))
    certified_on: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(100), nullable=False)


class LibraryFact(LibraryScopedMixin, db.Model):
    """A figure the ILS cannot measure (floor area, staff, budget, study groups), entered by hand."""

    __tablename__ = "wf_library_fact"
    __table_args__ = (UniqueConstraint("library_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False)
