"""Running workflows: one instance per library and workflow, its timeline and its evidence files."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ils.extensions import db
from ils.mixins import LibraryScopedMixin, UTCDateTime, utcnow
from workflows.models.documents import WfDocument


class Instance(LibraryScopedMixin, db.Model):
    """A library's run through one workflow, pinned to the definition version it started with."""

    __tablename__ = "wf_instance"
    __table_args__ = (
        # One open run of each workflow per library; a closed one (cancelled or final) may be followed
        # by a new one.
        Index("uq_wf_instance_open", "library_id", "workflow", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
        Index("ix_wf_instance_due", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow: Mapped[str] = mapped_column(String(64), nullable=False)  # the definition's key
    definition_id: Mapped[int] = mapped_column(ForeignKey("wf_document.id"), nullable=False)
    state: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # {state: [task ids done]}: a state visited again keeps what was ticked before.
    checklist: Mapped[dict[str, list[str]]] = mapped_column(JSON, nullable=False, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Reminders still to send for the current state (ISO datetimes, ascending).
    reminders: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on every change: a stale form (two people acting at once) is refused, not merged.
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    definition: Mapped[WfDocument] = relationship()


class InstanceEvent(db.Model):
    """One line of an instance's timeline: a transition, a comment, a file, a reminder."""

    __tablename__ = "wf_instance_event"
    __table_args__ = (Index("ix_wf_instance_event_instance_at", "instance_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    transition: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class Evidence(db.Model):
    """A file attached to an instance step or a self-assessment indicator (bukti fisik).

    The bytes live outside static/ under a name derived from the SHA-256, so they are served
    only through a view that checks who asks.
    """

    __tablename__ = "wf_evidence"
    __table_args__ = (Index("ix_wf_evidence_instance", "instance_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("wf_instance.id", ondelete="CASCADE"))
    state: Mapped[str | None] = mapped_column(String(64))
    slot: Mapped[str | None] = mapped_column(String(64))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("wf_assessment.id", ondelete="CASCADE"),
                                                      index=True)
    indicator: Mapped[str | None] = mapped_column(String(32))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("wf_activity.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(100), nullable=False)
