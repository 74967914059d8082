"""Outboxes: messages stored as rows and sent by a job, one claimed row at a time (members' notices,
staff e-mail).

Delivery guarantees, stated plainly (R9, R15):

* The database guarantees one row per message (a unique dedupe key), queued in the same
  transaction as the change that caused it; Redis plays no part in that.
* A row is sent only by the run that wins ``UPDATE ... SET status='sending' WHERE id=? AND
  status='pending'``; the claim is committed before the message leaves, so two workers never both
  send a message in the normal path.
* Delivery is at-least-once, not exactly-once. A worker killed after the mail server or gateway
  accepted a message but before the "sent" commit leaves the row in 'sending'; after RECLAIM_AFTER
  (15 minutes) a later run puts it back to pending and sends it again. Likewise a server that
  accepted a message but whose answer was lost (a timeout) is retried as a failure. Every resend
  carries the same Message-ID / Idempotency-Key (the dedupe key), so a mail system or gateway that
  de-duplicates drops the copy; one that does not will deliver it twice. Those two windows are the
  only ways a message can arrive twice.

An outbox table has the columns id, dedupe_key, channel, subject, body, status, attempts,
last_error, claimed_at and sent_at, and its status enum the members PENDING, SENDING, SENT, FAILED
and SKIPPED. Who receives a row is asked at send time (``Outbox.recipient``), so a corrected
address is used at once and a person who withdrew is not written to.
"""
from __future__ import annotations

import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Update

from ils import notify
from ils.extensions import db
from ils.mixins import utcnow

# A claim older than this belongs to a worker that died mid-send; far longer than one send (10 s).
RECLAIM_AFTER = timedelta(minutes=15)
SEND_BATCH = 200
# Stop claiming new messages after this long so a run ends well inside its job timeout.
SEND_BUDGET_SECONDS = 20 * 60


@dataclass(frozen=True)
class Outbox:
    """An outbox table, its status enum, and who a row goes to now.

    ``recipient(row)`` gives ``(address, "")`` to send, or ``("", reason)`` to skip the row for good
    (the reason is kept in last_error; it must not contain the address or other personal data).
    """

    model: Any
    status: Any
    recipient: Callable[[Any], tuple[str, str]]


def has_key(model: Any, key: str) -> bool:
    """True if the outbox table already holds a message with this dedupe key."""
    return db.session.scalar(select(model.id).where(model.dedupe_key == key)) is not None


def add_once(row: Any) -> bool:
    """Add an outbox row unless a row with its dedupe key exists; True if added (the caller commits).

    A savepoint: a duplicate key (an earlier or a concurrent transaction's) makes only this insert
    fail, not the caller's checkout, check-in or workflow step around it. Callers that would render
    a text first ask ``has_key`` before.
    """
    model = type(row)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        if not has_key(model, row.dedupe_key):
            raise  # not the duplicate key: a real error the caller must see
        return False
    return True


def changed(stmt: Update) -> int:
    """Run an UPDATE in the session; how many rows it changed."""
    return int(cast(CursorResult[Any], db.session.execute(stmt.execution_options(synchronize_session=False)))
               .rowcount or 0)


def reclaim_stale(box: Outbox, *, now: datetime, max_attempts: int) -> dict[str, int]:
    """Put rows left in 'sending' by a dead worker back in the queue (or fail them); commits."""
    model, status = box.model, box.status
    stale = (model.status == status.SENDING) & (model.claimed_at < now - RECLAIM_AFTER)
    abandoned = changed(update(model).where(stale, model.attempts >= max_attempts).values(
        status=status.FAILED, last_error="worker stopped while sending; attempts used up"))
    reclaimed = changed(update(model).where(stale).values(status=status.PENDING, claimed_at=None))
    db.session.commit()
    return {"reclaimed": reclaimed, "abandoned": abandoned}


def claim(box: Outbox, row_id: int, *, now: datetime) -> bool:
    """Move one row from pending to sending; True only for the one run that wins (commits)."""
    model, status = box.model, box.status
    won = changed(update(model).where(model.id == row_id, model.status == status.PENDING)
                  .values(status=status.SENDING, claimed_at=now, attempts=model.attempts + 1)) == 1
    db.session.commit()
    return won


def send_one(box: Outbox, row_id: int, *, now: datetime, config: Mapping[str, Any], max_attempts: int) -> str:
    """Deliver one claimed row and record the outcome (commits): sent, retry, failed, skipped, waiting."""
    status = box.status
    row = db.session.get(box.model, row_id, populate_existing=True)
    if row is None or row.status != status.SENDING:
        return "gone"
    address, skip = box.recipient(row)
    if not address:
        row.status = status.SKIPPED
        row.last_error = skip[:500]
        db.session.commit()
        return "skipped"
    message = notify.Message(key=row.dedupe_key, to=address, subject=row.subject, text=row.body)
    outcome = "sent"
    try:
        notify.deliver(row.channel, message, config)
    except notify.NotConfigured as exc:
        # Not an attempt: the row waits, untouched, until the channel is configured.
        row.status = status.PENDING
        row.attempts = max(0, row.attempts - 1)
        row.claimed_at = None
        row.last_error = str(exc)[:500]
        outcome = "waiting"
    except Exception as exc:  # noqa: BLE001 - one bad message must not stop the run; the error is kept
        row.last_error = (str(exc) if isinstance(exc, notify.DeliveryFailed) else type(exc).__name__)[:500]
        row.claimed_at = None
        row.status = status.FAILED if row.attempts >= max_attempts else status.PENDING
        outcome = "failed" if row.status == status.FAILED else "retry"
    else:
        row.status = status.SENT
        row.sent_at = now
        row.last_error = ""
    db.session.commit()
    return outcome


def send_pending(box: Outbox, *, config: Mapping[str, Any], max_attempts: int, now: datetime | None = None,
                 budget_seconds: float = SEND_BUDGET_SECONDS) -> dict[str, int]:
    """Reclaim stale claims, then claim and send pending rows one by one, committing each."""
    model = box.model
    started = clock.monotonic()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "waiting": 0, "gone": 0, "lost_claim": 0}
    counts.update(reclaim_stale(box, now=now or utcnow(), max_attempts=max_attempts))
    unconfigured: set[str] = set()
    last_id = 0
    while clock.monotonic() - started < budget_seconds:
        stmt = (select(model.id, model.channel).where(model.status == box.status.PENDING, model.id > last_id)
                .order_by(model.id).limit(SEND_BATCH))
        if unconfigured:
            stmt = stmt.where(model.channel.not_in(unconfigured))
        batch = db.session.execute(stmt).all()
        db.session.commit()  # end the read transaction before the first claim
        if not batch:
            break
        for row_id, channel in batch:
            last_id = row_id
            if channel in unconfigured:
                continue
            at = now or utcnow()
            if not claim(box, row_id, now=at):
                counts["lost_claim"] += 1  # another run took it first
                continue
            outcome = send_one(box, row_id, now=at, config=config, max_attempts=max_attempts)
            counts[outcome] += 1
            if outcome == "waiting":
                unconfigured.add(channel)
            if clock.monotonic() - started >= budget_seconds:
                break
    return counts
