"""Public OPAC pages: the landing page, search results with facets, and the record page."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from catalog import bib, citation, feeds
from catalog import marc as marc_io
from catalog.forms import LANGUAGE_LABELS
from catalog.models import ItemStatus
from catalog.services import discovery
from catalog.services import records as record_services
from catalog.views import bp
from ils.auth import current_actor
from ils.forms import WEEKDAY_LABELS
from ils.models import WEEKDAYS
from ils.mixins import utcnow
from ils.services.libraries import get_by_code, public_directory

MATERIAL_LABELS = {
    "book": _l("Book"), "serial": _l("Magazine / serial"), "manuscript": _l("Manuscript"), "score": _l("Music score"),
    "map": _l("Map"), "video": _l("Video"), "sound": _l("Sound recording"), "music": _l("Music recording"),
    "image": _l("Picture"), "electronic": _l("Electronic resource"), "kit": _l("Kit"), "mixed": _l("Mixed materials"),
    "object": _l("Object"), "unknown": _l("Other"),
}
SORT_LABELS = (("relevance", _l("Relevance")), ("newest", _l("Newest")), ("oldest", _l("Oldest")),
               ("title", _l("Title")), ("author", _l("Author")))
FACET_LABELS = (("available", _l("Available now at")), ("library", _l("Library")), ("material", _l("Type")),
                ("language", _l("Language")), ("year", _l("Year published")), ("subject", _l("Subject")),
                ("collection", _l("Collection")))
FILTER_NAMES = tuple(name for name, _label in FACET_LABELS)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Buttons other domains add to the record page (circulation: "place a hold"); each returns HTML or "".
RECORD_ACTIONS: list[Callable[[Any], Any]] = []


def _year_label(value: str) -> str:
    low, _, high = value.partition("-")
    if low == "0":
        return str(_l("Before %(year)s", year=int(high) + 1))
    if high.startswith("20") and int(high) > 2090:
        return str(_l("%(year)s and later", year=low))
    return f"{low}–{high}"


def facet_label(name: str, value: str, libraries: dict[str, str]) -> str:
    """What a facet value is called on the page."""
    if name in ("library", "available"):
        return libraries.get(value, value)
    if name == "language":
        return str(dict(LANGUAGE_LABELS).get(value, value))
    if name == "material":
        return str(MATERIAL_LABELS.get(value, value))
    if name == "year":
        return _year_label(value)
    return value


def staff_filters(args: Any) -> dict[str, list[str]]:
    """Staff-only filters from request arguments: status, acquired (from..to, YYYY-MM-DD) and barcode."""
    out: dict[str, list[str]] = {}
    statuses = [s for s in args.getlist("status") if s in {v.value for v in ItemStatus}]
    if statuses:
        out["status"] = statuses
    low, high = (args.get("acquired_from") or "")[:10], (args.get("acquired_to") or "")[:10]
    if DATE.fullmatch(low) or DATE.fullmatch(high):
        out["acquired"] = [f"{low if DATE.fullmatch(low) else ''}..{high if DATE.fullmatch(high) else ''}"]
    if barcode := (args.get("barcode") or "").strip()[:40]:
        out["barcode"] = [barcode]
    return out


def search_url(**changes: Any) -> str:
    """The current search's URL with some parameters changed (None removes one); back to page 1."""
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [value]
    return url_for("catalog.opac_search", **args)


def toggle_url(name: str, value: str) -> str:
    """The search URL with one facet value added, or removed when already chosen."""
    chosen = request.args.getlist(name)
    values = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    return search_url(**{name: values or None})


@bp.route("/opac/")
def opac_home() -> str:
    """Search box, the newest titles of the network and every library with its opening hours."""
    return render_template("catalog/opac_home.html", libraries=public_directory(),
                           arrivals=discovery.new_arrivals(limit=8), weekdays=WEEKDAYS, weekday_labels=WEEKDAY_LABELS)


@bp.route("/opac/libraries")
def opac_libraries() -> str:
    """The directory: every library of the network with address, contact and opening hours."""
    return render_template("catalog/opac_libraries.html", libraries=public_directory(), weekdays=WEEKDAYS,
                           weekday_labels=WEEKDAY_LABELS)


def _library_or_404(code: str) -> Any:
    library = get_by_code(code) if code else None
    if code and (library is None or not library.active or not library.opac_public):
        abort(404)
    return library


@bp.route("/opac/new")
def opac_new() -> str:
    """New arrivals, for the network or one library, with links to its feeds."""
    library = _library_or_404((request.args.get("library") or "")[:20])
    return render_template("catalog/opac_new.html", library=library, libraries=public_directory(),
                           arrivals=discovery.new_arrivals(library_code=library.code if library else None, limit=40))


def _entries(library: Any) -> list[feeds.Entry]:
    return [feeds.Entry(id=url_for("catalog.opac_record", record_id=a.record_id, _external=True) + f"#{a.library_code}",
                        title=a.title, link=url_for("catalog.opac_record", record_id=a.record_id, _external=True),
                        summary=" · ".join(filter(None, [a.main_author, str(a.year or ""), a.library_name])),
                        updated=a.added_at)
            for a in discovery.new_arrivals(library_code=library.code if library else None, limit=40)]


@bp.route("/opac/new.atom")
def opac_new_atom() -> Response:
    """New arrivals as an Atom feed (?library=CODE for one library)."""
    library = _library_or_404((request.args.get("library") or "")[:20])
    name = library.name if library else str(_l("Bontang library network"))
    body = feeds.atom(title=str(_l("New in %(name)s", name=name)),
                      feed_id=url_for("catalog.opac_new_atom", library=library.code if library else None,
                                      _external=True),
                      link=url_for("catalog.opac_new", library=library.code if library else None, _external=True),
                      self_link=request.url, entries=_entries(library), generated=utcnow())
    return Response(body, content_type="application/atom+xml; charset=utf-8")


@bp.route("/opac/new.rss")
def opac_new_rss() -> Response:
    """New arrivals as an RSS 2.0 feed (?library=CODE for one library)."""
    library = _library_or_404((request.args.get("library") or "")[:20])
    name = library.name if library else str(_l("Bontang library network"))
    body = feeds.rss(title=str(_l("New in %(name)s", name=name)),
                     link=url_for("catalog.opac_new", library=library.code if library else None, _external=True),
                     description=str(_l("Titles recently added to %(name)s", name=name)), entries=_entries(library),
                     generated=utcnow())
    return Response(body, content_type="application/rss+xml; charset=utf-8")


@bp.route("/opac/search")
def opac_search() -> str | Response:
    """Search the whole city's catalogue: results with live availability, facets, sorting and paging."""
    text = (request.args.get("q") or "").strip()[:200]
    actor = current_actor()
    if text and (record_id := discovery.direct_hit(text, actor=actor)) is not None:
        return redirect(url_for("catalog.opac_record", record_id=record_id))
    filters = {name: [v[:80] for v in request.args.getlist(name)][:10] for name in FILTER_NAMES}
    if actor is not None:  # staff-only: copy status, acquisition dates, barcode
        filters.update(staff_filters(request.args))
    page = request.args.get("page", 1, type=int) or 1
    try:
        result = discovery.search_page(text=text, filters=filters, sort=request.args.get("sort", "relevance"),
                                       page=page, actor=actor)
    except discovery.QueryTooComplex:
        result = discovery.search_page(text=" ".join(text.split()[:8]), filters=filters, page=page, actor=actor)
    return render_template("catalog/opac_search.html", result=result, query=text, libraries=discovery.library_names(),
                           staff=actor is not None, statuses=list(ItemStatus),
                           facet_labels=FACET_LABELS, sort_labels=SORT_LABELS, facet_label=facet_label,
                           toggle_url=toggle_url, search_url=search_url, material_labels=MATERIAL_LABELS,
                           language_labels=dict(LANGUAGE_LABELS))


@bp.route("/opac/record/<id:record_id>")
def opac_record(record_id: int) -> str:
    """A title's full description and every copy by library with its status, live from the database."""
    actor = current_actor()
    if not discovery.record_visible(record_id, actor=actor):
        abort(404)
    record = record_services.get_record(record_id)
    marc = record_services.marc_of(record)
    hit = discovery.hits([record_id], actor=actor)[0]
    return render_template("catalog/opac_record.html", record=record, hit=hit, marc_lines=bib.to_mnemonic(marc),
                           record_actions=RECORD_ACTIONS, copies=discovery.copies(record_id, actor=actor),
                           material_labels=MATERIAL_LABELS, language_labels=dict(LANGUAGE_LABELS),
                           notes=[bib.join_subfields(v, "abcdefgt") for _t, v in bib.fields(marc, "500", "504", "505",
                                                                                              "520", "521", "546")])


EXPORTS = {"marcxml": ("application/marcxml+xml; charset=utf-8", "xml"),
           "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
           "bibtex": ("application/x-bibtex; charset=utf-8", "bib")}


@bp.route("/opac/record/<id:record_id>/export/<string(minlength=3, maxlength=7):fmt>")
def opac_record_export(record_id: int, fmt: str) -> Response:
    """The record as MARCXML, RIS or BibTeX (a download for reference managers)."""
    if fmt not in EXPORTS or not discovery.record_visible(record_id, actor=current_actor()):
        abort(404)
    marc = record_services.marc_of(record_services.get_record(record_id))
    url = url_for("catalog.opac_record", record_id=record_id, _external=True)
    if fmt == "marcxml":
        body = b"".join(marc_io.marcxml([marc]))
    elif fmt == "ris":
        body = citation.ris(marc, record_id=record_id, url=url).encode("utf-8")
    else:
        body = citation.bibtex(marc, record_id=record_id, url=url).encode("utf-8")
    mimetype, extension = EXPORTS[fmt]
    return Response(body, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="katalog-{record_id}.{extension}"'})
