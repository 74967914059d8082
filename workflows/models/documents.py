"""Versioned data documents: workflow definitions, instruments, SNP standards, IPLM settings."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ils.extensions import db
from ils.mixins import UTCDateTime, enum_column, utcnow


class DocumentKind(str, enum.Enum):
    """What a stored YAML document describes."""

    WORKFLOW = "workflow"
    INSTRUMENT = "instrument"
    SNP = "snp"
    IPLM = "iplm"


class WfDocument(db.Model):
    """One version of a YAML data document, never changed once stored.

    Editing a document stores a new version; whatever started on an older one (a workflow
    instance, a self-assessment) keeps pointing at it, so a DPK edit never rescores or reroutes
    work already under way.
    """

    __tablename__ = "wf_document"
    __table_args__ = (UniqueConstraint("kind", "code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "wf_document_kind", 16), nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    text: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False, default="system")
