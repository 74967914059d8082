"""The DPK dashboard and the per-library drill-down page (figures, facts, SNP gaps, accreditation)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.errors import NotFound
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import LIBRARY_TYPE_LABELS, Library, LibraryType
from ils.views import run_form_service
from workflows import charts
from workflows.figures import FIGURES
from workflows.forms import ConfirmForm
from workflows.services import accreditation, figures, goals, instances
from workflows.services import dashboard as board
from workflows.services.access import allowed, require_library, sees_city
from workflows.views import bp
from workflows.views.common import chart_kwargs, number, text_of, today_for

def _labels() -> dict[str, str]:
    return {"circulation.visits": _("Visits"), "circulation.loans": _("Loans"),
            "circulation.new_members": _("New members"), "workflows.participants": _("Activity participants"),
            "circulation.active_members": _("Active members"), "catalog.titles": _("Titles"),
            "catalog.copies": _("Copies")}


def _month_labels(today) -> list[str]:  # type: ignore[no-untyped-def]
    from flask_babel import format_date
    return [format_date(first, "MMM yy") for first, _end in board.months_back(today)]


@bp.route("/workflows/")
@permission_required("workflows.view")
def dashboard() -> str | Response:
    """Every library in one view (the DPK); a librarian is taken to their own library's page."""
    actor = require_actor()
    if not sees_city(actor):
        return redirect(url_for("workflows.library_page", library_id=actor.library_id))
    today, now = today_for(None), utcnow()
    library_type = request.args.get("type") or None
    if library_type not in {t.value for t in LibraryType}:
        library_type = None
    kecamatan = request.args.get("kecamatan") or None
    rows = board.library_rows(actor=actor, today=today, now=now, library_type=library_type, kecamatan=kecamatan)
    totals = board.totals(rows)
    filtered = library_type is not None or kecamatan is not None
    series = board.monthly([r.library.id for r in rows] if filtered else None, today)
    labels = _month_labels(today)
    names = _labels()
    kw = chart_kwargs()
    chart_use = charts.line_chart([charts.Series(names[k], series[k]) for k in ("circulation.visits", "circulation.loans")],
                                  labels, title=_("Visits and loans per month"), id_prefix="use", **kw)
    chart_stock = charts.line_chart(
        [charts.Series(names["circulation.active_members"], series["circulation.active_members"]),
         charts.Series(names["catalog.copies"], series["catalog.copies"], colour=2)],
        labels, title=_("Members and copies at the end of each month"), id_prefix="stock", **kw)
    steps, counts = board.step_counts(rows)
    definition_titles = _step_titles()
    chart_steps = charts.bar_chart([definition_titles.get(s, s) for s in steps],
                                   [charts.Series(_("Libraries"), counts)], horizontal=True,
                                   title=_("Libraries at each accreditation step"), id_prefix="steps", **kw)
    chart_status = charts.bar_chart(
        [_("Grade A"), _("Grade B"), _("Grade C"), _("Expired"), _("In progress"), _("Not started")],
        [charts.Series(_("Libraries"), [totals["grades"]["A"], totals["grades"]["B"], totals["grades"]["C"],
                                        totals["expired"], totals["in_progress"], totals["not_started"]])],
        title=_("Accreditation status"), id_prefix="status", **kw)
    return render_template("workflows/dashboard.html", rows=rows, totals=totals, names=names,
                           charts=[chart_use, chart_stock, chart_status, chart_steps], type_labels=LIBRARY_TYPE_LABELS,
                           library_type=library_type, kecamatan=kecamatan,
                           kecamatans=board.kecamatan_choices(), number=number, text_of=text_of,
                           step_titles=definition_titles, today=today)


def _step_titles() -> dict[str, str]:
    from workflows.models import DocumentKind
    from workflows.services import documents
    definition = documents.parse(documents.current(DocumentKind.WORKFLOW, board.ACCREDITATION))
    return {name: text_of(state.title) for name, state in definition.states.items()}


@bp.route("/workflows/libraries/<id:library_id>")
@permission_required("workflows.view")
def library_page(library_id: int) -> str:
    """One library: accreditation, step, SNP gaps, figures against last year, facts, goals, workflows."""
    actor = require_actor()
    require_library(actor, "workflows.view", library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    today, now = today_for(library_id), utcnow()
    row = board.library_row(library, today=today, now=now)
    gaps = accreditation.snp_gaps(library, today=today)
    live = figures.library_figures(library, today=today)
    series = board.monthly([library_id], today)
    names = _labels()
    chart = charts.line_chart([charts.Series(names[k], series[k]) for k in ("circulation.visits", "circulation.loans")],
                              _month_labels(today), title=_("Visits and loans per month"), id_prefix="lib",
                              **chart_kwargs())
    library_goals = [(g, goals.progress_of(g, today)) for g in goals.list_goals(actor=actor, library_id=library_id,
                                                                                 include_city=False)]
    open_runs = {w: instances.open_instance(library_id, w) for w in ("akreditasi", "tpbis")}
    may_act = allowed(actor, "workflows.act", library_id)
    return render_template("workflows/library.html", library=library, row=row, gaps=gaps, live=live,
                           figure_labels=FIGURES, facts=figures.FACTS, fact_rows=figures.fact_rows(library_id),
                           names=names, chart=chart, goals=library_goals, open_runs=open_runs,
                           results=accreditation.results_of(library_id), may_act=may_act, start_form=ConfirmForm(),
                           number=number, text_of=text_of, today=today)


@bp.route("/workflows/libraries/<id:library_id>/facts", methods=["POST"])
@permission_required("workflows.act")
def library_facts(library_id: int) -> Response:
    """Save the figures a library enters by hand; the SNP gaps of an open run follow at once."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        values = {fact.key: request.form.get(f"fact_{fact.key}", "") for fact in figures.FACTS}
        changed = run_form_service(form, lambda: _save_facts(actor, library_id, values))
        if changed is not None:
            flash(_("The figures were saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("workflows.library_page", library_id=library_id) + "#facts")


def _save_facts(actor, library_id: int, values: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    changed = figures.set_facts(actor=actor, library_id=library_id, values=values)
    run = instances.open_instance(library_id, board.ACCREDITATION)
    if run is not None:
        accreditation.refresh_live(run, now=utcnow())
    return changed


@bp.route("/workflows/libraries/<id:library_id>/start/<workflow>", methods=["POST"])
@permission_required("workflows.act")
def library_start(library_id: int, workflow: str) -> Response:
    """Start the accreditation or TPBIS workflow for a library."""
    actor = require_actor()
    require_library(actor, "workflows.act", library_id)
    if workflow not in ("akreditasi", "tpbis"):
        raise NotFound()
    form = ConfirmForm()
    if form.validate_on_submit():
        run = run_form_service(form, lambda: instances.start(actor=actor, library_id=library_id, workflow=workflow))
        if run is not None:
            flash(_("The workflow has started."), "success")
            return redirect(url_for("workflows.instance_page", instance_id=run.id))
    return redirect(url_for("workflows.library_page", library_id=library_id))
