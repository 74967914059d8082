"""Staff record screens: find, scan an ISBN, quick form, record page, MARC editor, history, merge."""
from __future__ import annotations

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _

from catalog import bib
from catalog.build import build, entry_from_record
from catalog.forms import ItemForm, MarcForm, MergeForm, QuickRecordForm, ScanForm
from catalog.models import ItemStatus, RecordKind
from catalog.services import exports, items as item_service, records as services
from catalog.validation import validate
from catalog.views import bp, render
from ils.auth import permission_required, require_actor
from ils.authz import can
from ils.errors import ValidationFailed
from ils.extensions import db
from ils.forms import PostForm
from ils.services import page_of
from ils.services.libraries import library_today
from ils.views import id_arg, page_arg, run_form_service

PAGE_SIZE = 25


@bp.route("/catalog/")
@permission_required("catalog.view")
def catalog_home() -> str:
    """Find records by title, author, ISBN, barcode or number; filter to my library's holdings."""
    actor = require_actor()
    text = (request.args.get("q") or "").strip()[:200]
    kind = RecordKind.AUTHORITY if request.args.get("kind") == "authority" else RecordKind.BIBLIOGRAPHIC
    mine = request.args.get("mine") == "1" and actor.library_id is not None
    page = page_arg()
    stmt = services.staff_search(text=text, kind=kind, library_id=actor.library_id if mine else None)
    records, total = page_of(stmt, page=page, page_size=PAGE_SIZE)
    counts = item_service.copy_counts([r.id for r in records], actor.library_id)
    return render("catalog/catalog_home.html", records=records, total=total, page=page, page_size=PAGE_SIZE,
                  text=text, kind=kind.value, mine=mine, counts=counts, scan_form=ScanForm(),
                  can_edit=can(actor, "catalog.edit", actor.library_id))


@bp.route("/catalog/scan")
@permission_required("catalog.edit")
def catalog_scan() -> str | Response:
    """Scan an ISBN: add a copy to the record the network already has, or catalogue it new."""
    actor = require_actor()
    form = ScanForm(request.args)
    if not form.validate():
        return redirect(url_for("catalog.catalog_home"))
    text = form.q.data.strip()
    isbn = bib.normalise_isbn(text)
    found = services.find_by_isbn(text) if isbn else list(db.session.scalars(
        services.staff_search(text=text).limit(20)))
    if isbn and not found:
        flash(_("This ISBN is not in the city catalog yet: fill in the quick form below."), "info")
        return redirect(url_for("catalog.record_new", isbn=isbn))
    counts = item_service.copy_counts([r.id for r in found], actor.library_id)
    return render("catalog/scan.html", text=text, isbn=isbn, records=found, counts=counts, item_form=ItemForm())


@bp.route("/catalog/records/new", methods=["GET", "POST"])
@permission_required("catalog.edit")
def record_new() -> str | Response:
    """The quick form: a complete MARC21 record (and the first copy) without seeing MARC."""
    actor = require_actor()
    form = QuickRecordForm()
    if request.method == "GET":
        form.isbn.data = request.args.get("isbn", "")[:30]
        form.title.data = request.args.get("title", "")[:500]
    if form.validate_on_submit():
        today = library_today(actor.library_id)

        def save() -> object:
            record = services.create_record(marc=build(form.entry(), org_code=services.org_code(), today=today),
                                            actor=actor, note=_("quick form"))
            if form.add_item.data and actor.library_id is not None:
                item_service.add_item(record_id=record.id, library_id=actor.library_id, data=form.item_input(),
                                      actor=actor, today=today)
            return record

        record = run_form_service(form, save)
        if record is not None:
            flash(_("The record has been saved."), "success")
            return redirect(url_for("catalog.record_detail", record_id=record.id))
    duplicates = services.find_by_isbn(form.isbn.data) if form.isbn.data else []
    return render("catalog/record_quick.html", form=form, duplicates=duplicates,
                  has_library=actor.library_id is not None)


@bp.route("/catalog/records/<id:record_id>")
@permission_required("catalog.view")
def record_detail(record_id: int) -> str | Response:
    """A record: description, every library's copies, the MARC, and what can be done with it."""
    actor = require_actor()
    gone = services.tombstone(record_id)
    if gone is not None and gone.merged_into_id:
        flash(_("Record %(old)s was merged into this one.", old=record_id), "info")
        return redirect(url_for("catalog.record_detail", record_id=gone.merged_into_id))
    record = services.get_record(record_id)
    marc = services.marc_of(record)
    holdings = item_service.holdings(record_id, actor=actor)
    return render("catalog/record_detail.html", record=record, marc_lines=bib.to_mnemonic(marc),
                  issues=validate(marc), holdings=holdings, item_form=ItemForm(), post_form=PostForm(),
                  can_edit=can(actor, "catalog.edit", actor.library_id),
                  can_merge=can(actor, "catalog.merge", actor.library_id), actor=actor,
                  hidden=item_service.count_items(record_id) - len(holdings), statuses=ItemStatus)


def _save_marc(form: MarcForm, record_id: int | None) -> Response | None:
    actor = require_actor()
    marc, bad = bib.from_mnemonic(form.marc.data)
    if bad:
        form.marc.errors = [_("Lines %(lines)s are not fields: write them as =TAG  indicators$aText.",
                              lines=", ".join(map(str, bad[:10])))]
        return None
    if record_id is None:
        record = run_form_service(form, lambda: services.create_record(marc=marc, actor=actor,
                                                                       note=form.note.data or ""))
    else:
        record = run_form_service(form, lambda: services.update_record(
            record_id=record_id, marc=marc, actor=actor, expected_version=form.version.data,
            note=form.note.data or ""))
    if record is None:
        return None
    flash(_("The record has been saved."), "success")
    return redirect(url_for("catalog.record_detail", record_id=record.id))


@bp.route("/catalog/records/new/marc", methods=["GET", "POST"])
@permission_required("catalog.edit")
def record_new_marc() -> str | Response:
    """The MARC editor for a new record (starting from a valid book template)."""
    form = MarcForm()
    if request.method == "GET":
        from catalog.build import QuickEntry

        template = build(QuickEntry(title=""), org_code=services.org_code(), today=library_today(None))
        template["fields"] = [f for f in template["fields"] if next(iter(f)) not in ("245", "264", "300")]
        template["fields"].append({"245": {"ind1": "0", "ind2": "0", "subfields": [{"a": ""}]}})
        form.marc.data = "\n".join(bib.to_mnemonic(template))
    elif form.validate_on_submit() and (response := _save_marc(form, None)) is not None:
        return response
    return render("catalog/marc_editor.html", form=form, record=None, issues=_preview(form))


@bp.route("/catalog/records/<id:record_id>/marc", methods=["GET", "POST"])
@permission_required("catalog.edit")
def record_marc(record_id: int) -> str | Response:
    """The MARC editor: leader, control fields, tags, indicators and subfields."""
    record = services.get_record(record_id)
    form = MarcForm()
    if request.method == "GET":
        form.marc.data = "\n".join(bib.to_mnemonic(services.marc_of(record)))
        form.version.data = record.version
    elif form.validate_on_submit() and (response := _save_marc(form, record_id)) is not None:
        return response
    return render("catalog/marc_editor.html", form=form, record=record, issues=_preview(form))


def _preview(form: MarcForm) -> list:
    marc, _bad = bib.from_mnemonic(form.marc.data or "")
    return validate(marc) if marc["fields"] else []


@bp.route("/catalog/records/<id:record_id>/history")
@permission_required("catalog.view")
def record_history(record_id: int) -> str:
    """Every version of a record with who and when; pick two to compare."""
    versions = services.history(record_id)
    if not versions:
        services.get_record(record_id)
    old, new = id_arg("a"), id_arg("b")
    diff = services.diff_versions(record_id, old, new) if old and new else None
    return render("catalog/record_history.html", record_id=record_id, versions=versions, diff=diff, old=old,
                  new=new, tombstone=services.tombstone(record_id))


@bp.route("/catalog/records/<id:record_id>/merge", methods=["GET", "POST"])
@permission_required("catalog.merge")
def record_merge(record_id: int) -> str | Response:
    """Merge a duplicate into this record after comparing the two side by side."""
    actor = require_actor()
    record = services.get_record(record_id)
    form = MergeForm()
    other = None
    if form.other_id.data:
        other = services.get_record(form.other_id.data)
    if form.validate_on_submit() and other is not None and form.confirm.data:
        kept = run_form_service(form, lambda: services.merge_records(keep_id=record_id, remove_id=other.id,
                                                                     actor=actor))
        if kept is not None:
            flash(_("Record %(old)s has been merged into this one.", old=other.id), "success")
            return redirect(url_for("catalog.record_detail", record_id=record_id))
    return render("catalog/record_merge.html", record=record, other=other, form=form,
                  record_lines=bib.to_mnemonic(services.marc_of(record)),
                  other_lines=bib.to_mnemonic(services.marc_of(other)) if other else [])


@bp.route("/catalog/records/<id:record_id>/delete", methods=["POST"])
@permission_required("catalog.edit")
def record_delete(record_id: int) -> Response:
    """Delete a record without copies (remembered for OAI-PMH)."""
    form = PostForm()
    if form.validate_on_submit():
        if run_form_service(form, lambda: services.delete_record(record_id=record_id, actor=require_actor(),
                                                                 reason="deleted by staff") or True):
            flash(_("The record has been deleted."), "success")
            return redirect(url_for("catalog.catalog_home"))
    return redirect(url_for("catalog.record_detail", record_id=record_id))


@bp.route("/catalog/records/<id:record_id>/quick", methods=["GET", "POST"])
@permission_required("catalog.edit")
def record_quick_edit(record_id: int) -> str | Response:
    """Edit a simple record with the quick form (fields the form does not know are kept)."""
    actor = require_actor()
    record = services.get_record(record_id, kind=RecordKind.BIBLIOGRAPHIC)
    form = QuickRecordForm()
    form.add_item.data = False
    if request.method == "GET":
        entry = entry_from_record(services.marc_of(record))
        for name in ("title", "subtitle", "corporate_author", "publisher", "place", "year", "edition", "isbn",
                     "pages", "illustrations", "height_cm", "language", "ddc", "series", "series_number", "notes",
                     "serial", "audience", "fiction"):
            getattr(form, name).data = getattr(entry, name)
        form.authors.data = "\n".join(entry.authors)
        form.editors.data = "\n".join(entry.editors)
        form.subjects.data = "\n".join(entry.subjects)
    elif form.validate_on_submit():
        merged = services.merge_quick_changes(services.marc_of(record), build(
            form.entry(), org_code=services.org_code(), today=library_today(actor.library_id)))
        saved = run_form_service(form, lambda: services.update_record(record_id=record_id, marc=merged, actor=actor,
                                                                      expected_version=record.version,
                                                                      note=_("quick form")))
        if saved is not None:
            flash(_("The record has been saved."), "success")
            return redirect(url_for("catalog.record_detail", record_id=record_id))
    return render("catalog/record_quick.html", form=form, duplicates=[], record=record, has_library=False)


@bp.route("/catalog/export")
@permission_required("catalog.export")
def catalog_export() -> Response:
    """Download the union catalog, my library's holdings (items as 952) or a search result."""
    actor = require_actor()
    fmt = "marcxml" if request.args.get("format") == "marcxml" else "iso2709"
    scope = request.args.get("scope", "union")
    library_id = actor.library_id if scope == "library" else None
    if scope == "library" and library_id is None:
        raise ValidationFailed(_("Choose a library first."))
    record_ids = None
    if scope == "search":
        stmt = services.staff_search(text=(request.args.get("q") or "")[:200]).with_only_columns(
            services.Record.id).limit(100_000)
        record_ids = list(db.session.scalars(stmt))
    name = f"katalog-{scope}.{'xml' if fmt == 'marcxml' else 'mrc'}"
    body = exports.export(fmt=fmt, stats={}, library_id=library_id, record_ids=record_ids)
    return Response(stream_with_context(body), mimetype="application/marcxml+xml" if fmt == "marcxml"
                    else "application/marc", headers={"Content-Disposition": f'attachment; filename="{name}"'})
