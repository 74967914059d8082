"""The workflow API for definitions, instruments, runs, self-assessments and library figures."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from ils.api import ApiProblem, api_view, json_body, json_response, positive_int
from ils.auth import require_actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from workflows import engine
from workflows.api.common import API, bilingual, iso
from workflows.models import DocumentKind
from workflows.services import accreditation, documents, figures, instances
from workflows.services.access import require_library
from workflows.services.instances import StepRefused
from workflows.views import bp
from workflows.views.common import today_for


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
        "code": code, "version": current.version, "title": bilingual(parsed.title), "text": current.text,
        "versions": [{"version": d.version, "saved_at": iso(d.created_at), "by": d.created_by, "note": d.note}
                     for d in documents.versions(DocumentKind.WORKFLOW, code)],
        "states": [{"name": n, "title": bilingual(s.title), "actor": s.actor, "roles": sorted(s.roles), "final": s.final}
                   for n, s in parsed.states.items()],
        "transitions": [{"name": t.name, "from": list(t.sources), "to": t.to, "title": bilingual(t.title),
                         "roles": sorted(t.roles), "comment": t.comment} for t in parsed.transitions]})


@bp.route(f"{API}/instruments", endpoint="api_instruments")
@api_view("workflows.view")
def api_instruments() -> Any:
    """Current instruments (code, version, library types)."""
    return json_response({"items": [{"code": inst.code, "version": inst.version, "document_version": doc.version,
                                     "library_types": list(inst.library_types), "title": bilingual(inst.title)}
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
        "state_title": bilingual(definition.states[instance.state].title), "data": instance.data or {},
        "checklist_done": sorted(view.checklist_done), "started_at": iso(instance.started_at),
        "entered_at": iso(instance.entered_at), "due_at": iso(instance.due_at),
        "closed_at": iso(instance.closed_at), "revision": instance.revision,
        "next_step": {"actor": step.state.actor, "roles": sorted(step.state.roles), "due_at": iso(step.due_at),
                      "overdue": step.overdue, "missing": [str(r.message) for r in step.missing]},
    }
    if full:
        out["actions"] = [{"name": t.name, "title": bilingual(t.title), "to": t.to, "possible": refusal is None,
                           "reason": str(refusal.message) if refusal else None}
                          for t, refusal in instances.options(actor, instance)]
        out["evidence"] = [{"id": e.id, "slot": e.slot, "filename": e.filename, "size": e.size, "sha256": e.sha256}
                           for e in instances.evidence_slots(instance)]
        out["timeline"] = [{"at": iso(e.at), "by": e.actor_label, "kind": e.kind, "transition": e.transition,
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
    run = instances.start(actor=require_actor(), library_id=positive_int(body.get("library_id"), "library_id"),
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
    return json_response({"id": row.id, "at": iso(row.at), "comment": row.comment}, 201)


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
        "accreditation": [{"grade": r.grade or None, "score": r.score, "certified_on": iso(r.certified_on),
                           "valid_until": iso(r.valid_until), "certificate_number": r.certificate_number}
                          for r in accreditation.results_of(library_id)]})


@bp.route(f"{API}/libraries/<id:library_id>/facts", methods=["PUT"], endpoint="api_library_facts")
@api_view("workflows.act")
def api_library_facts(library_id: int) -> Any:
    """Set entered facts (null or "" removes one)."""
    changed = figures.set_facts(actor=require_actor(), library_id=library_id,
                                values={k: ("" if v is None else v) for k, v in json_body().items()})
    db.session.commit()
    return json_response({"changed": changed, "facts": figures.facts_of(library_id)})
