"""The search outbox: catalog changes are noted in the same transaction, then a job hands them on.

The index (catalog.search) is never the only copy of anything: a lost job only delays the update,
because the rows stay in catalog_index_change until the job has applied them.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from catalog.models import IndexChange, Record
from ils import jobs
from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import JobRecord, JobStatus

INDEX_JOB = "catalog.index_changes"
SESSION_FLAG = "catalog_index_requested"
# The index job this process last found (or put) in the queue: [job id] or [].
_last_seen: list[str] = []


def mark_changed(record_ids: Iterable[int]) -> None:
    """Note records whose index entry must be refreshed (or removed); the job is requested once."""
    ids = sorted(set(record_ids))
    if not ids:
        return
    now = utcnow()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(IndexChange.__table__).on_conflict_do_update(index_elements=["record_id"],
                                                               set_={"changed_at": now})
    db.session.execute(stmt, [{"record_id": i, "changed_at": now} for i in ids])  # one statement, many rows
    request_index_job()


def request_index_job() -> None:
    """Enqueue the index job after commit, unless one is already waiting in the queue."""
    if db.session.info.get(SESSION_FLAG):
        return
    # Checkouts and check-ins come here on every request: first ask Redis about the job this process
    # last saw waiting (one lookup); only when it has started or gone, look for others in the database.
    if _last_seen and jobs.in_queue(_last_seen[0]):
        db.session.info[SESSION_FLAG] = True
        return
    waiting = db.session.scalars(select(JobRecord.id).where(JobRecord.kind == INDEX_JOB,
                                                          JobRecord.status == JobStatus.QUEUED).limit(5)).all()
    # A queued record whose job Redis no longer holds (a restart without persistence, another Redis)
    # must not block the index: only a job really in the queue makes a new one unnecessary.
    # Without a reachable queue the change waits in the outbox; the periodic run picks it up.
    queued = next((job_id for job_id in waiting if jobs.in_queue(job_id)), None)
    if queued is None and jobs.redis_ok():
        queued = jobs.enqueue(INDEX_JOB, actor=Actor.system("system:catalog")).id
    _last_seen[:] = [queued] if queued else []
    db.session.info[SESSION_FLAG] = True


def pending(limit: int = 500) -> list[tuple[int, bool]]:
    """(record id, still exists) for the oldest pending changes."""
    rows = db.session.execute(select(IndexChange.record_id, Record.id).outerjoin(Record, Record.id == IndexChange.record_id)
                              .order_by(IndexChange.changed_at).limit(limit)).all()
    return [(change_id, record_id is not None) for change_id, record_id in rows]


def _forget_flag(session: Session, *_args: object) -> None:
    session.info.pop(SESSION_FLAG, None)


def install_session_hooks() -> None:
    """Forget "index job requested" at the end of each transaction (idempotent)."""
    for name in ("after_commit", "after_rollback"):
        if not event.contains(Session, name, _forget_flag):
            event.listen(Session, name, _forget_flag)
