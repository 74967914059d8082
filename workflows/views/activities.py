"""Activities (kegiatan literasi and TPBIS): list, record, correct, delete."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.views import id_arg, run_form_service
from workflows.forms import PARTNER_ROWS, ActivityForm, ConfirmForm
from workflows.services import activities as services
from workflows.services.access import require_library
from workflows.views import bp
from workflows.views.common import libraries_for, today_for


def _input(form: ActivityForm) -> services.ActivityInput:
    ages = {group: getattr(form, f"age_{group}").data for group in services.AGE_GROUPS}
    partners = [{"name": getattr(form, f"partner_{n}").data or "", "kind": getattr(form, f"partner_{n}_kind").data}
                for n in range(1, PARTNER_ROWS + 1)]
    return services.ActivityInput(
        held_on=form.held_on.data, kind=form.kind.data, title=form.title.data or "",
        description=form.description.data or "", tpbis=bool(form.tpbis.data),
        participants_male=form.participants_male.data or 0, participants_female=form.participants_female.data or 0,
        age_groups={k: v for k, v in ages.items() if v}, partners=partners, outcomes=form.outcomes.data or "")


@bp.route("/workflows/activities")
@permission_required("workflows.activities")
def activity_list() -> str:
    """Activities of the libraries the staff member may see, newest first."""
    actor = require_actor()
    library_id = id_arg("library")
    tpbis = {"1": True, "0": False}.get(request.args.get("tpbis", ""))
    rows = services.list_activities(actor=actor, library_id=library_id, tpbis=tpbis)
    libraries = {lib.id: lib for lib in libraries_for("workflows.activities")}
    totals = {"count": len(rows), "participants": sum(a.participants for a in rows)}
    return render_template("workflows/activity_list.html", activities=rows, libraries=libraries,
                           library_id=library_id, tpbis=tpbis, totals=totals, kinds=services.KINDS,
                           delete_form=ConfirmForm())


@bp.route("/workflows/activities/new", methods=["GET", "POST"])
@permission_required("workflows.activities")
def activity_new() -> str | Response:
    """Record an activity for the staff member's library (or a chosen one for the DPK)."""
    actor = require_actor()
    library_id = id_arg("library") or actor.library_id
    libraries = libraries_for("workflows.activities")
    if library_id is None:
        return render_template("workflows/choose_library.html", libraries=libraries,
                               endpoint="workflows.activity_new", title=_("Record an activity"))
    require_library(actor, "workflows.activities", library_id)
    form = ActivityForm()
    if request.method == "GET":
        form.held_on.data = today_for(library_id)
    if form.validate_on_submit():
        activity = run_form_service(form, lambda: services.record_activity(
            actor=actor, library_id=library_id, data=_input(form), today=today_for(library_id)))
        if activity is not None:
            flash(_("The activity was recorded."), "success")
            return redirect(url_for("workflows.activity_list", library=library_id))
    library = next((lib for lib in libraries if lib.id == library_id), None)
    return render_template("workflows/activity_form.html", form=form, library=library, activity=None,
                           partner_rows=range(1, PARTNER_ROWS + 1), age_groups=services.AGE_GROUPS)


@bp.route("/workflows/activities/<id:activity_id>/edit", methods=["GET", "POST"])
@permission_required("workflows.activities")
def activity_edit(activity_id: int) -> str | Response:
    """Correct a recorded activity."""
    actor = require_actor()
    activity = services.get_activity(actor=actor, activity_id=activity_id)
    require_library(actor, "workflows.activities", activity.library_id)
    form = ActivityForm(obj=activity)
    if request.method == "GET":
        for group in services.AGE_GROUPS:
            getattr(form, f"age_{group}").data = activity.age_groups.get(group)
        for n, partner in enumerate(activity.partners[:PARTNER_ROWS], start=1):
            getattr(form, f"partner_{n}").data = partner.get("name")
            getattr(form, f"partner_{n}_kind").data = partner.get("kind", "lainnya")
    if form.validate_on_submit():
        done = run_form_service(form, lambda: services.update_activity(
            actor=actor, activity_id=activity_id, data=_input(form), today=today_for(activity.library_id)))
        if done is not None:
            flash(_("The activity was updated."), "success")
            return redirect(url_for("workflows.activity_list", library=activity.library_id))
    library = next((lib for lib in libraries_for("workflows.activities") if lib.id == activity.library_id), None)
    return render_template("workflows/activity_form.html", form=form, library=library, activity=activity,
                           partner_rows=range(1, PARTNER_ROWS + 1), age_groups=services.AGE_GROUPS)


@bp.route("/workflows/activities/<id:activity_id>/delete", methods=["POST"])
@permission_required("workflows.activities")
def activity_delete(activity_id: int) -> Response:
    """Remove an activity recorded by mistake."""
    actor = require_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        activity = services.get_activity(actor=actor, activity_id=activity_id)
        library_id = activity.library_id
        if run_form_service(form, lambda: services.delete_activity(actor=actor, activity_id=activity_id) or True):
            flash(_("The activity was deleted."), "success")
        return redirect(url_for("workflows.activity_list", library=library_id))
    return redirect(url_for("workflows.activity_list"))
