"""The catalog API for MARC imports: list and read batches, their per-record rows, and queue an upload."""
from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask_babel import gettext as _

from catalog.api.common import API, int_field, iso, issue_json, page_json
from catalog.models import ImportBatch, ImportRow
from catalog.services import imports as import_service
from catalog.views import bp
from ils.api import ApiProblem, api_view, json_response
from ils.auth import require_actor
from ils.errors import ValidationFailed
from ils.extensions import db
from ils.models import JobRecord
from ils.services import page_of
from ils.views import page_arg

IMPORT_PAGE_SIZE = 50
TRUE = ("1", "true", "y", "yes", "on")


def _batch(batch: ImportBatch) -> dict[str, Any]:
    job = db.session.get(JobRecord, batch.job_id) if batch.job_id else None
    return {"id": batch.id, "library": {"id": batch.library_id, "code": batch.library.code},
            "filename": batch.filename, "size": batch.size, "format": batch.format, "encoding": batch.encoding,
            "on_match": batch.on_match, "dry_run": batch.dry_run, "status": batch.status.value,
            "position": batch.position, "counts": dict(batch.counts or {}), "error": batch.error,
            "job_id": batch.job_id,
            "job": {"id": job.id, "status": job.status.value, "progress": job.progress,
                    "message": job.message or ""} if job else None,
            "created_at": iso(batch.created_at), "finished_at": iso(batch.finished_at),
            "links": {"self": url_for("catalog.api_import", batch_id=batch.id),
                      "rows": url_for("catalog.api_import_rows", batch_id=batch.id),
                      "html": url_for("catalog.import_detail", batch_id=batch.id)}}


def _row(row: ImportRow) -> dict[str, Any]:
    return {"position": row.position, "outcome": row.outcome, "record_id": row.record_id,
            "matched_by": row.matched_by, "previous_version": row.previous_version,
            "items_added": row.items_added, "title": row.title,
            "issues": [issue_json(i) for i in row.issues or []]}


@bp.route(f"{API}/imports", methods=["GET"])
@api_view("catalog.import")
def api_imports() -> Response:
    """Import batches of my library (all for network-wide staff), newest first."""
    page = page_arg()
    batches, total = page_of(import_service.list_batches(actor=require_actor()), page=page,
                             page_size=IMPORT_PAGE_SIZE)
    return json_response(page_json([_batch(b) for b in batches], page=page, total=total, size=IMPORT_PAGE_SIZE))


@bp.route(f"{API}/imports/<id:batch_id>", methods=["GET"])
@api_view("catalog.import")
def api_import(batch_id: int) -> Response:
    """A batch: status, counts and its job."""
    return json_response(_batch(import_service.get_batch(batch_id, actor=require_actor())))


@bp.route(f"{API}/imports/<id:batch_id>/rows", methods=["GET"])
@api_view("catalog.import")
def api_import_rows(batch_id: int) -> Response:
    """The per-record report of a batch, optionally of one outcome, with readable issues."""
    batch = import_service.get_batch(batch_id, actor=require_actor())
    page = page_arg()
    outcome = request.args.get("outcome", "")
    rows, total = page_of(import_service.batch_rows(batch.id, outcome=outcome), page=page,
                          page_size=IMPORT_PAGE_SIZE)
    return json_response(page_json([_row(r) for r in rows], page=page, total=total, size=IMPORT_PAGE_SIZE))


@bp.route(f"{API}/imports", methods=["POST"])
@api_view("catalog.import")
def api_import_start() -> Response:
    """Upload a MARC file (multipart ``file``); the import is queued as a job (202)."""
    actor = require_actor()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiProblem(422, _("Send the MARC file in the multipart field \"file\"."), field="file")
    library_id = int_field(request.form.get("library_id"), "library_id") or actor.library_id
    if library_id is None:
        raise ValidationFailed(_("Imports add copies to a library: choose one."), field="library_id")
    batch = import_service.start_import(
        stream=upload.stream, filename=upload.filename, library_id=library_id, actor=actor,
        fmt=request.form.get("format", "auto"), encoding=request.form.get("encoding", "auto"),
        on_match=request.form.get("on_match", "items"),
        dry_run=request.form.get("dry_run", "").strip().lower() in TRUE, enqueue=True)
    db.session.commit()
    return json_response(_batch(batch), 202, Location=url_for("catalog.api_import", batch_id=batch.id))
