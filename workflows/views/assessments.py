"""The self-assessment (swanilai): indicators by component, prefilled from live figures, with the
score per component, the total and the predicted grade as the library answers."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.extensions import db
from ils.models import Library
from ils.views import run_form_service
from workflows.figures import FIGURES
from workflows.forms import ConfirmForm, EvidenceForm
from workflows.services import accreditation
from workflows.services import evidence as evidence_files
from workflows.services.access import allowed
from workflows.views import bp
from workflows.views.common import attach_upload, number, text_of


@bp.route("/workflows/assessments/<id:assessment_id>")
@permission_required("workflows.view")
def assessment_page(assessment_id: int) -> str:
    """Answer (or read) a self-assessment."""
    actor = require_actor()
    assessment = accreditation.get_assessment(actor=actor, assessment_id=assessment_id)
    details = accreditation.describe_answers(assessment)
    files = accreditation.evidence_of(assessment)
    may_edit = allowed(actor, "workflows.act", assessment.library_id) and accreditation.editable(assessment)
    return render_template("workflows/assessment.html", assessment=assessment, score=details["score"],
                           answers=details["answers"], instrument=details["instrument"], files=files,
                           parts=list(zip(details["instrument"].components, details["score"].components)),
                           library=db.session.get(Library, assessment.library_id), may_edit=may_edit,
                           form=ConfirmForm(), evidence_form=EvidenceForm(), figure_labels=FIGURES,
                           number=number, text_of=text_of, accept=evidence_files.ACCEPT)


@bp.route("/workflows/assessments/<id:assessment_id>", methods=["POST"])
@permission_required("workflows.act")
def assessment_save(assessment_id: int) -> Response:
    """Save the answers of one component (or all) and rescore."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        answers = {key[4:]: value for key, value in request.form.items() if key.startswith("ans_")}
        notes = {key[5:]: value for key, value in request.form.items() if key.startswith("note_")}
        result = run_form_service(form, lambda: accreditation.answer(actor=actor, assessment_id=assessment_id,
                                                                     answers=answers, notes=notes))
        if result is not None:
            flash(_("Saved. Score now %(score)s.", score=number(result.total, 2)), "success")
    anchor = request.form.get("component", "")
    return redirect(url_for("workflows.assessment_page", assessment_id=assessment_id) + (f"#c-{anchor}" if anchor else ""))


@bp.route("/workflows/assessments/<id:assessment_id>/refresh", methods=["POST"])
@permission_required("workflows.act")
def assessment_refresh(assessment_id: int) -> Response:
    """Read the live figures again; answers that still follow the suggestion move with it."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        moved = run_form_service(form, lambda: accreditation.refresh_prefill(actor=actor, assessment_id=assessment_id))
        if moved is not None:
            flash(_("The figures were read again; %(count)d answers changed.", count=moved), "success")
    return redirect(url_for("workflows.assessment_page", assessment_id=assessment_id))


@bp.route("/workflows/assessments/<id:assessment_id>/evidence", methods=["POST"])
@permission_required("workflows.act")
def assessment_evidence(assessment_id: int) -> Response:
    """Attach evidence (bukti fisik) to one indicator."""
    actor = require_actor()
    indicator = request.form.get("indicator", "")
    assessment = accreditation.get_assessment(actor=actor, assessment_id=assessment_id)
    attach_upload(EvidenceForm(), lambda stream, name: accreditation.attach_evidence(
        actor=actor, assessment=assessment, indicator=indicator, stream=stream, filename=name))
    return redirect(url_for("workflows.assessment_page", assessment_id=assessment_id) + f"#i-{indicator}")
