"""Public OPAC pages: the landing page, search results with facets, and the record page."""
from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from catalog import bib
from catalog.forms import LANGUAGE_LABELS
from catalog.services import discovery
from catalog.services import records as record_services
from catalog.views import bp
from ils.auth import current_actor
from ils.forms import WEEKDAY_LABELS
from ils.models import WEEKDAYS
from ils.services.libraries import public_directory

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
    """Search box and every library with its address and opening hours."""
    return render_template("catalog/opac_home.html", libraries=public_directory(),
                           weekdays=WEEKDAYS, weekday_labels=WEEKDAY_LABELS)


@bp.route("/opac/search")
def opac_search() -> str | Response:
    """Search the whole city's catalogue: results with live availability, facets, sorting and paging."""
    text = (request.args.get("q") or "").strip()[:200]
    actor = current_actor()
    if text and (record_id := discovery.direct_hit(text, actor=actor)) is not None:
        return redirect(url_for("catalog.opac_record", record_id=record_id))
    filters = {name: [v[:80] for v in request.args.getlist(name)][:10] for name in FILTER_NAMES}
    page = request.args.get("page", 1, type=int) or 1
    try:
        result = discovery.search_page(text=text, filters=filters, sort=request.args.get("sort", "relevance"),
                                       page=page, actor=actor)
    except discovery.QueryTooComplex:
        result = discovery.search_page(text=" ".join(text.split()[:8]), filters=filters, page=page, actor=actor)
    return render_template("catalog/opac_search.html", result=result, query=text, libraries=discovery.library_names(),
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
                           material_labels=MATERIAL_LABELS, language_labels=dict(LANGUAGE_LABELS),
                           notes=[bib.join_subfields(v, "abcdefgt") for _t, v in bib.fields(marc, "500", "504", "505",
                                                                                              "520", "521", "546")])
