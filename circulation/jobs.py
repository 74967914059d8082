"""Circulation background jobs: notices, the hold shelf, anonymising returned loans.

Delivery guarantees of notices, stated plainly (R9, R15):

* The database guarantees one outbox row per notice (circ_notice.dedupe_key is unique), queued in
  the same transaction as the loan or hold change that caused it; Redis plays no part in that.
* A row is sent only by the run that wins ``UPDATE ... SET status='sending' WHERE id=? AND
  status='pending'``; the claim is committed before the message leaves, so two workers never both
  send a notice in the normal path.
* Delivery is at-least-once, not exactly-once. A worker killed after the mail server or gateway
  accepted a message but before the "sent" commit leaves the row in 'sending'; after RECLAIM_AFTER
  (15 minutes) a later run puts it back to pending and sends it again. Likewise a server that
  accepted a message but whose answer was lost (a timeout) is retried as a failure. Every resend
  carries the same Message-ID / Idempotency-Key (the dedupe key), so a mail system or gateway that
  de-duplicates drops the copy; one that does not will deliver it twice. Those two windows are the
  only ways a patron can receive a notice twice.
"""
from __future__ import annotations

import time as clock
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.sql.dml import Update

from circulation import metrics  # noqa: F401  (registers the circulation.* metrics at app start)
from circulation import notify
from circulation.models import Loan, Notice, NoticeStatus, Patron, PatronStatus
from circulation.services import classlists, holds
from circulation.services import notices as notice_services
from ils import audit
from ils.authz import Actor
from ils.extensions import db
from ils.jobs import JobContext, register_job
from ils.mixins import utcnow
from ils.models import JobRecord, Role

# A claim older than this belongs to a worker that died mid-send; far longer than one send (10 s).
RECLAIM_AFTER = timedelta(minutes=15)
SEND_BATCH = 200
# Stop claiming new notices after this long so a run ends well inside its job timeout.
SEND_BUDGET_SECONDS = 20 * 60
ANONYMISE_CHUNK = 2000


def _changed(stmt: Update) -> int:
    """Run an UPDATE in the session; how many rows it changed."""
    return int(cast(CursorResult[Any], db.session.execute(stmt.execution_options(synchronize_session=False)))
               .rowcount or 0)


# --- sending -------------------------------------------------------------------------------------

def reclaim_stale(*, now: datetime, max_attempts: int) -> dict[str, int]:
    """Put notices left in 'sending' by a dead worker back in the queue (or fail them); commits."""
    stale = (Notice.status == NoticeStatus.SENDING) & (Notice.claimed_at < now - RECLAIM_AFTER)
    abandoned = _changed(update(Notice).where(stale, Notice.attempts >= max_attempts).values(
        status=NoticeStatus.FAILED, last_error="worker stopped while sending; attempts used up"))
    reclaimed = _changed(update(Notice).where(stale).values(status=NoticeStatus.PENDING, claimed_at=None))
    db.session.commit()
    return {"reclaimed": reclaimed, "abandoned": abandoned}


def claim(notice_id: int, *, now: datetime) -> bool:
    """Move one notice from pending to sending; True only for the one run that wins (commits)."""
    won = _changed(update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.PENDING)
                   .values(status=NoticeStatus.SENDING, claimed_at=now, attempts=Notice.attempts + 1)) == 1
    db.session.commit()
    return won


def send_one(notice_id: int, *, now: datetime, config: Mapping[str, Any], max_attempts: int) -> str:
    """Deliver one claimed notice and record the outcome (commits): sent, retry, failed, skipped, waiting."""
    notice = db.session.get(Notice, notice_id, populate_existing=True)
    if notice is None or notice.status != NoticeStatus.SENDING:
        return "gone"
    patron = notice.patron
    # The address is read now, not when queued: a corrected e-mail or phone is used at once.
    address = notify.address_of(notice.channel, patron) if patron is not None else ""
    if patron is None or patron.status == PatronStatus.ERASED or not address or patron.notice_channel == "none":
        # A member who withdrew consent to notices (or whose address is gone) is not written to.
        notice.status = NoticeStatus.SKIPPED
        notice.last_error = "member chose no notices" if patron is not None and patron.notice_channel == "none" \
            else "no address for this channel"
        db.session.commit()
        return "skipped"
    message = notify.Message(key=notice.dedupe_key, to=address, subject=notice.subject, text=notice.body)
    outcome = "sent"
    try:
        notify.deliver(notice.channel, message, config)
    except notify.NotConfigured as exc:
        # Not an attempt: the notice waits, untouched, until the channel is configured.
        notice.status = NoticeStatus.PENDING
        notice.attempts = max(0, notice.attempts - 1)
        notice.claimed_at = None
        notice.last_error = str(exc)[:500]
        outcome = "waiting"
    except Exception as exc:  # noqa: BLE001 - one bad notice must not stop the run; the error is kept
        notice.last_error = (str(exc) if isinstance(exc, notify.DeliveryFailed) else type(exc).__name__)[:500]
        notice.claimed_at = None
        notice.status = NoticeStatus.FAILED if notice.attempts >= max_attempts else NoticeStatus.PENDING
        outcome = "failed" if notice.status == NoticeStatus.FAILED else "retry"
    else:
        notice.status = NoticeStatus.SENT
        notice.sent_at = now
        notice.last_error = ""
    db.session.commit()
    return outcome


def send_pending(*, now: datetime | None = None, budget_seconds: float = SEND_BUDGET_SECONDS) -> dict[str, int]:
    """Reclaim stale claims, then claim and send pending notices one by one, committing each."""
    config = current_app.config
    max_attempts = int(config["CIRCULATION_NOTICE_MAX_ATTEMPTS"])
    started = clock.monotonic()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "waiting": 0, "gone": 0, "lost_claim": 0}
    counts.update(reclaim_stale(now=now or utcnow(), max_attempts=max_attempts))
    unconfigured: set[str] = set()
    last_id = 0
    while clock.monotonic() - started < budget_seconds:
        stmt = (select(Notice.id, Notice.channel).where(Notice.status == NoticeStatus.PENDING, Notice.id > last_id)
                .order_by(Notice.id).limit(SEND_BATCH))
        if unconfigured:
            stmt = stmt.where(Notice.channel.not_in(unconfigured))
        batch = db.session.execute(stmt).all()
        db.session.commit()  # end the read transaction before the first claim
        if not batch:
            break
        for notice_id, channel in batch:
            last_id = notice_id
            if channel in unconfigured:
                continue
            at = now or utcnow()
            if not claim(notice_id, now=at):
                counts["lost_claim"] += 1  # another run took it first
                continue
            outcome = send_one(notice_id, now=at, config=config, max_attempts=max_attempts)
            counts[outcome] += 1
            if outcome == "waiting":
                unconfigured.add(channel)
            if clock.monotonic() - started >= budget_seconds:
                break
    return counts


@register_job("circulation.send_notices", queue="notices", timeout=30 * 60, title=_l("Send notices"))
def send_notices(ctx: JobContext) -> dict[str, Any]:
    """Send the pending notices of the outbox (at-least-once, with de-duplication keys)."""
    return send_pending()


# --- scanning loans --------------------------------------------------------------------------------

def scan(*, now: datetime, checkpoint: Callable[[float], None] | None = None) -> dict[str, int]:
    """Queue due-soon and overdue notices for every library with active loans, one commit per library."""
    totals = {"due_soon": 0, "overdue": 0, "existing": 0, "libraries": 0}
    library_ids = notice_services.libraries_with_active_loans()
    for done, library_id in enumerate(library_ids, start=1):
        result = notice_services.scan_library(library_id=library_id, now=now)
        for key, value in result.as_dict().items():
            totals[key] += value
        totals["libraries"] += 1
        if checkpoint is not None:
            checkpoint(100.0 * done / len(library_ids))
        else:
            db.session.commit()
    if totals["due_soon"] or totals["overdue"]:
        notice_services.request_send_job()  # one send run for the whole scan, after the last commit
    db.session.commit()
    return totals


@register_job("circulation.scan_notices", queue="notices", timeout=30 * 60, title=_l("Queue loan notices"))
def scan_notices(ctx: JobContext) -> dict[str, Any]:
    """Queue due-soon and overdue notices for active loans (a rerun queues nothing new)."""
    return scan(now=utcnow(), checkpoint=ctx.progress)


# --- the hold shelf and privacy ----------------------------------------------------------------------

@register_job("circulation.expire_holds", queue="default", timeout=30 * 60, title=_l("Expire uncollected holds"))
def expire_holds(ctx: JobContext) -> dict[str, Any]:
    """Close holds left on the shelf past their last day and pass the copies on."""
    count = holds.expire_shelf(now=utcnow(), actor=ctx.actor)
    db.session.commit()
    return {"expired": count}


def anonymise_returned(*, now: datetime, after_days: int, actor: Actor) -> dict[str, int]:
    """Cut the patron link of returned loans older than ``after_days`` unless the patron keeps a history.

    Same effect as circulation.services.desk.anonymise, done as set-based UPDATEs in chunks that
    commit one by one, so a long backlog never holds a long write lock.
    """
    cutoff = now - timedelta(days=after_days)
    keeps_history = select(Patron.id).where(Patron.history_opt_in.is_(True))
    due = (Loan.returned_at.is_not(None), Loan.returned_at <= cutoff, Loan.patron_id.is_not(None))
    anonymised = 0
    while True:
        ids = db.session.scalars(select(Loan.id).where(*due, Loan.patron_id.not_in(keeps_history))
                                 .order_by(Loan.id).limit(ANONYMISE_CHUNK)).all()
        if not ids:
            break
        anonymised += _changed(update(Loan).where(Loan.id.in_(ids), Loan.patron_id.is_not(None))
                               .values(patron_id=None, anonymised=True, request_key=None))
        db.session.commit()
    kept = int(db.session.scalar(select(func.count()).select_from(Loan).where(*due)) or 0)
    audit.record(actor, "loan.anonymise", object_type="loan", details={"anonymised": anonymised,
                                                                       "kept_history": kept}, now=now)
    db.session.commit()
    return {"anonymised": anonymised, "kept_history": kept}


@register_job("circulation.anonymise_loans", queue="default", timeout=60 * 60,
              title=_l("Anonymise returned loans"))
def anonymise_loans(ctx: JobContext) -> dict[str, Any]:
    """Anonymise returned loans past CIRCULATION_ANONYMISE_AFTER_DAYS and clear old notice texts (UU PDP 42-44)."""
    now = utcnow()
    result = anonymise_returned(now=now, after_days=int(current_app.config["CIRCULATION_ANONYMISE_AFTER_DAYS"]),
                                actor=ctx.actor)
    result["notice_texts_cleared"] = clear_notice_texts(
        now=now, after_days=int(current_app.config["CIRCULATION_NOTICE_TEXT_DAYS"]))
    return result


def clear_notice_texts(*, now: datetime, after_days: int) -> int:
    """Blank the text of notices sent (or given up) more than ``after_days`` ago; the row stays as a record.

    A notice's text names the member and the books: kept while staff may need to answer "did you tell me?",
    then cleared like returned loans are.
    """
    cutoff = now - timedelta(days=after_days)
    done = (NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SKIPPED)
    cleared = _changed(update(Notice).where(Notice.status.in_(done), Notice.created_at <= cutoff, Notice.body != "")
                       .values(body="", subject=""))
    db.session.commit()
    return cleared


@register_job(classlists.JOB_KIND, queue="import", timeout=3600, title=_l("Class list import"))
def import_class_list(ctx: JobContext, *, library_id: int, upload: str, consent: bool = False) -> dict[str, Any]:
    """Job: register or update the pupils of one uploaded class list."""
    record = db.session.get(JobRecord, ctx.record_id)
    # Acts for the staff member who uploaded the list (checked then); audit rows name them.
    actor = Actor(label=record.started_by_label if record else "system", role=Role.ADMIN,
                  user_id=record.started_by_id if record else None, library_id=library_id)
    return classlists.run_import(library_id=library_id, upload=upload, consent=consent, actor=actor, now=utcnow(),
                      checkpoint=ctx.progress)
