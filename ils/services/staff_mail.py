"""E-mail to staff: a message queued for an account (once per dedupe key) and the job that sends them.

Any domain may queue a message for a staff account (workflows do, for a step that waits for the
library or the DPK, and for reminders). The ``ils.send_staff_mail`` job sends what is pending
through an ils.outbox over the same SMTP settings as the members' notices (CIRCULATION_SMTP_*):
at least once, each resend with the same Message-ID. The address is read at send time, so an
account that lost its e-mail address or was deactivated meanwhile is skipped. Sent, failed and
skipped messages are deleted after ILS_STAFF_MAIL_RETENTION_DAYS. Nothing here logs addresses.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from ils import outbox
from ils.extensions import db
from ils.jobs import JobContext, register_job
from ils.mixins import utcnow
from ils.models import DeliveryStatus, StaffMessage, StaffUser

SEND_JOB = "ils.send_staff_mail"


def _recipient(row: StaffMessage) -> tuple[str, str]:
    user = row.staff_user
    if user is None or not user.active:
        return "", "account not active"
    address = (user.email or "").strip()
    return (address, "") if address else ("", "no e-mail address")


STAFF_MAIL = outbox.Outbox(StaffMessage, DeliveryStatus, _recipient)


def queue(*, user: StaffUser, key: str, topic: str, subject: str, body: str, now: datetime) -> bool:
    """Queue one e-mail for a staff account unless a message with this key exists; True if queued.

    Accounts without an address get nothing queued (there is nobody to write to). The caller commits.
    """
    if not (user.email or "").strip() or not user.active:
        return False
    row = StaffMessage(dedupe_key=key[:120], staff_user_id=user.id, topic=topic, subject=subject[:200], body=body,
                       created_at=now)
    return outbox.add_once(row)


def recent_for(user: StaffUser, limit: int = 20) -> list[StaffMessage]:
    """The newest e-mails queued for one account, newest first (its page shows their delivery)."""
    return list(db.session.scalars(select(StaffMessage).where(StaffMessage.staff_user_id == user.id)
                                   .order_by(StaffMessage.created_at.desc(), StaffMessage.id.desc()).limit(limit)))


def status_counts() -> dict[str, int]:
    """How many staff messages are in each delivery state (for the jobs page and tests)."""
    rows = db.session.execute(select(StaffMessage.status, func.count()).group_by(StaffMessage.status))
    return {status.value: count for status, count in rows}


def send_pending(*, now: datetime | None = None) -> dict[str, int]:
    """Send what waits in the staff outbox, then delete finished messages past their retention."""
    config = current_app.config
    counts = outbox.send_pending(STAFF_MAIL, config=config, max_attempts=int(config["ILS_STAFF_MAIL_MAX_ATTEMPTS"]),
                                 now=now)
    cutoff = (now or utcnow()) - timedelta(days=int(config["ILS_STAFF_MAIL_RETENTION_DAYS"]))
    done = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
    removed = db.session.execute(delete(StaffMessage).where(StaffMessage.status.in_(done),
                                                            StaffMessage.created_at < cutoff))
    db.session.commit()
    return counts | {"removed": int(removed.rowcount or 0)}


@register_job(SEND_JOB, queue="notices", timeout=30 * 60, title=_l("Send staff e-mail"))
def send_staff_mail(ctx: JobContext) -> dict[str, Any]:
    """Send the e-mail waiting for staff (workflow steps and reminders)."""
    return send_pending()
