"""Job records as staff see them: lists, detail, live status, retry, and the retention purge."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import Select, delete, select, update

from ils import audit
from ils.authz import Actor, require, require_listing
from ils.errors import NotFound, PolicyViolation
from ils.extensions import db
from ils.jobs import JobContext, enqueue, register_job
from ils.mixins import utcnow
from ils.models import JobRecord, JobStatus
from ils.services import page_of

PAGE_SIZE = 30


def _visible(actor: Actor) -> Select:
    """Job records the actor may list (jobs.view, scoped to their library)."""
    stmt = select(JobRecord)
    ids = require_listing(actor, "jobs.view")
    return stmt if ids is None else stmt.where(JobRecord.library_id.in_(ids))


def list_jobs(*, actor: Actor, page: int = 1, page_size: int = PAGE_SIZE) -> tuple[list[JobRecord], int]:
    """Job records the actor may see, newest first, and the total."""
    return page_of(_visible(actor).order_by(JobRecord.created_at.desc()), page=page, page_size=page_size)


def get_job(*, actor: Actor, job_id: str) -> JobRecord:
    """One job record, if the actor may see it."""
    record = db.session.get(JobRecord, job_id)
    if record is None:
        raise NotFound()
    if record.library_id is None:
        require(actor, "jobs.view")
    else:
        require(actor, "jobs.view", record.library_id)
    return record


def jobs_status(*, actor: Actor, job_ids: list[str]) -> list[JobRecord]:
    """Several job records at once for the live progress poller (invisible ones left out)."""
    return list(db.session.scalars(_visible(actor).where(JobRecord.id.in_(job_ids[:100]))))


def retry(*, actor: Actor, job_id: str) -> JobRecord:
    """Start a failed job again as a new record linked to the old one."""
    old = get_job(actor=actor, job_id=job_id)
    require(actor, "jobs.manage", old.library_id)
    if old.status != JobStatus.FAILED:
        raise PolicyViolation(_l("Only a failed job can be retried."))
    new = enqueue(old.kind, actor=actor, library_id=old.library_id, args=old.args, retry_of_id=old.id)
    audit.record(actor, "job.retry", object_type="job", object_id=old.id, library_id=old.library_id,
                 details={"new_job": new.id, "kind": old.kind})
    return new


@register_job("ils.purge_job_records", queue="default", title=_l("Remove old job records"))
def purge_job_records(ctx: JobContext) -> dict[str, Any]:
    """Delete finished job records older than ILS_JOB_RECORD_RETENTION_DAYS (failed ones too)."""
    days = int(current_app.config["ILS_JOB_RECORD_RETENTION_DAYS"])
    cutoff = utcnow() - timedelta(days=days)
    done = (JobStatus.FINISHED, JobStatus.FAILED)
    # Retries point at older records; unlink them before deleting.
    old_ids = select(JobRecord.id).where(JobRecord.status.in_(done), JobRecord.created_at < cutoff)
    db.session.execute(update(JobRecord).where(JobRecord.retry_of_id.in_(old_ids)).values(retry_of_id=None))
    result = db.session.execute(delete(JobRecord).where(JobRecord.status.in_(done),
                                                        JobRecord.created_at < cutoff,
                                                        JobRecord.id != ctx.record_id))
    ctx.progress(100, str(lazy_ngettext("Removed %(num)s record.", "Removed %(num)s records.",
                                        result.rowcount)))
    return {"removed": result.rowcount, "older_than_days": days}

