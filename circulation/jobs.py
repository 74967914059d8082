"""Circulation background jobs: notices, the hold shelf, anonymising returned loans.

Notices go out through an ils.outbox (its docstring states the delivery guarantees, R9 and R15):
one row per notice (circ_notice.dedupe_key is unique), queued in the same transaction as the loan
or hold change that caused it; sent at least once, each resend with the same Message-ID or
Idempotency-Key. The member's address is read when the notice is sent, not when it was queued.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from circulation import metrics  # noqa: F401  (registers the circulation.* metrics at app start)
from circulation.models import Loan, Notice, NoticeStatus, Patron, PatronStatus
from circulation.services import classlists, holds
from circulation.services import notices as notice_services
from ils import audit, notify, outbox
from ils.authz import Actor
from ils.extensions import db
from ils.jobs import JobContext, register_job
from ils.mixins import utcnow
from ils.models import JobRecord, Role

ANONYMISE_CHUNK = 2000


# --- sending -------------------------------------------------------------------------------------

def _recipient(notice: Notice) -> tuple[str, str]:
    """The member's current address on the notice's channel, or why the notice is skipped."""
    patron = notice.patron
    # The address is read now, not when queued: a corrected e-mail or phone is used at once.
    address = notify.address_of(notice.channel, patron) if patron is not None else ""
    if patron is not None and patron.notice_channel == "none":
        return "", "member chose no notices"  # a member who withdrew consent to notices is not written to
    if patron is None or patron.status == PatronStatus.ERASED or not address:
        return "", "no address for this channel"
    return address, ""


NOTICES = outbox.Outbox(Notice, NoticeStatus, _recipient)


def claim(notice_id: int, *, now: datetime) -> bool:
    """Move one notice from pending to sending; True only for the one run that wins (commits)."""
    return outbox.claim(NOTICES, notice_id, now=now)


def send_pending(*, now: datetime | None = None,
                 budget_seconds: float = outbox.SEND_BUDGET_SECONDS) -> dict[str, int]:
    """Reclaim stale claims, then claim and send pending notices one by one, committing each."""
    config = current_app.config
    return outbox.send_pending(NOTICES, config=config, max_attempts=int(config["CIRCULATION_NOTICE_MAX_ATTEMPTS"]),
                               now=now, budget_seconds=budget_seconds)


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
        anonymised += outbox.changed(update(Loan).where(Loan.id.in_(ids), Loan.patron_id.is_not(None))
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
    cleared = outbox.changed(update(Notice).where(Notice.status.in_(done), Notice.created_at <= cutoff, Notice.body != "")
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
