"""Catalog screens: staff cataloguing under /catalog and the public OPAC under /opac."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

bp = Blueprint("catalog", __name__, template_folder="../templates")

# Staff navigation entries added to ils.views.DOMAIN_NAVIGATION by catalog.init_app.
NAVIGATION: list[tuple[str, Any, str]] = [
    ("catalog.catalog_home", _l("Catalog"), "catalog.view"),
    ("catalog.import_list", _l("MARC import"), "catalog.import"),
]


def render(template: str, **context: Any) -> str:
    """Render a catalog template."""
    return render_template(template, **context)


from catalog.views import imports, items, oai, opac, records, reports, search_api, sru  # noqa: E402,F401  (routes)
from catalog import api  # noqa: E402,F401  (JSON routes under /api/v1/catalog)
