"""IPLM for the city per year, and the population figures the DPK enters for it."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.views import run_form_service
from workflows import iplm as formula
from workflows.forms import PopulationForm
from workflows.services import iplm as services
from workflows.services.access import allowed, require_library
from workflows.views import bp
from workflows.views.common import number, text_of, today_for


@bp.route("/workflows/iplm")
@permission_required("workflows.view")
def iplm() -> str:
    """The year's IPLM: each element with its numerator, denominator and constant, the index and its band."""
    actor = require_actor()
    require_library(actor, "workflows.view", None if actor.network_wide else actor.library_id)
    today = today_for(None)
    year = request.args.get("year", type=int) or today.year
    year = min(max(year, 2000), today.year)
    result = services.compute(year, today=today)
    form = None
    if allowed(actor, "workflows.manage", None):
        row = services.population_of(year)
        form = PopulationForm(obj=row) if row else PopulationForm()
        form.year.data = year
    return render_template("workflows/iplm.html", result=result, year=year, years=range(today.year, today.year - 6, -1),
                           form=form, numerator_labels=formula.NUMERATORS, groups=formula.POPULATION_GROUPS,
                           number=number, text_of=text_of, population=services.population_of(year))


@bp.route("/workflows/iplm/population", methods=["POST"])
@permission_required("workflows.manage")
def iplm_population() -> Response:
    """Save a year's population figures."""
    actor = require_actor()
    form = PopulationForm()
    if form.validate_on_submit():
        year = form.year.data
        if run_form_service(form, lambda: services.set_population(
                actor=actor, year=year, source=form.source.data or "",
                values={k: getattr(form, k).data for k in services.POPULATION_FIELDS})) is not None:
            flash(_("The population figures of %(year)d were saved.", year=year), "success")
        return redirect(url_for("workflows.iplm", year=year))
    for field in form:
        for error in field.errors:
            flash(f"{field.label.text}: {error}", "danger")
    return redirect(url_for("workflows.iplm"))
