"""The root redirect and the staff home page."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ils import metrics
from ils.auth import permission_required, require_actor
from ils.mixins import utcnow
from ils.services import overview
from ils.services.libraries import get_library
from ils.views import bp


@bp.route("/")
def index() -> Response:
    """Staff go to their home page; everyone else to the public catalogue."""
    if current_user.is_authenticated:
        return redirect(url_for("ils.staff_home"))
    return redirect(url_for("catalog.opac_home"))


@bp.route("/staff/")
@permission_required("library.view")
def staff_home() -> str:
    """What needs attention in my library (or the network, for admin and DPK)."""
    actor = require_actor()
    library = get_library(actor=actor, library_id=actor.library_id) if actor.library_id else None
    figures = {
        "libraries": metrics.value("ils.libraries.active", library_id=actor.library_id),
        "staff": metrics.value("ils.staff.active", library_id=actor.library_id),
        "hours": metrics.value("ils.opening_hours.weekly", library_id=actor.library_id),
    }
    items = overview.attention_items(actor=actor, now=utcnow())
    return render_template("ils/home.html", library=library, items=items, figures=figures)
