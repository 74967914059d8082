"""The data documents the DPK edits: workflow definitions, instruments, SNP standards, IPLM settings.

Each save is a new version, validated first (errors name the line and field, or for a spreadsheet
the sheet, row and column); work already started keeps the version it began with.
"""
from __future__ import annotations

from flask import Response as FlaskResponse
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.errors import NotFound, ValidationFailed
from ils.views import run_form_service
from workflows.forms import DocumentForm
from workflows.instruments import dump_instrument, instrument_from_xlsx, instrument_to_xlsx
from workflows.models import DocumentKind
from workflows.services import documents
from workflows.views import bp
from workflows.views.common import text_of
from workflows.yamlsource import DataFileError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _kind(value: str) -> DocumentKind:
    try:
        return DocumentKind(value)
    except ValueError:
        raise NotFound() from None


@bp.route("/workflows/documents")
@permission_required("workflows.manage")
def document_list() -> str:
    """Every document with its current version."""
    groups = [(kind, documents.current_all(kind)) for kind in DocumentKind]
    labels = {DocumentKind.WORKFLOW: _("Workflow definitions"), DocumentKind.INSTRUMENT: _("Accreditation instruments"),
              DocumentKind.SNP: _("National library standards (SNP)"), DocumentKind.IPLM: _("IPLM settings")}
    return render_template("workflows/document_list.html", groups=groups, labels=labels)


@bp.route("/workflows/documents/<kind>/<code>", methods=["GET", "POST"])
@permission_required("workflows.manage")
def document_edit(kind: str, code: str) -> str | Response:
    """See a document's versions and save a new one (typed YAML, or an uploaded YAML/XLSX file)."""
    actor = require_actor()
    doc_kind = _kind(kind)
    current = documents.current(doc_kind, code)
    form = DocumentForm()
    errors: list[str] = []
    if request.method == "GET":
        form.text.data = current.text
    elif form.validate_on_submit():
        try:
            text = _submitted_text(form, doc_kind, code)
        except ValidationFailed as exc:
            errors = exc.message.splitlines()
        else:
            saved = run_form_service(form, lambda: documents.save_version(actor=actor, kind=doc_kind, code=code,
                                                                         text=text, note=form.note.data or ""))
            if saved is not None:
                flash(_("Version %(version)d was saved.", version=saved.version), "success")
                return redirect(url_for("workflows.document_edit", kind=kind, code=code))
            errors = [e for e in form.text.errors]
            form.text.data = text
    instrument = documents.parse(current) if doc_kind is DocumentKind.INSTRUMENT else None
    return render_template("workflows/document_edit.html", kind=doc_kind, code=code, current=current,
                           versions=documents.versions(doc_kind, code), form=form, errors=errors, text_of=text_of,
                           is_instrument=instrument is not None, instrument=instrument, numbers_form=DocumentForm())


def _submitted_text(form: DocumentForm, kind: DocumentKind, code: str) -> str:
    """The YAML text of the new version: an uploaded file wins over the text box."""
    upload = form.upload.data
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.read()
        if upload.filename.lower().endswith(".xlsx"):
            if kind is not DocumentKind.INSTRUMENT:
                raise ValidationFailed(_("Only instruments can be uploaded as a spreadsheet."), field="upload")
            try:
                return dump_instrument(instrument_from_xlsx(data, upload.filename))
            except DataFileError as exc:
                raise ValidationFailed(str(exc), field="upload") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(_("The file is not UTF-8 text."), field="upload") from None
    text = (form.text.data or "").replace("\r\n", "\n")
    if not text.strip():
        raise ValidationFailed(_("Type the new version or upload a file."), field="text")
    return text


@bp.route("/workflows/documents/instrument/<code>/numbers", methods=["POST"])
@permission_required("workflows.manage")
def instrument_numbers(code: str) -> Response:
    """Save component weights and grade minimums of an instrument from the form (a new version)."""
    actor = require_actor()
    form = DocumentForm()
    weights = {key[7:]: value for key, value in request.form.items() if key.startswith("weight_")}
    grades = {key[6:]: value for key, value in request.form.items() if key.startswith("grade_")}
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: documents.save_instrument_numbers(
            actor=actor, code=code, weights=weights, grades=grades, note=form.note.data or ""))
        if saved is not None:
            flash(_("Version %(version)d was saved.", version=saved.version), "success")
        else:
            for error in form.text.errors + form.note.errors:
                flash(error, "danger")
    else:
        flash(_("Say what changed."), "danger")
    return redirect(url_for("workflows.document_edit", kind="instrument", code=code) + "#numbers")


@bp.route("/workflows/document-versions/<id:document_id>.<fmt>")
@permission_required("workflows.manage")
def document_download(document_id: int, fmt: str) -> FlaskResponse:
    """Download one version as YAML (or an instrument as XLSX)."""
    document = documents.get(document_id)
    name = f"{document.code}-v{document.version}"
    if fmt == "yaml":
        return FlaskResponse(document.text, mimetype="application/yaml",
                             headers={"Content-Disposition": f'attachment; filename="{name}.yaml"'})
    if fmt == "xlsx" and document.kind is DocumentKind.INSTRUMENT:
        return FlaskResponse(instrument_to_xlsx(documents.parse(document)), mimetype=XLSX,
                             headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    raise NotFound()
