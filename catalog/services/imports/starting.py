"""Starting an import: an uploaded file stored and its job queued, and a stopped import queued again.

The file goes to the instance folder (never served) with its size and SHA-256; the batch and its
job record join the caller's session, and the job reaches the queue only once the caller commits.
A batch whose job failed, vanished or stalled can be resumed: the new job continues after the last
committed chunk.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l

from catalog import marc
from catalog.models import BatchStatus, ImportBatch
from catalog.services.imports.batches import get_batch
from ils import audit, authz, jobs
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import JobRecord, JobStatus, Library

STALL_MINUTES = 10


def upload_dir() -> Path:
    """Where uploaded files wait for their job (outside static/, never served)."""
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_import(*, stream: IO[bytes], filename: str, library_id: int, actor: Actor, fmt: str = "auto",
                 encoding: str = "auto", on_match: str = "items", dry_run: bool = False,
                 enqueue: bool = True, max_bytes: int | None | str = "config") -> ImportBatch:
    """Store an uploaded file and queue its import for a library; refuses files over the size limit."""
    authz.require(actor, "catalog.import", library_id)
    if db.session.get(Library, library_id) is None:
        raise NotFound()
    if fmt not in ("auto", *marc.FORMATS) or encoding not in marc.ENCODINGS or on_match not in ("items", "replace"):
        raise ValidationFailed(str(_l("Unknown import option.")))
    limit = current_app.config["CATALOG_IMPORT_MAX_BYTES"] if max_bytes == "config" else max_bytes
    path = upload_dir() / f"{uuid.uuid4().hex}.dat"
    digest, size, head = hashlib.sha256(), 0, b""
    with path.open("wb") as out:
        while block := stream.read(1 << 20):
            size += len(block)
            if limit is not None and size > limit:
                out.close()
                path.unlink()
                raise ValidationFailed(str(_l("The file is larger than %(mb)s MB. Split it into smaller files.",
                                              mb=int(limit) // (1 << 20))), field="file")
            head = head or block[:4096]
            digest.update(block)
            out.write(block)
    if size == 0:
        path.unlink()
        raise ValidationFailed(str(_l("The file is empty.")), field="file")
    batch = ImportBatch(library_id=library_id, filename=Path(filename or "upload").name[:255], stored_path=str(path),
                        sha256=digest.hexdigest(), size=size,
                        format=marc.detect_format(filename or "", head) if fmt == "auto" else fmt,
                        encoding=encoding, on_match=on_match, dry_run=dry_run, status=BatchStatus.QUEUED,
                        counts={}, actor_label=actor.label, user_id=actor.user_id)
    db.session.add(batch)
    db.session.flush()
    if enqueue:
        batch.job_id = jobs.enqueue("catalog.import", actor=actor, library_id=library_id,
                                    args={"batch_id": batch.id}).id
    audit.record(actor, "import.start", object_type="import_batch", object_id=batch.id, library_id=library_id,
                 details={"filename": batch.filename, "size": size, "format": batch.format})
    return batch


def resumable(batch: ImportBatch, job: JobRecord | None, *, now: datetime) -> bool:
    """True if a batch stopped before the end: its job failed, vanished or has not moved for a while."""
    if batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING, BatchStatus.FAILED):
        return False
    if job is None or job.status == JobStatus.FAILED:
        return True
    return batch.updated_at < now - timedelta(minutes=STALL_MINUTES)


def resume_import(*, batch_id: int, actor: Actor, now: datetime) -> ImportBatch:
    """Start a stopped import again; it continues after the last committed chunk (nothing twice)."""
    batch = get_batch(batch_id, actor=actor)
    job = db.session.get(JobRecord, batch.job_id) if batch.job_id else None
    if not resumable(batch, job, now=now):
        raise Conflict(str(_l("This import is still running or already finished.")))
    if job is not None and not job.done:
        job.status, job.ended_at = JobStatus.FAILED, now
        job.error = str(_l("Interrupted (the worker stopped); the import was resumed by %(who)s.", who=actor.label))
    batch.status, batch.error = BatchStatus.QUEUED, None
    batch.job_id = jobs.enqueue("catalog.import", actor=actor, library_id=batch.library_id,
                                args={"batch_id": batch.id}, retry_of_id=job.id if job else None).id
    audit.record(actor, "import.resume", object_type="import_batch", object_id=batch.id, library_id=batch.library_id,
                 details={"position": batch.position})
    db.session.flush()
    return batch
