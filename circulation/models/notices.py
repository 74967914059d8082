"""The notices outbox: every message to a patron is a row first, sent by a job later (R9, R15)."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circulation.models.patrons import Patron
from ils.extensions import db
from ils.mixins import UTCDateTime, enum_column, utcnow
from ils.models import DELIVERY_STATUS_LABELS, DeliveryStatus


class NoticeKind(str, enum.Enum):
    """What a notice tells the patron."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    HOLD_READY = "hold_ready"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(NOTICE_KIND_LABELS[self])


NOTICE_KIND_LABELS = {NoticeKind.DUE_SOON: _l("Due soon"), NoticeKind.OVERDUE: _l("Overdue"),
                      NoticeKind.HOLD_READY: _l("Hold ready")}


# The members' notices share the outbox states (and their labels) with staff e-mail.
NoticeStatus = DeliveryStatus
NOTICE_STATUS_LABELS = DELIVERY_STATUS_LABELS


class Notice(db.Model):
    """One message to one patron, unique per dedupe key (e.g. overdue:<loan>:<date>)."""

    __tablename__ = "circ_notice"
    __table_args__ = (Index("ix_circ_notice_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind, "notice_kind", 12), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # email | webhook
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("circ_patron.id", ondelete="CASCADE"), index=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[NoticeStatus] = mapped_column(enum_column(NoticeStatus, "notice_status", 10), nullable=False,
                                                 default=NoticeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patron: Mapped[Patron | None] = relationship()
