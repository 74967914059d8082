"""Background job screens: list with live progress, detail, retry, and starting the demo report."""
from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils import jobs, reports
from ils.services import jobs as job_services
from ils.auth import permission_required, require_actor
from ils.authz import can
from ils.extensions import db
from ils.forms import PostForm
from ils.models import JobRecord
from ils.views import bp, page_arg


def _as_json(record: JobRecord) -> dict[str, Any]:
    return {"id": record.id, "status": record.status.value, "status_label": record.status.label,
            "progress": record.progress, "message": record.message or "", "done": record.done,
            "error": record.error or "",
            "ended_at": format_datetime(record.ended_at, "short") if record.ended_at else ""}


@bp.route("/jobs/")
@permission_required("jobs.view")
def jobs_list() -> str:
    """Jobs of my library (all for admin and DPK), newest first, with live progress bars."""
    actor = require_actor()
    page = page_arg()
    records, total = job_services.list_jobs(actor=actor, page=page)
    titles = {kind: spec.title for kind, spec in jobs.JOBS.items()}
    return render_template("ils/jobs_list.html", records=records, total=total, page=page,
                           page_size=job_services.PAGE_SIZE, titles=titles, post_form=PostForm(),
                           queue_ok=jobs.redis_ok(),
                           can_run_report=can(actor, "reports.run", actor.library_id) or actor.network_wide)


@bp.route("/jobs/status.json")
@permission_required("jobs.view")
def jobs_status() -> Response:
    """Progress of several jobs for the live poller: ?id=..&id=.."""
    records = job_services.jobs_status(actor=require_actor(), job_ids=request.args.getlist("id"))
    return jsonify({"jobs": [_as_json(r) for r in records]})


@bp.route("/jobs/<job_id>")
@permission_required("jobs.view")
def job_detail(job_id: str) -> str:
    """One job: progress, message, result or error."""
    actor = require_actor()
    record = job_services.get_job(actor=actor, job_id=job_id)
    spec = jobs.JOBS.get(record.kind)
    return render_template("ils/job_detail.html", record=record, title=spec.title if spec else record.kind,
                           post_form=PostForm(),
                           can_retry=can(actor, "jobs.manage", record.library_id) or actor.network_wide)


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
@permission_required("jobs.manage")
def job_retry(job_id: str) -> Response:
    """Start a failed job again."""
    form = PostForm()
    if not form.validate_on_submit():
        return redirect(url_for("ils.job_detail", job_id=job_id))
    new = job_services.retry(actor=require_actor(), job_id=job_id)
    db.session.commit()
    flash(_("The job has been started again."), "success")
    return redirect(url_for("ils.job_detail", job_id=new.id))


@bp.route("/jobs/network-report", methods=["POST"])
@permission_required("reports.run")
def job_network_report() -> Response:
    """Start the network summary report for my library (or the whole network)."""
    form = PostForm()
    if not form.validate_on_submit():
        return redirect(url_for("ils.jobs_list"))
    record = reports.start_network_report(actor=require_actor())
    db.session.commit()
    flash(_("The report has been started; its progress is shown below."), "success")
    return redirect(url_for("ils.job_detail", job_id=record.id))
