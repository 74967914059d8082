"""Printable catalog outputs and figures: labels, the accession register (buku induk), statistics."""
from __future__ import annotations

from flask import Response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from catalog import labels
from catalog.services import reports as services
from catalog.views import bp, render
from ils.auth import permission_required, require_actor
from ils.errors import ValidationFailed
from ils.models import Library
from ils.extensions import db
from ils.services.libraries import library_today
from ils.views import id_arg

REGISTER_HEADINGS = (_l("No."), _l("Date"), _l("Accession no."), _l("Author"), _l("Title"), _l("Publication"),
                     _l("Source"), _l("Price (Rp)"), _l("Call number"), _l("Remarks"))


def _library_id() -> int:
    """?library= or the actor's own library (network-wide staff must choose)."""
    actor = require_actor()
    library_id = id_arg("library") or actor.library_id
    if library_id is None:
        raise ValidationFailed(_("Choose a library first (open this page from the library's page)."))
    return library_id


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.route("/catalog/labels")
@permission_required("catalog.edit")
def labels_page() -> str:
    """Pick copies (recently added, or scanned barcodes) and print spine or barcode labels."""
    library_id = _library_id()
    recent = services.recent_items(library_id=library_id, actor=require_actor())
    return render("catalog/labels.html", recent=recent, library_id=library_id)


@bp.route("/catalog/labels.pdf")
@permission_required("catalog.edit")
def labels_pdf() -> Response:
    """Spine labels (class, author mark, title letter) or Code 128 barcode labels as a PDF sheet."""
    library_id = _library_id()
    barcodes = (request.args.get("barcodes") or "").split()
    chosen = services.label_items(library_id=library_id, actor=require_actor(),
                                  item_ids=[i for i in request.args.getlist("item", type=int) if i and i > 0],
                                  barcodes=barcodes)
    skip = min(max(request.args.get("skip", 0, type=int) or 0, 0), 29)
    if request.args.get("kind") == "barcode":
        return _pdf(labels.barcode_labels(chosen, skip=skip), "label-barkod.pdf")
    return _pdf(labels.spine_labels(chosen, skip=skip), "label-punggung.pdf")


@bp.route("/catalog/accession-register")
@permission_required("catalog.view")
def accession_register() -> str:
    """The accession register (buku induk) of a library for one year."""
    actor = require_actor()
    library_id = _library_id()
    years = services.register_years(library_id=library_id, actor=actor)
    year = request.args.get("year", type=int) or (years[0] if years else library_today(library_id).year)
    rows = services.accession_register(library_id=library_id, year=year, actor=actor)
    return render("catalog/accession_register.html", rows=rows, years=years, year=year,
                  library=db.session.get(Library, library_id), headings=[str(h) for h in REGISTER_HEADINGS])


@bp.route("/catalog/accession-register.pdf")
@permission_required("catalog.view")
def accession_register_pdf() -> Response:
    """The accession register of one year as a PDF to print and sign."""
    actor = require_actor()
    library_id = _library_id()
    year = request.args.get("year", type=int) or library_today(library_id).year
    rows = services.accession_register(library_id=library_id, year=year, actor=actor)
    library = db.session.get(Library, library_id)
    data = labels.accession_register(rows, library_name=library.name, year=year, title=_("Accession register"),
                                     headings=[str(h) for h in REGISTER_HEADINGS])
    return _pdf(data, f"buku-induk-{library.code}-{year}.pdf")


@bp.route("/catalog/statistics")
@permission_required("catalog.view")
def collection_statistics() -> str:
    """A library's collection in figures (the whole network for admin and DPK without ?library=)."""
    actor = require_actor()
    library_id = id_arg("library") or actor.library_id
    stats = services.collection_stats(library_id=library_id, actor=actor, today=library_today(library_id))
    return render("catalog/statistics.html", stats=stats,
                  library=db.session.get(Library, library_id) if library_id else None)
