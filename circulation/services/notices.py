"""The notices outbox: queue a message as a row in the caller's transaction; jobs send it later.

A notice is unique per dedupe key (a unique constraint), so scanning twice, a retried job or two
desks racing never queue a second one: the database guarantees one outbox row per notice. Sending
is at-least-once (see circulation.jobs.send_notices): a worker killed between the gateway's answer
and the commit resends after the claim times out, with the same key for de-duplication.
Texts are written in the patron's language (Bahasa Indonesia by default). R9, R15.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import selectinload

from catalog.models import Item
from circulation.models import Loan, Notice, NoticeKind, NoticeStatus, Patron, PatronStatus
from circulation.services.common import settings_for
from ils import audit, jobs, outbox
from ils.authz import Actor, require, require_listing
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import JobRecord, JobStatus, Library

log = logging.getLogger(__name__)

SEND_JOB = "circulation.send_notices"
SESSION_FLAG = "circulation_send_requested"
# Overdue reminders go out when the oldest loan of a batch is this many days late (see scan_loans).
OVERDUE_LEVELS = (1, 7, 14)
PAGE_SIZE = 50


@dataclass(frozen=True)
class NoticeLine:
    """One loan in a due-soon or overdue notice: the title and the local due date."""

    title: str
    due: date


def channel_for(patron: Patron) -> str | None:
    """Where this patron's notices go, or None when they cannot be reached or chose none."""
    if patron.notice_channel == "none":
        return None
    if patron.notice_channel == "webhook" and patron.phone:
        return "webhook"
    if patron.email:
        return "email"
    if patron.phone and patron.whatsapp:
        return "webhook"
    return None


def _day(value: date) -> str:
    # Day-month-year, as Indonesians write dates; the same in both languages.
    return value.strftime("%d-%m-%Y")


def render(kind: NoticeKind, patron: Patron, library: Library, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of a notice, in the patron's language."""
    with force_locale(patron.locale or "id"):
        if kind == NoticeKind.HOLD_READY:
            hold, item = context["hold"], context["item"]
            until = _day(hold.shelf_until) if hold.shelf_until else "-"
            subject = _("Your reserved book is ready")
            body = _("Hello %(name)s, the book \"%(title)s\" you reserved is ready for pickup at %(library)s "
                     "until %(until)s. Bring your library card.", name=patron.name, title=item.record.title[:150],
                     library=library.name, until=until)
        else:
            lines = "\n".join(_("- %(title)s (due %(due)s)", title=line.title[:120], due=_day(line.due))
                              for line in context["lines"])
            if kind == NoticeKind.DUE_SOON:
                subject = _("Your loans are due soon")
                body = _("Hello %(name)s, these books borrowed at %(library)s are due soon:\n%(lines)s\nYou can "
                         "renew them in the OPAC or at the library.", name=patron.name, library=library.name,
                         lines=lines)
            else:
                subject = _("Your loans are overdue")
                body = _("Hello %(name)s, these books borrowed at %(library)s are overdue:\n%(lines)s\nPlease "
                         "return them to any library of the city network.", name=patron.name,
                         library=library.name, lines=lines)
    return str(subject), f"{body}\n\n{library.name}"


def queue(*, kind: NoticeKind, patron: Patron, library_id: int, key: str, context: dict[str, Any],
          now: datetime, request_send: bool = True) -> Notice | None:
    """Add a notice to the outbox unless one with this key exists; returns the new row or None."""
    if outbox.has_key(Notice, key):
        return None
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    channel = channel_for(patron)
    subject, body = render(kind, patron, library, context)
    notice = Notice(dedupe_key=key, kind=kind, channel=channel or "none", patron_id=patron.id, library_id=library_id,
                    subject=subject[:200], body=body, created_at=now,
                    status=NoticeStatus.PENDING if channel else NoticeStatus.SKIPPED)
    if not outbox.add_once(notice):  # a concurrent transaction queued the same key first
        return None
    if channel and request_send:
        request_send_job()
    return notice


def request_send_job() -> None:
    """Ask for a send run after this transaction commits; never fails when the queue is down (R15).

    The outbox row is already in the caller's transaction, so without a queue the notice simply
    waits for the periodic send run.
    """
    session = db.session()
    current = session.get_transaction()
    # Once per transaction: the flag holds the transaction it was set in, so it needs no reset hook.
    if (current is not None and session.info.get(SESSION_FLAG) is current) or SEND_JOB not in jobs.JOBS:
        return
    try:
        with session.begin_nested():
            session.info[SESSION_FLAG] = session.get_transaction()
            waiting = session.scalars(select(JobRecord.id).where(
                JobRecord.kind == SEND_JOB, JobRecord.status == JobStatus.QUEUED).limit(5)).all()
            # A queued record whose job Redis no longer holds must not stop a new request.
            if any(jobs.in_queue(job_id) for job_id in waiting) or not jobs.redis_ok():
                return
            jobs.enqueue(SEND_JOB, actor=Actor.system("system:notices"))
    except Exception:  # noqa: BLE001 - a lost nudge only delays a notice; a checkout must not fail for it
        log.warning("could not request a notice send run; the periodic run will send the notice", exc_info=True)


# --- the daily scan of active loans --------------------------------------------------------------

@dataclass
class ScanResult:
    """Notices queued (new rows) and already present (a rerun, or an earlier reminder)."""

    due_soon: int = 0
    overdue: int = 0
    existing: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain counts for the job record."""
        return {"due_soon": self.due_soon, "overdue": self.overdue, "existing": self.existing}


def overdue_level(days_late: int) -> int:
    """The highest reminder level a loan this many days late has reached (0: none yet)."""
    reached = [level for level in OVERDUE_LEVELS if days_late >= level]
    return reached[-1] if reached else 0


def scan_library(*, library_id: int, now: datetime) -> ScanResult:
    """Queue due-soon and overdue notices for the active loans lent at one library (flushes only)."""
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    zone = ZoneInfo(library.timezone or "Asia/Makassar")
    today = now.astimezone(zone).date()
    window = int(settings_for(library_id).due_soon_days)
    # Everything due up to the end of the last local day of the window, plus everything overdue.
    horizon = datetime.combine(today + timedelta(days=window + 1), time(0), tzinfo=zone)
    loans = db.session.scalars(
        select(Loan).join(Patron, Patron.id == Loan.patron_id)
        .where(Loan.library_id == library_id, Loan.returned_at.is_(None), Loan.lost_at.is_(None),
               Loan.due_at < horizon, Patron.status != PatronStatus.ERASED)
        .options(selectinload(Loan.item).selectinload(Item.record), selectinload(Loan.patron))
        .order_by(Loan.patron_id, Loan.due_at, Loan.id)).all()
    by_patron: dict[int, list[Loan]] = defaultdict(list)
    for loan in loans:
        by_patron[int(loan.patron_id or 0)].append(loan)
    result = ScanResult()
    for loans_of_patron in by_patron.values():
        patron = loans_of_patron[0].patron
        assert patron is not None  # joined on the patron above
        due_soon = [loan for loan in loans_of_patron if loan.due_at >= now]
        overdue = [loan for loan in loans_of_patron if loan.due_at < now]
        if due_soon:
            _due_soon(patron, library, due_soon, today=today, window=window, zone=zone, now=now, result=result)
        if overdue:
            _overdue(patron, library, overdue, today=today, zone=zone, now=now, result=result)
    return result


def _line(loan: Loan, zone: ZoneInfo) -> NoticeLine:
    return NoticeLine(title=loan.item.record.title, due=loan.due_at.astimezone(zone).date())


def _due_soon(patron: Patron, library: Library, loans: list[Loan], *, today: date, window: int, zone: ZoneInfo,
              now: datetime, result: ScanResult) -> None:
    # One reminder per loan, not one a day: a loan already listed in an earlier due-soon notice
    # (sent after it was lent or renewed, and once it was inside the window) needs no other.
    last = db.session.scalar(select(func.max(Notice.created_at)).where(
        Notice.kind == NoticeKind.DUE_SOON, Notice.patron_id == patron.id, Notice.library_id == library.id))
    key = f"due_soon:{patron.id}:{library.id}:{today.isoformat()}"

    def covered(loan: Loan) -> bool:
        if last is None:
            return False
        entered = loan.due_at.astimezone(zone).date() - timedelta(days=window)
        return last >= max(loan.checked_out_at, loan.last_renewed_at or loan.checked_out_at) and \
            last.astimezone(zone).date() >= entered

    if all(covered(loan) for loan in loans):
        result.existing += 1
        return
    lines = [_line(loan, zone) for loan in loans]
    if queue(kind=NoticeKind.DUE_SOON, patron=patron, library_id=library.id, key=key, context={"lines": lines},
             now=now, request_send=False) is not None:
        result.due_soon += 1
    else:
        result.existing += 1


def _overdue(patron: Patron, library: Library, loans: list[Loan], *, today: date, zone: ZoneInfo, now: datetime,
             result: ScanResult) -> None:
    # A batch is the loans due on the same local day (usually lent together). Each batch gets at
    # most three reminders, at 1, 7 and 14 days late; a level missed while the scan did not run is
    # skipped, not sent late, so a patron never receives two reminders for a batch at once.
    batches: dict[date, list[Loan]] = defaultdict(list)
    for loan in loans:
        batches[loan.due_at.astimezone(zone).date()].append(loan)
    lines = [_line(loan, zone) for loan in loans]  # each reminder lists every overdue loan here
    for due, _batch in sorted(batches.items()):
        level = overdue_level((today - due).days)
        if not level:
            continue
        key = f"overdue:{patron.id}:{library.id}:{due.isoformat()}:{level}"
        if queue(kind=NoticeKind.OVERDUE, patron=patron, library_id=library.id, key=key, context={"lines": lines},
                 now=now, request_send=False) is not None:
            result.overdue += 1
        else:
            result.existing += 1


def libraries_with_active_loans() -> list[int]:
    """Ids of the libraries that have lent something not yet returned."""
    return list(db.session.scalars(select(Loan.library_id).where(Loan.returned_at.is_(None)).distinct()
                                   .order_by(Loan.library_id)))


# --- the staff delivery page ---------------------------------------------------------------------

def list_notices(*, actor: Actor, library_id: int | None = None, status: str = "", kind: str = "",
                 page: int = 1, page_size: int = PAGE_SIZE) -> tuple[list[Notice], int]:
    """Notices of the actor's library (network roles: all, or one library), newest first."""
    visible = require_listing(actor, "notices.view")
    stmt = select(Notice)
    if visible is not None:
        stmt = stmt.where(Notice.library_id.in_(visible))
    if library_id is not None:
        require(actor, "notices.view", library_id)
        stmt = stmt.where(Notice.library_id == library_id)
    try:
        if status:
            stmt = stmt.where(Notice.status == NoticeStatus(status))
        if kind:
            stmt = stmt.where(Notice.kind == NoticeKind(kind))
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    total = int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = db.session.scalars(stmt.options(selectinload(Notice.patron))
                              .order_by(Notice.created_at.desc(), Notice.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).all()
    return list(rows), total


def status_counts(*, actor: Actor, library_id: int | None = None) -> dict[str, int]:
    """How many notices of the visible libraries are in each status."""
    visible = require_listing(actor, "notices.view")
    stmt = select(Notice.status, func.count()).group_by(Notice.status)
    if visible is not None:
        stmt = stmt.where(Notice.library_id.in_(visible))
    if library_id is not None:
        require(actor, "notices.view", library_id)
        stmt = stmt.where(Notice.library_id == library_id)
    return {status.value: int(count) for status, count in db.session.execute(stmt).all()}


def retry_failed(*, actor: Actor, library_id: int | None, now: datetime) -> int:
    """Put the failed notices of a library (network roles: of every library) back in the queue."""
    if library_id is None:
        require(actor, "notices.view", None)  # network level: admin and DPK only
    else:
        require(actor, "notices.view", library_id)
    stmt = (update(Notice).where(Notice.status == NoticeStatus.FAILED)
            .values(status=NoticeStatus.PENDING, attempts=0, claimed_at=None)
            .execution_options(synchronize_session=False))
    if library_id is not None:
        stmt = stmt.where(Notice.library_id == library_id)
    count = int(cast(CursorResult[Any], db.session.execute(stmt)).rowcount or 0)
    audit.record(actor, "notice.retry", object_type="library", object_id=library_id, library_id=library_id,
                 details={"count": count}, now=now)
    db.session.flush()
    if count:
        request_send_job()
    return count

