"""The workflow API for goals, activities, IPLM and population figures."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from ils.api import api_view, json_body, json_response, positive_int
from ils.auth import require_actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from workflows.api.common import API, date_field, iso
from workflows.services import activities, goals, iplm
from workflows.views import bp
from workflows.views.common import today_for


# --- goals, activities, IPLM ------------------------------------------------------------------

def _goal(goal: Any, *, history: bool = False) -> dict[str, Any]:
    p = goals.progress_of(goal, today_for(goal.library_id))
    out = {"id": goal.id, "library_id": goal.library_id, "title": goal.title, "indicator": goal.indicator,
           "period": goal.period, "unit": goal.unit, "baseline": goal.baseline, "baseline_on": iso(goal.baseline_on),
           "target": goal.target, "deadline": iso(goal.deadline), "owner": goal.owner, "theme": goal.theme,
           "source": goal.source, "archived": goal.archived,
           "progress": {"value": p.value, "share": p.share, "expected": p.expected, "status": p.status}}
    if history:
        out["history"] = [{"on": iso(s.taken_on), "value": s.value, "source": s.source} for s in goals.history(goal)]
    return out


def _goal_input(body: dict[str, Any]) -> goals.GoalInput:
    try:
        return goals.GoalInput(
            title=str(body.get("title") or ""), indicator=str(body.get("indicator") or ""),
            baseline=float(body["baseline"]), baseline_on=date_field(body.get("baseline_on"), "baseline_on"),
            target=float(body["target"]), deadline=date_field(body.get("deadline"), "deadline"),
            owner=str(body.get("owner") or ""), period=str(body.get("period") or "level"),
            unit=str(body.get("unit") or ""), description=str(body.get("description") or ""),
            theme=str(body.get("theme") or "lainnya"), source=str(body.get("source") or ""),
            at_risk_margin=float(body.get("at_risk_margin", 0.1)))
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed(_("baseline and target must be numbers.")) from None


@bp.route(f"{API}/goals", endpoint="api_goals")
@api_view("workflows.view")
def api_goals() -> Any:
    """Goals the actor may see, with today's progress."""
    rows = goals.list_goals(actor=require_actor(), library_id=request.args.get("library_id", type=int))
    return json_response({"items": [_goal(g) for g in rows], "total": len(rows)})


@bp.route(f"{API}/goals", methods=["POST"], endpoint="api_goal_create")
@api_view("workflows.goals")
def api_goal_create() -> Any:
    """Create a goal (library_id null: a city goal, DPK only)."""
    body = json_body()
    library_id = body.get("library_id")
    goal = goals.create_goal(actor=require_actor(), library_id=positive_int(library_id, "library_id") if library_id else None,
                             data=_goal_input(body))
    db.session.commit()
    return json_response(_goal(goal, history=True), 201)


@bp.route(f"{API}/goals/<id:goal_id>", endpoint="api_goal")
@api_view("workflows.view")
def api_goal(goal_id: int) -> Any:
    """One goal with its history."""
    return json_response(_goal(goals.get_goal(actor=require_actor(), goal_id=goal_id), history=True))


@bp.route(f"{API}/goals/<id:goal_id>", methods=["PUT"], endpoint="api_goal_update")
@api_view("workflows.goals")
def api_goal_update(goal_id: int) -> Any:
    """Change a goal."""
    goal = goals.update_goal(actor=require_actor(), goal_id=goal_id, data=_goal_input(json_body()))
    db.session.commit()
    return json_response(_goal(goal, history=True))


@bp.route(f"{API}/goals/<id:goal_id>/values", methods=["POST"], endpoint="api_goal_value")
@api_view("workflows.goals")
def api_goal_value(goal_id: int) -> Any:
    """Enter a manual goal's figure for a day."""
    body = json_body()
    try:
        value = float(body["value"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed(_("value must be a number."), field="value") from None
    goals.record_value(actor=require_actor(), goal_id=goal_id, value=value,
                       taken_on=date_field(body.get("taken_on"), "taken_on"), note=str(body.get("note") or ""))
    db.session.commit()
    return json_response(_goal(goals.get_goal(actor=require_actor(), goal_id=goal_id), history=True), 201)


def _activity(a: Any) -> dict[str, Any]:
    return {"id": a.id, "library_id": a.library_id, "held_on": iso(a.held_on), "kind": a.kind, "title": a.title,
            "description": a.description, "tpbis": a.tpbis, "participants_male": a.participants_male,
            "participants_female": a.participants_female, "participants": a.participants,
            "age_groups": a.age_groups, "partners": a.partners, "outcomes": a.outcomes}


def _activity_input(body: dict[str, Any]) -> activities.ActivityInput:
    try:
        return activities.ActivityInput(
            held_on=date_field(body.get("held_on"), "held_on"), kind=str(body.get("kind") or ""),
            title=str(body.get("title") or ""), description=str(body.get("description") or ""),
            tpbis=bool(body.get("tpbis", False)), participants_male=int(body.get("participants_male") or 0),
            participants_female=int(body.get("participants_female") or 0),
            age_groups=dict(body.get("age_groups") or {}), partners=list(body.get("partners") or []),
            outcomes=str(body.get("outcomes") or ""))
    except (TypeError, ValueError):
        raise ValidationFailed(_("Participant counts must be whole numbers.")) from None


@bp.route(f"{API}/activities", endpoint="api_activities")
@api_view("workflows.activities")
def api_activities() -> Any:
    """Activities the actor may see (filters: library_id, from, to)."""
    start = date_field(request.args["from"], "from") if request.args.get("from") else None
    end = date_field(request.args["to"], "to") if request.args.get("to") else None
    rows = activities.list_activities(actor=require_actor(), library_id=request.args.get("library_id", type=int),
                                      start=start, end=end)
    return json_response({"items": [_activity(a) for a in rows], "total": len(rows)})


@bp.route(f"{API}/activities", methods=["POST"], endpoint="api_activity_create")
@api_view("workflows.activities")
def api_activity_create() -> Any:
    """Record an activity (library_id defaults to the actor's library)."""
    actor = require_actor()
    body = json_body()
    library_id = positive_int(body.get("library_id") or actor.library_id, "library_id")
    row = activities.record_activity(actor=actor, library_id=library_id, data=_activity_input(body),
                                     today=today_for(library_id))
    db.session.commit()
    return json_response(_activity(row), 201)


@bp.route(f"{API}/activities/<id:activity_id>", methods=["PUT"], endpoint="api_activity_update")
@api_view("workflows.activities")
def api_activity_update(activity_id: int) -> Any:
    """Correct an activity."""
    actor = require_actor()
    current = activities.get_activity(actor=actor, activity_id=activity_id)
    row = activities.update_activity(actor=actor, activity_id=activity_id, data=_activity_input(json_body()),
                                     today=today_for(current.library_id))
    db.session.commit()
    return json_response(_activity(row))


@bp.route(f"{API}/activities/<id:activity_id>", methods=["DELETE"], endpoint="api_activity_delete")
@api_view("workflows.activities")
def api_activity_delete(activity_id: int) -> Any:
    """Delete an activity recorded by mistake."""
    activities.delete_activity(actor=require_actor(), activity_id=activity_id)
    db.session.commit()
    return json_response({"deleted": activity_id})


@bp.route(f"{API}/iplm/<int:year>", endpoint="api_iplm")
@api_view("workflows.view")
def api_iplm(year: int) -> Any:
    """The city's IPLM for a year: elements, index and band."""
    today = today_for(None)
    if not 2000 <= year <= today.year:
        raise NotFound()
    result = iplm.compute(year, today=today)
    return json_response({
        "year": year, "index": None if result.index is None else round(result.index, 4),
        "band": result.band.code if result.band else None, "numerators": result.numerators,
        "population": result.population,
        "elements": {str(n): {"value": e.value, "numerator": e.numerator, "denominator": e.denominator, "k": e.k,
                              "why_missing": e.why_missing} for n, e in result.elements.items()}})


@bp.route(f"{API}/population/<int:year>", methods=["PUT"], endpoint="api_population")
@api_view("workflows.manage")
def api_population(year: int) -> Any:
    """Enter a year's population figures (DPK)."""
    body = json_body()
    row = iplm.set_population(actor=require_actor(), year=year, values=body, source=str(body.get("source") or ""))
    db.session.commit()
    return json_response({k: getattr(row, k) for k in ("year", "residents", "pupils", "students", "employees")})
