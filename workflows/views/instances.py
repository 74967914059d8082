"""A workflow run: what to do now, who acts, by when; steps, tasks, evidence, comments, timeline."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from ils.views import run_form_service
from workflows import charts, engine
from workflows.forms import CommentForm, ConfirmForm, EvidenceForm
from workflows.services import accreditation, instances
from workflows.services import evidence as evidence_files
from workflows.services.access import allowed
from workflows.views import bp
from workflows.views.common import attach_upload, text_of


def _back(instance_id: int) -> Response:
    return redirect(url_for("workflows.instance_page", instance_id=instance_id))


@bp.route("/workflows/runs/<id:instance_id>")
@permission_required("workflows.view")
def instance_page(instance_id: int) -> str:
    """The run's page: the current step with its guidance, actions, tasks, evidence and the timeline."""
    actor = require_actor()
    instance = instances.get_instance(actor=actor, instance_id=instance_id)
    definition = instances.definition_of(instance)
    view = instances.view_of(instance)
    now = utcnow()
    state = definition.states[instance.state]
    step = engine.next_step(definition, view, now)
    options = instances.options(actor, instance)
    names = list(definition.states)
    progress = charts.progress_bar([text_of(definition.states[n].title) for n in names], names.index(instance.state),
                                   title=_("Steps of the workflow"), id_prefix=f"run{instance.id}",
                                   state_names=(_("done"), _("current"), _("to do")))
    files = {}
    for row in instances.evidence_slots(instance):
        files.setdefault(row.slot, []).append(row)
    assessment = accreditation.latest_assessment(instance)
    may_act = allowed(actor, "workflows.act", instance.library_id) and instance.closed_at is None
    may_close = may_act and allowed(actor, "workflows.manage", None)
    task_labels = {(name, task.id): text_of(task.label) for name, st in definition.states.items()
                   for task in st.checklist}
    computes_snp = any(item.do == "compute_snp" for item in state.on_enter)
    return render_template("workflows/instance.html", instance=instance, definition=definition, state=state,
                           step=step, options=options, progress=progress, files=files,
                           done=set(view.checklist_done), library=db.session.get(Library, instance.library_id),
                           timeline=instances.timeline(instance), assessment=assessment, may_act=may_act,
                           may_close=may_close, task_labels=task_labels, computes_snp=computes_snp,
                           form=ConfirmForm(), comment_form=CommentForm(), evidence_form=EvidenceForm(),
                           text_of=text_of, data=dict(view.data), accept=evidence_files.ACCEPT)


@bp.route("/workflows/runs/<id:instance_id>/act", methods=["POST"])
@permission_required("workflows.act")
def instance_act(instance_id: int) -> Response:
    """Take one of the step's transitions with the values typed into the step's fields."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        values = {key[6:]: value for key, value in request.form.items() if key.startswith("field_")}
        revision = request.form.get("revision", type=int)
        done = run_form_service(form, lambda: instances.act(
            actor=actor, instance_id=instance_id, transition=request.form.get("transition", ""), values=values,
            comment=request.form.get("comment") or None, revision=revision))
        if done is not None:
            flash(_("Done. The workflow moved to the next step."), "success")
    return _back(instance_id)


@bp.route("/workflows/runs/<id:instance_id>/task", methods=["POST"])
@permission_required("workflows.act")
def instance_task(instance_id: int) -> Response:
    """Tick or untick a task of the current step."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        run_form_service(form, lambda: instances.set_task(actor=actor, instance_id=instance_id,
                                                          task=request.form.get("task", ""),
                                                          done=request.form.get("done") == "1"))
    return redirect(url_for("workflows.instance_page", instance_id=instance_id) + "#tasks")


@bp.route("/workflows/runs/<id:instance_id>/comment", methods=["POST"])
@permission_required("workflows.act")
def instance_comment(instance_id: int) -> Response:
    """Write a comment on the timeline."""
    actor = require_actor()
    form = CommentForm()
    if form.validate_on_submit():
        if run_form_service(form, lambda: instances.add_comment(actor=actor, instance_id=instance_id,
                                                                comment=form.comment.data or "")) is not None:
            flash(_("The comment was added."), "success")
    else:
        flash(_("Write a comment first."), "danger")
    return redirect(url_for("workflows.instance_page", instance_id=instance_id) + "#timeline")


@bp.route("/workflows/runs/<id:instance_id>/evidence", methods=["POST"])
@permission_required("workflows.act")
def instance_evidence(instance_id: int) -> Response:
    """Attach a file to an evidence slot of the current step."""
    actor = require_actor()
    slot = request.form.get("slot", "")
    attach_upload(EvidenceForm(), lambda stream, name: instances.add_evidence(
        actor=actor, instance_id=instance_id, slot=slot, stream=stream, filename=name))
    return redirect(url_for("workflows.instance_page", instance_id=instance_id) + "#evidence")


@bp.route("/workflows/evidence/<id:evidence_id>")
@permission_required("workflows.view")
def evidence_download(evidence_id: int) -> Response:
    """Download an evidence file (only for those who may see the library's workflow data)."""
    actor = require_actor()
    row = evidence_files.get(actor=actor, evidence_id=evidence_id)
    path = evidence_files.path_for(row.sha256)
    response = send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                         max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/workflows/evidence/<id:evidence_id>/remove", methods=["POST"])
@permission_required("workflows.act")
def evidence_remove(evidence_id: int) -> Response:
    """Remove a file from a step or an indicator."""
    actor = require_actor()
    form = ConfirmForm()
    row = evidence_files.get(actor=actor, evidence_id=evidence_id)
    target = (url_for("workflows.instance_page", instance_id=row.instance_id) + "#evidence" if row.instance_id
              else url_for("workflows.assessment_page", assessment_id=row.assessment_id) if row.assessment_id
              else url_for("workflows.activity_list"))
    if form.validate_on_submit():
        if row.instance_id is not None:
            call = lambda: instances.remove_evidence(actor=actor, evidence_id=evidence_id) or True  # noqa: E731
        else:
            call = lambda: evidence_files.remove(actor=actor, evidence_id=evidence_id)  # noqa: E731
        if run_form_service(form, call) is not None:
            flash(_("The file was removed."), "success")
    return redirect(target)


@bp.route("/workflows/runs/<id:instance_id>/close", methods=["POST"])
@permission_required("workflows.manage")
def instance_close(instance_id: int) -> Response:
    """Close a run before its end (the DPK, with a reason on the timeline)."""
    actor = require_actor()
    form = CommentForm()
    if form.validate_on_submit():
        if run_form_service(form, lambda: instances.close_run(actor=actor, instance_id=instance_id,
                                                              reason=form.comment.data or "")) is not None:
            flash(_("The workflow was closed."), "success")
    else:
        flash(_("Say why the workflow is closed."), "danger")
    return _back(instance_id)
