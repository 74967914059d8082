"""Workflows as JSON under /api/v1/workflows, with the same permissions as the pages.

Authentication, CSRF and errors work as for every API (see ils/api.py): the staff session cookie,
the ``X-CSRFToken`` header on writes, ``{"error", "status"}`` answers in the user's language.

Definitions   ``GET /definitions``, ``GET /definitions/<code>`` (every version, the newest's YAML).
Instances     ``GET /instances?library_id=&workflow=``; ``POST /instances`` {library_id, workflow};
              ``GET /instances/<id>`` (state, next step, possible actions, evidence, timeline);
              ``POST /instances/<id>/actions`` {transition, values, comment, revision}: a refused
              step answers ``422`` with ``"code"`` and the failed guard's message;
              ``POST /instances/<id>/tasks`` {task, done}; ``POST /instances/<id>/comments`` {comment};
              ``POST /instances/<id>/close`` {reason} (the DPK).
Instruments   ``GET /instruments`` and ``GET /instruments/<code>`` (the current version's structure).
Assessments   ``GET /assessments/<id>`` (answers, suggestions, score per component, total, grade);
              ``POST /assessments/<id>/answers`` {answers: {code: letter or null}, notes: {code: text}}.
Libraries     ``GET /libraries/<id>`` (figures, entered facts, SNP gaps, accreditation);
              ``PUT /libraries/<id>/facts`` {key: number or null}.
Goals         ``GET /goals``, ``POST /goals``, ``GET /goals/<id>`` (progress and history),
              ``PUT /goals/<id>``, ``POST /goals/<id>/values`` {taken_on, value, note}.
Activities    ``GET /activities?library_id=&from=&to=``, ``POST /activities``, ``PUT`` and ``DELETE
              /activities/<id>``.
IPLM          ``GET /iplm/<year>``; ``PUT /population/<year>`` {residents, pupils, students, employees, source}.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_babel import gettext as _

from ils.api import ApiProblem, api_view, json_body, json_response
from ils.auth import require_actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from ils.views import MAX_ID
from workflows import engine
from workflows.models import DocumentKind
from workflows.services import accreditation, activities, documents, figures, goals, instances, iplm
from workflows.services.access import require_library
from workflows.services.instances import StepRefused
from workflows.views import bp
from workflows.views.common import today_for

API = "/api/v1/workflows"


def _id(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("The field %(name)s must be a number.", name=name), field=name) from None
    if not 0 < number <= MAX_ID:
        raise ValidationFailed(_("The field %(name)s is out of range.", name=name), field=name)
    return number


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(_("The field %(name)s must be a date (YYYY-MM-DD).", name=name), field=name) from None


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _text(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return {"id": value.get("id", ""), "en": value.get("en", "")}
    return {"id": getattr(value, "id", ""), "en": getattr(value, "en", "")}


# --- definitions and instruments --------------------------------------------------------------

@bp.route(f"{API}/definitions", endpoint="api_definitions")
@api_view("workflows.view")
def api_definitions() -> Any:
    """Current workflow definitions."""
    return json_response({"items": [{"code": d.code, "version": d.version, "title": d.title}
                                    for d in documents.current_all(DocumentKind.WORKFLOW)]})


@bp.route(f"{API}/definitions/<code>", endpoint="api_definition")
@api_view("workflows.view")
def api_definition(code: str) -> Any:
    """A definition's versions and the newest one's states and YAML."""
    current = documents.current(DocumentKind.WORKFLOW, code)
    parsed: engine.Definition = documents.parse(current)
    return json_response({
        "code": code, "version": current.version, "title": _text(parsed.title), "text": current.text,
        "versions": [{"version": d.version, "saved_at": _iso(d.created_at), "by": d.created_by, "note": d.note}
                     for d in documents.versions(DocumentKind.WORKFLOW, code)],
        "states": [{"name": n, "title": _text(s.title), "actor": s.actor, "roles": sorted(s.roles), "final": s.final}
                   for n, s in parsed.states.items()],
        "transitions": [{"name": t.name, "from": list(t.sources), "to": t.to, "title": _text(t.title),
                         "roles": sorted(t.roles), "comment": t.comment} for t in parsed.transitions]})


@bp.route(f"{API}/instruments", endpoint="api_instruments")
@api_view("workflows.view")
def api_instruments() -> Any:
    """Current instruments (code, version, library types)."""
    return json_response({"items": [{"code": inst.code, "version": inst.version, "document_version": doc.version,
                                     "library_types": list(inst.library_types), "title": _text(inst.title)}
                                    for doc, inst in accreditation.instruments()]})


@bp.route(f"{API}/instruments/<code>", endpoint="api_instrument")
@api_view("workflows.view")
def api_instrument(code: str) -> Any:
    """An instrument's components, indicators, options, measures and grades."""
    doc = documents.current(DocumentKind.INSTRUMENT, code)
    inst = documents.parse(doc)
    from workflows.instruments import instrument_to_plain
    return json_response({"document_version": doc.version, **instrument_to_plain(inst)})


# --- instances --------------------------------------------------------------------------------

def _instance(instance: Any, *, full: bool) -> dict[str, Any]:
    actor = require_actor()
    definition = instances.definition_of(instance)
    view = instances.view_of(instance)
    step = engine.next_step(definition, view, utcnow())
    out: dict[str, Any] = {
        "id": instance.id, "library_id": instance.library_id, "workflow": instance.workflow,
        "version": definition.version, "state": instance.state,
        "state_title": _text(definition.states[instance.state].title), "data": instance.data or {},
        "checklist_done": sorted(view.checklist_done), "started_at": _iso(instance.started_at),
        "entered_at": _iso(instance.entered_at), "due_at": _iso(instance.due_at),
        "closed_at": _iso(instance.closed_at), "revision": instance.revision,
        "next_step": {"actor": step.state.actor, "roles": sorted(step.state.roles), "due_at": _iso(step.due_at),
                      "overdue": step.overdue, "missing": [str(r.message) for r in step.missing]},
    }
    if full:
        out["actions"] = [{"name": t.name, "title": _text(t.title), "to": t.to, "possible": refusal is None,
                           "reason": str(refusal.message) if refusal else None}
                          for t, refusal in instances.options(actor, instance)]
        out["evidence"] = [{"id": e.id, "slot": e.slot, "filename": e.filename, "size": e.size, "sha256": e.sha256}
                           for e in instances.evidence_slots(instance)]
        out["timeline"] = [{"at": _iso(e.at), "by": e.actor_label, "kind": e.kind, "transition": e.transition,
                            "from": e.from_state, "to": e.to_state, "comment": e.comment}
                           for e in instances.timeline(instance)]
    return out


@bp.route(f"{API}/instances", endpoint="api_instances")
@api_view("workflows.view")
def api_instances() -> Any:
    """Open workflow runs the actor may see."""
    actor = require_actor()
    rows = instances.list_open(actor=actor, workflow=request.args.get("workflow") or None)
    library_id = request.args.get("library_id", type=int)
    if library_id is not None:
        rows = [r for r in rows if r.library_id == library_id]
    return json_response({"items": [_instance(r, full=False) for r in rows], "total": len(rows)})


@bp.route(f"{API}/instances", methods=["POST"], endpoint="api_instance_start")
@api_view("workflows.act")
def api_instance_start() -> Any:
    """Start a workflow for a library."""
    body = json_body()
    run = instances.start(actor=require_actor(), library_id=_id(body.get("library_id"), "library_id"),
                          workflow=str(body.get("workflow") or ""))
    db.session.commit()
    return json_response(_instance(run, full=True), 201)


@bp.route(f"{API}/instances/<id:instance_id>", endpoint="api_instance")
@api_view("workflows.view")
def api_instance(instance_id: int) -> Any:
    """One run with its actions, evidence and timeline."""
    return json_response(_instance(instances.get_instance(actor=require_actor(), instance_id=instance_id), full=True))


@bp.route(f"{API}/instances/<id:instance_id>/actions", methods=["POST"], endpoint="api_instance_act")
@api_view("workflows.act")
def api_instance_act(instance_id: int) -> Any:
    """Take a transition; 422 with the refusal's code and message when a guard fails."""
    body = json_body()
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise ValidationFailed(_("values must be an object."), field="values")
    revision = body.get("revision")
    try:
        run = instances.act(actor=require_actor(), instance_id=instance_id, transition=str(body.get("transition") or ""),
                            values=values, comment=body.get("comment"),
                            revision=int(revision) if revision is not None else None)
    except StepRefused as refused:
        raise ApiProblem(422, refused.message, code=refused.refusal.code,
                         problems=[[f, str(m)] for f, m in refused.refusal.problems]) from None
    db.session.commit()
    return json_response(_instance(run, full=True))


@bp.route(f"{API}/instances/<id:instance_id>/tasks", methods=["POST"], endpoint="api_instance_task")
@api_view("workflows.act")
def api_instance_task(instance_id: int) -> Any:
    """Tick or untick a checklist task of the current step."""
    body = json_body()
    run = instances.set_task(actor=require_actor(), instance_id=instance_id, task=str(body.get("task") or ""),
                             done=bool(body.get("done", True)))
    db.session.commit()
    return json_response(_instance(run, full=False))


@bp.route(f"{API}/instances/<id:instance_id>/comments", methods=["POST"], endpoint="api_instance_comment")
@api_view("workflows.act")
def api_instance_comment(instance_id: int) -> Any:
    """Add a comment to the timeline."""
    row = instances.add_comment(actor=require_actor(), instance_id=instance_id, comment=str(json_body().get("comment") or ""))
    db.session.commit()
    return json_response({"id": row.id, "at": _iso(row.at), "comment": row.comment}, 201)


@bp.route(f"{API}/instances/<id:instance_id>/close", methods=["POST"], endpoint="api_instance_close")
@api_view("workflows.manage")
def api_instance_close(instance_id: int) -> Any:
    """Close a run before its end (the DPK) with {reason}."""
    run = instances.close_run(actor=require_actor(), instance_id=instance_id,
                              reason=str(json_body().get("reason") or ""))
    db.session.commit()
    return json_response(_instance(run, full=False))


# --- assessments and libraries ----------------------------------------------------------------

def _assessment(assessment: Any) -> dict[str, Any]:
    details = accreditation.describe_answers(assessment)
    result = details["score"]
    return {"id": assessment.id, "library_id": assessment.library_id, "instance_id": assessment.instance_id,
            "instrument": details["instrument"].code, "instrument_version": details["instrument"].version,
            "status": assessment.status.value, "editable": accreditation.editable(assessment),
            "total": round(result.total, 4), "grade": result.grade.grade if result.grade else None,
            "answered": result.answered, "indicators": result.indicators,
            "components": [{"code": c.code, "weight": c.weight, "answered": c.answered, "indicators": c.indicators,
                            "points": c.points, "max_points": c.max_points, "value": round(c.value, 4)}
                           for c in result.components],
            "answers": {code: {"option": a.option, "note": a.note, "suggested": a.prefill_option,
                               "figure": a.prefill_figure, "figure_value": a.prefill_value}
                        for code, a in details["answers"].items()}}


@bp.route(f"{API}/assessments/<id:assessment_id>", endpoint="api_assessment")
@api_view("workflows.view")
def api_assessment(assessment_id: int) -> Any:
    """A self-assessment with its answers and score."""
    return json_response(_assessment(accreditation.get_assessment(actor=require_actor(), assessment_id=assessment_id)))


@bp.route(f"{API}/assessments/<id:assessment_id>/answers", methods=["POST"], endpoint="api_assessment_answer")
@api_view("workflows.act")
def api_assessment_answer(assessment_id: int) -> Any:
    """Store answers (letters a-e, null clears) and notes; returns the new score."""
    body = json_body()
    answers, notes = body.get("answers") or {}, body.get("notes") or {}
    if not isinstance(answers, dict) or not isinstance(notes, dict):
        raise ValidationFailed(_("answers and notes must be objects."), field="answers")
    actor = require_actor()
    accreditation.answer(actor=actor, assessment_id=assessment_id, answers=answers, notes=notes)
    db.session.commit()
    return json_response(_assessment(accreditation.get_assessment(actor=actor, assessment_id=assessment_id)))


@bp.route(f"{API}/libraries/<id:library_id>", endpoint="api_library")
@api_view("workflows.view")
def api_library(library_id: int) -> Any:
    """A library's live figures, entered facts, SNP gaps and accreditation results."""
    actor = require_actor()
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    require_library(actor, "workflows.view", library_id)
    today = today_for(library_id)
    return json_response({
        "id": library.id, "code": library.code, "name": library.name, "type": library.type.value,
        "figures": figures.library_figures(library, today=today),
        "snp": [{"code": g.code, "required": g.required, "actual": g.actual, "met": g.met, "missing": list(g.missing)}
                for g in accreditation.snp_gaps(library, today=today)],
        "accreditation": [{"grade": r.grade or None, "score": r.score, "certified_on": _iso(r.certified_on),
                           "valid_until": _iso(r.valid_until), "certificate_number": r.certificate_number}
                          for r in accreditation.results_of(library_id)]})


@bp.route(f"{API}/libraries/<id:library_id>/facts", methods=["PUT"], endpoint="api_library_facts")
@api_view("workflows.act")
def api_library_facts(library_id: int) -> Any:
    """Set entered facts (null or "" removes one)."""
    changed = figures.set_facts(actor=require_actor(), library_id=library_id,
                                values={k: ("" if v is None else v) for k, v in json_body().items()})
    db.session.commit()
    return json_response({"changed": changed, "facts": figures.facts_of(library_id)})


# --- goals, activities, IPLM ------------------------------------------------------------------

def _goal(goal: Any, *, history: bool = False) -> dict[str, Any]:
    p = goals.progress_of(goal, today_for(goal.library_id))
    out = {"id": goal.id, "library_id": goal.library_id, "title": goal.title, "indicator": goal.indicator,
           "period": goal.period, "unit": goal.unit, "baseline": goal.baseline, "baseline_on": _iso(goal.baseline_on),
           "target": goal.target, "deadline": _iso(goal.deadline), "owner": goal.owner, "theme": goal.theme,
           "source": goal.source, "archived": goal.archived,
           "progress": {"value": p.value, "share": p.share, "expected": p.expected, "status": p.status}}
    if history:
        out["history"] = [{"on": _iso(s.taken_on), "value": s.value, "source": s.source} for s in goals.history(goal)]
    return out


def _goal_input(body: dict[str, Any]) -> goals.GoalInput:
    try:
        return goals.GoalInput(
            title=str(body.get("title") or ""), indicator=str(body.get("indicator") or ""),
            baseline=float(body["baseline"]), baseline_on=_date(body.get("baseline_on"), "baseline_on"),
            target=float(body["target"]), deadline=_date(body.get("deadline"), "deadline"),
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
    goal = goals.create_goal(actor=require_actor(), library_id=_id(library_id, "library_id") if library_id else None,
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
                       taken_on=_date(body.get("taken_on"), "taken_on"), note=str(body.get("note") or ""))
    db.session.commit()
    return json_response(_goal(goals.get_goal(actor=require_actor(), goal_id=goal_id), history=True), 201)


def _activity(a: Any) -> dict[str, Any]:
    return {"id": a.id, "library_id": a.library_id, "held_on": _iso(a.held_on), "kind": a.kind, "title": a.title,
            "description": a.description, "tpbis": a.tpbis, "participants_male": a.participants_male,
            "participants_female": a.participants_female, "participants": a.participants,
            "age_groups": a.age_groups, "partners": a.partners, "outcomes": a.outcomes}


def _activity_input(body: dict[str, Any]) -> activities.ActivityInput:
    try:
        return activities.ActivityInput(
            held_on=_date(body.get("held_on"), "held_on"), kind=str(body.get("kind") or ""),
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
    start = _date(request.args["from"], "from") if request.args.get("from") else None
    end = _date(request.args["to"], "to") if request.args.get("to") else None
    rows = activities.list_activities(actor=require_actor(), library_id=request.args.get("library_id", type=int),
                                      start=start, end=end)
    return json_response({"items": [_activity(a) for a in rows], "total": len(rows)})


@bp.route(f"{API}/activities", methods=["POST"], endpoint="api_activity_create")
@api_view("workflows.activities")
def api_activity_create() -> Any:
    """Record an activity (library_id defaults to the actor's library)."""
    actor = require_actor()
    body = json_body()
    library_id = _id(body.get("library_id") or actor.library_id, "library_id")
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
