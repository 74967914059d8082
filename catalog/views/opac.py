"""Public OPAC pages: the landing page with the search box and the library directory."""
from __future__ import annotations

from flask import render_template, request

from catalog.views import bp
from ils.forms import WEEKDAY_LABELS
from ils.models import WEEKDAYS
from ils.services.libraries import public_directory


@bp.route("/opac/")
def opac_home() -> str:
    """Search box and every library with its address and opening hours."""
    return render_template("catalog/opac_home.html", libraries=public_directory(),
                           weekdays=WEEKDAYS, weekday_labels=WEEKDAY_LABELS)


@bp.route("/opac/search")
def opac_search() -> str:
    """Search the union catalog (the catalogue holds no records until the catalog module lands)."""
    query = (request.args.get("q") or "").strip()[:200]
    return render_template("catalog/opac_search.html", query=query, results=[], total=0)
