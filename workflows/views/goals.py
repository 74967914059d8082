"""Transformation goals: list with progress, detail with history, create, edit, enter figures."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.views import id_arg, run_form_service
from workflows import charts
from workflows.forms import ConfirmForm, GoalForm, GoalValueForm
from workflows.goals import STATUS_LABELS
from workflows.services import goals as services
from workflows.services.access import allowed
from workflows.views import bp
from workflows.views.common import chart_kwargs, libraries_for, number, today_for


def _input(form: GoalForm) -> services.GoalInput:
    return services.GoalInput(
        title=form.title.data or "", indicator=form.indicator.data, baseline=form.baseline.data,
        baseline_on=form.baseline_on.data, target=form.target.data, deadline=form.deadline.data,
        owner=form.owner.data or "", period=form.period.data, unit=form.unit.data or "",
        description=form.description.data or "", theme=form.theme.data, source=form.source.data or "",
        at_risk_margin=float(form.at_risk_margin.data))


@bp.route("/workflows/goals")
@permission_required("workflows.view")
def goal_list() -> str:
    """City goals and library goals with today's progress."""
    actor = require_actor()
    library_id = id_arg("library")
    goals = services.list_goals(actor=actor, library_id=library_id)
    today = today_for(None)
    rows = []
    for goal in goals:
        progress = services.progress_of(goal, today)
        values = [snap.value for snap in services.history(goal)][-30:]
        rows.append((goal, progress, charts.sparkline(values, title=goal.title, id_prefix=f"g{goal.id}",
                                                      **chart_kwargs())))
    counts = {status: sum(1 for _g, p, _s in rows if p.status == status) for status in STATUS_LABELS}
    libraries = {lib.id: lib for lib in libraries_for()}
    may_city = allowed(actor, "workflows.manage", None)
    may_library = actor.library_id is not None and allowed(actor, "workflows.goals", actor.library_id)
    return render_template("workflows/goal_list.html", rows=rows, counts=counts, statuses=STATUS_LABELS,
                           libraries=libraries, library_id=library_id, may_city=may_city, may_library=may_library,
                           indicators=services.INDICATORS, number=number)


@bp.route("/workflows/goals/new", methods=["GET", "POST"])
@permission_required("workflows.goals")
def goal_new() -> str | Response:
    """Create a goal: ?city=1 for a city goal (DPK), else one for the staff member's library."""
    actor = require_actor()
    library_id = None if request.args.get("city") == "1" else (id_arg("library") or actor.library_id)
    form = GoalForm()
    if request.method == "GET":
        form.baseline_on.data = today_for(library_id)
    if form.validate_on_submit():
        goal = run_form_service(form, lambda: services.create_goal(actor=actor, library_id=library_id,
                                                                    data=_input(form)))
        if goal is not None:
            flash(_("The goal was created."), "success")
            return redirect(url_for("workflows.goal_detail", goal_id=goal.id))
    return render_template("workflows/goal_form.html", form=form, goal=None, library_id=library_id)


@bp.route("/workflows/goals/<id:goal_id>")
@permission_required("workflows.view")
def goal_detail(goal_id: int) -> str:
    """A goal's progress and history."""
    actor = require_actor()
    goal = services.get_goal(actor=actor, goal_id=goal_id)
    today = today_for(goal.library_id)
    progress = services.progress_of(goal, today)
    history = services.history(goal)
    chart = charts.line_chart(
        [charts.Series(_("Figure"), [s.value for s in history]),
         charts.Series(_("Target"), [goal.target for _s in history], colour=3)],
        [s.taken_on.strftime("%d-%m-%Y") for s in history], title=goal.title, unit=goal.unit,
        id_prefix=f"goal{goal.id}", **chart_kwargs())
    may_edit = allowed(actor, "workflows.manage" if goal.library_id is None else "workflows.goals", goal.library_id)
    value_form = GoalValueForm() if may_edit and goal.indicator == services.MANUAL else None
    if value_form is not None:
        value_form.taken_on.data = today
    return render_template("workflows/goal_detail.html", goal=goal, progress=progress, history=history[-60:],
                           chart=chart, may_edit=may_edit, value_form=value_form, archive_form=ConfirmForm(),
                           indicators=services.INDICATORS, periods=services.PERIODS, themes=services.THEMES,
                           number=number)


@bp.route("/workflows/goals/<id:goal_id>/edit", methods=["GET", "POST"])
@permission_required("workflows.goals")
def goal_edit(goal_id: int) -> str | Response:
    """Change a goal's definition."""
    actor = require_actor()
    goal = services.get_goal(actor=actor, goal_id=goal_id)
    form = GoalForm(obj=goal)
    if form.validate_on_submit():
        done = run_form_service(form, lambda: services.update_goal(actor=actor, goal_id=goal_id, data=_input(form)))
        if done is not None:
            flash(_("The goal was updated."), "success")
            return redirect(url_for("workflows.goal_detail", goal_id=goal_id))
    return render_template("workflows/goal_form.html", form=form, goal=goal, library_id=goal.library_id)


@bp.route("/workflows/goals/<id:goal_id>/value", methods=["POST"])
@permission_required("workflows.goals")
def goal_value(goal_id: int) -> Response:
    """Enter the figure of a manual goal."""
    actor = require_actor()
    form = GoalValueForm()
    if form.validate_on_submit():
        if run_form_service(form, lambda: services.record_value(
                actor=actor, goal_id=goal_id, value=form.value.data, taken_on=form.taken_on.data,
                note=form.note.data or "")) is not None:
            flash(_("The figure was recorded."), "success")
    else:
        flash(_("Enter a date and a figure."), "danger")
    return redirect(url_for("workflows.goal_detail", goal_id=goal_id))


@bp.route("/workflows/goals/<id:goal_id>/archive", methods=["POST"])
@permission_required("workflows.goals")
def goal_archive(goal_id: int) -> Response:
    """Archive a goal (or restore it with restore=1)."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        restore = request.form.get("restore") == "1"
        if run_form_service(form, lambda: services.archive_goal(actor=actor, goal_id=goal_id,
                                                                archived=not restore)) is not None:
            flash(_("The goal was restored.") if restore else _("The goal was archived."), "success")
    return redirect(url_for("workflows.goal_detail", goal_id=goal_id))
