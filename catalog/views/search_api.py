"""The OPAC search as JSON: ``GET /api/v1/search``, with the same features as the results page.

Parameters: ``q`` (the search box syntax: words, "phrases", prefix*, -word, OR, judul:/title: and the
other field prefixes), facet filters ``library``, ``available``, ``material``, ``language``, ``year``
(a bucket such as ``2010-2019``), ``subject``, ``collection`` (each may repeat), ``sort``
(relevance, newest, oldest, title, author), ``page`` and ``per_page`` (at most 100). Staff with a
session also get their library's private copies and may filter on ``status``, ``acquired``
(``YYYY-MM-DD..YYYY-MM-DD``) and ``barcode``.

Answer: ``{"total", "page", "pages", "per_page", "sort", "suggestion", "direct_hit", "facets":
{name: [{"value", "count"}]}, "items": [{"id", "title", "author", "publisher", "year", "material",
"language", "isbn", "url", "available", "holdings": [{"library", "name", "copies", "available",
"on_loan", "next_due", "private"}]}]}``. ``direct_hit`` is the record id when ``q`` is a barcode or
ISBN of exactly one record. Availability is read from the database at request time.
"""
from __future__ import annotations

from flask import Response, jsonify, request, url_for

from catalog.services import discovery
from catalog.views import bp
from catalog.views.opac import FILTER_NAMES
from ils.auth import current_actor

MAX_PER_PAGE = 100
STAFF_FILTERS = ("status", "acquired", "barcode")


@bp.route("/api/v1/search", methods=["GET"])
def api_search() -> Response:
    """Search the union catalog (public; a staff session widens what is visible)."""
    actor = current_actor()
    text = (request.args.get("q") or "").strip()[:200]
    names = FILTER_NAMES + (STAFF_FILTERS if actor is not None else ())
    filters = {name: [v[:80] for v in request.args.getlist(name)][:10] for name in names}
    per_page = max(1, min(request.args.get("per_page", discovery.PER_PAGE, type=int) or 1, MAX_PER_PAGE))
    try:
        result = discovery.search_page(text=text, filters=filters, sort=request.args.get("sort", "relevance"),
                                       page=request.args.get("page", 1, type=int) or 1, per_page=per_page,
                                       actor=actor)
    except discovery.QueryTooComplex:
        response = jsonify({"error": "query too complex", "status": 400})
        response.status_code = 400
        return response
    return jsonify({
        "total": result.total, "page": result.page, "pages": result.pages, "per_page": result.per_page,
        "sort": result.sort, "suggestion": result.suggestion, "direct_hit": discovery.direct_hit(text, actor=actor),
        "facets": {name: [{"value": v, "count": n} for v, n in values] for name, values in result.facets.items()},
        "items": [{
            "id": hit.record_id, "title": hit.title, "author": hit.main_author, "publisher": hit.publisher,
            "year": hit.year, "material": hit.material_type, "language": hit.language, "isbn": hit.isbns,
            "url": url_for("catalog.opac_record", record_id=hit.record_id, _external=True),
            "available": hit.available_total,
            "holdings": [{"library": h.code, "name": h.name, "copies": h.total, "available": h.available,
                          "on_loan": h.on_loan, "next_due": h.next_due.isoformat() if h.next_due else None,
                          "private": h.private} for h in hit.holdings],
        } for hit in result.hits],
    })
