"""Staff import screens: upload a MARC file, follow its job, read the per-record report, revert."""
from __future__ import annotations

import csv
import io

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _

from catalog.forms import ImportForm
from catalog.services import imports as services
from catalog.validation import describe
from catalog.views import bp, render
from ils.auth import permission_required, require_actor
from ils.errors import ValidationFailed
from ils.extensions import db
from ils.forms import PostForm
from ils.mixins import utcnow
from ils.models import JobRecord
from ils.services import page_of
from ils.services.libraries import list_libraries
from ils.views import page_arg, run_form_service

PAGE_SIZE = 50


@bp.route("/catalog/imports/", methods=["GET", "POST"])
@permission_required("catalog.import")
def import_list() -> str | Response:
    """Upload a file for my library and see earlier imports."""
    actor = require_actor()
    form = ImportForm().for_actor(actor.network_wide, list_libraries(actor=actor, include_inactive=False))
    if form.validate_on_submit():
        library_id = form.library_id.data if actor.network_wide else actor.library_id
        if library_id is None:
            raise ValidationFailed(_("Imports add copies to a library: choose one."))
        upload = form.file.data
        batch = run_form_service(form, lambda: services.start_import(
            stream=upload.stream, filename=upload.filename or "upload", library_id=library_id, actor=actor,
            fmt=form.format.data, encoding=form.encoding.data, on_match=form.on_match.data,
            dry_run=bool(form.dry_run.data)))
        if batch is not None:
            flash(_("The file has been received; the import runs in the background."), "success")
            return redirect(url_for("catalog.import_detail", batch_id=batch.id))
    page = page_arg()
    batches, total = page_of(services.list_batches(actor=actor), page=page, page_size=PAGE_SIZE)
    return render("catalog/import_list.html", form=form, batches=batches, total=total, page=page,
                  page_size=PAGE_SIZE)


@bp.route("/catalog/imports/<id:batch_id>")
@permission_required("catalog.import")
def import_detail(batch_id: int) -> str:
    """A batch: progress, counts and every record's outcome (filter by outcome)."""
    batch = services.get_batch(batch_id, actor=require_actor())
    outcome = request.args.get("outcome", "")
    page = page_arg()
    rows, total = page_of(services.batch_rows(batch_id, outcome=outcome), page=page, page_size=PAGE_SIZE)
    job = db.session.get(JobRecord, batch.job_id) if batch.job_id else None
    return render("catalog/import_detail.html", batch=batch, rows=rows, total=total, page=page,
                  page_size=PAGE_SIZE, outcome=outcome, outcomes=services.OUTCOMES, job=job,
                  resumable=services.resumable(batch, job, now=utcnow()),
                  all_rows=sum(int(batch.counts.get(o, 0)) for o in services.OUTCOMES), describe=describe,
                  post_form=PostForm())


@bp.route("/catalog/imports/<id:batch_id>/report.csv")
@permission_required("catalog.import")
def import_report(batch_id: int) -> Response:
    """The per-record report as CSV (opens in a spreadsheet)."""
    batch = services.get_batch(batch_id, actor=require_actor())

    def generate():  # type: ignore[no-untyped-def]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_("Position"), _("Outcome"), _("Record"), _("Matched by"), _("Copies added"), _("Title"),
                         _("Messages")])
        for row in db.session.scalars(services.batch_rows(batch.id)):
            writer.writerow([row.position, row.outcome, row.record_id or "", row.matched_by, row.items_added,
                             row.title, " | ".join(describe(i) for i in row.issues or [])])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{batch.id}.csv"'})


@bp.route("/catalog/imports/<id:batch_id>/resume", methods=["POST"])
@permission_required("catalog.import")
def import_resume(batch_id: int) -> Response:
    """Continue an import whose worker stopped (from the last committed chunk)."""
    form = PostForm()
    if form.validate_on_submit() and run_form_service(
            form, lambda: services.resume_import(batch_id=batch_id, actor=require_actor(), now=utcnow())):
        flash(_("The import continues where it stopped."), "success")
    return redirect(url_for("catalog.import_detail", batch_id=batch_id))


@bp.route("/catalog/imports/<id:batch_id>/revert", methods=["POST"])
@permission_required("catalog.import")
def import_revert(batch_id: int) -> Response:
    """Undo a finished import."""
    form = PostForm()
    if form.validate_on_submit():
        result = run_form_service(form, lambda: services.revert_batch(batch_id=batch_id, actor=require_actor()))
        if result is not None:
            flash(_("The import has been reverted: %(items)s copies and %(records)s records removed, %(restored)s "
                    "records restored.", **result), "success")
    return redirect(url_for("catalog.import_detail", batch_id=batch_id))
