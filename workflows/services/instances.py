"""Running workflows: start one for a library, take a step, tick tasks, comment, attach evidence,
and the reminders job. The engine decides; this module persists, audits and runs the effects.

Effects of entering a step (``on_enter`` in the definition) are carried out here:
``start_assessment`` opens the self-assessment, ``compute_snp`` recomputes the SNP gaps,
``record_result`` stores the accreditation grade, ``notify`` puts a line on the timeline and
e-mails the party it names (services/mail.py), ``schedule_reminders`` puts the reminders on the
instance (the reminders job posts them on the timeline and e-mails whoever the step waits for).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ils import audit
from ils.authz import Actor
from ils.errors import Conflict, NotFound, PolicyViolation, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library, Role
from workflows import engine
from workflows.models import DocumentKind, Evidence, Instance, InstanceEvent
from workflows.services import documents
from workflows.services import evidence as evidence_files
from workflows.services.access import allowed, require_library, visible_libraries


class StepRefused(PolicyViolation):
    """The engine refused an action; the message names the guard that failed."""

    def __init__(self, refusal: engine.Refusal) -> None:
        super().__init__(str(refusal.message))
        self.refusal = refusal


def definition_of(instance: Instance) -> engine.Definition:
    """The definition version the instance is pinned to."""
    return documents.parse(instance.definition)


def evidence_slots(instance: Instance, state: str | None = None) -> list[Evidence]:
    """Evidence files attached to a step of the instance (default: the current one)."""
    return list(db.session.scalars(select(Evidence).where(Evidence.instance_id == instance.id,
                                                          Evidence.state == (state or instance.state))
                                   .order_by(Evidence.id)))


def view_of(instance: Instance, *, live: bool = True, gaps: list[Any] | None = None) -> engine.InstanceView:
    """What the engine needs to know about an instance (with the computed values as they are now)."""
    from workflows.services import accreditation

    definition = definition_of(instance)
    slots = frozenset(row.slot for row in evidence_slots(instance) if row.slot)
    data = dict(instance.data or {})
    if live and instance.closed_at is None:
        data.update(accreditation.live_values(instance, now=utcnow(), gaps=gaps))
    return engine.InstanceView(key=definition.key, version=definition.version, state=instance.state,
                               started_at=instance.started_at, entered_at=instance.entered_at,
                               data=data,
                               checklist_done=frozenset((instance.checklist or {}).get(instance.state, [])),
                               evidence=slots)


def _timeline(instance: Instance, actor: Actor, kind: str, now: datetime, **fields: Any) -> InstanceEvent:
    row = InstanceEvent(instance_id=instance.id, at=now, actor_id=actor.user_id, actor_label=actor.label,
                        kind=kind, **fields)
    db.session.add(row)
    return row


def _notify(instance: Instance, event: InstanceEvent, to: str, now: datetime) -> None:
    """E-mail the party a timeline event concerns (``library`` or ``dpk``); the count goes on the event."""
    from workflows.services import mail  # mail reads definitions through this module

    db.session.flush()  # the event's id is the e-mails' dedupe key
    event.details = {**(event.details or {}), "mailed": mail.mail_event(instance, event, to=to, now=now)}


def _carry_out(instance: Instance, outcome: engine.Outcome, actor: Actor, now: datetime) -> None:
    """Store the engine's outcome on the instance and run the effects of the events."""
    from workflows.services import accreditation  # the accreditation effects use this module too

    instance.state = outcome.state
    instance.data = {key: _plain(value) for key, value in outcome.data.items()}
    instance.entered_at = now
    instance.due_at = outcome.due_at
    instance.revision = (instance.revision or 0) + 1
    for event in outcome.events:
        if event.kind == "left" and event.payload.get("state") in accreditation.assessment_states(instance):
            accreditation.left_assessment_step(instance, now=now)
        elif event.kind == "reminders":
            instance.reminders = [at.isoformat() for at in event.payload.get("at", [])]
        elif event.kind == "notify":
            _notify(instance, _timeline(instance, actor, "notify", now, to_state=outcome.state,
                                        details={"to": event.payload.get("to")}), str(event.payload.get("to")), now)
        elif event.kind == "start_assessment":
            accreditation.ensure_assessment(instance, actor=actor, now=now)
        elif event.kind == "compute_snp":
            accreditation.refresh_snp(instance, now=now)
        elif event.kind == "record_result":
            accreditation.record_result(instance, actor=actor, now=now)
        elif event.kind == "completed":
            instance.closed_at = now
    db.session.flush()


def start(*, actor: Actor, library_id: int, workflow: str, now: datetime | None = None) -> Instance:
    """Start a workflow for a library on the newest definition version (one open run per library)."""
    require_library(actor, "workflows.act", library_id)
    if db.session.get(Library, library_id) is None:
        raise NotFound()
    now = now or utcnow()
    if open_instance(library_id, workflow) is not None:
        raise Conflict(_l("This workflow is already running for the library."))
    document = documents.stored(documents.current(DocumentKind.WORKFLOW, workflow))
    definition = documents.parse(document)
    outcome = engine.start(definition, now)
    instance = Instance(library_id=library_id, workflow=workflow, definition_id=document.id, state=outcome.state,
                        data={}, checklist={}, started_at=now, entered_at=now, revision=0)
    db.session.add(instance)
    db.session.flush()
    _timeline(instance, actor, "started", now, to_state=outcome.state,
              details={"version": definition.version})
    _carry_out(instance, outcome, actor, now)
    audit.record(actor, "workflows.started", object_type="wf_instance", object_id=instance.id, library_id=library_id,
                 details={"workflow": workflow, "version": definition.version}, now=now)
    return instance


def open_instance(library_id: int, workflow: str) -> Instance | None:
    """The library's open run of a workflow, if any."""
    return db.session.scalar(select(Instance).where(Instance.library_id == library_id, Instance.workflow == workflow,
                                                    Instance.closed_at.is_(None)))


def get_instance(*, actor: Actor, instance_id: int, lock: bool = False) -> Instance:
    """One instance the actor may see (another library's is reported as not found)."""
    stmt = select(Instance).where(Instance.id == instance_id)
    if lock:
        stmt = stmt.with_for_update()
    instance = db.session.scalar(stmt)
    if instance is None:
        raise NotFound()
    require_library(actor, "workflows.view", instance.library_id)
    return instance


def _locked_for_change(actor: Actor, instance_id: int, revision: int | None) -> Instance:
    instance = get_instance(actor=actor, instance_id=instance_id, lock=True)
    require_library(actor, "workflows.act", instance.library_id)
    if instance.closed_at is not None:
        raise Conflict(_l("This workflow is closed."))
    if revision is not None and revision != instance.revision:
        raise Conflict(_l("Someone else changed this workflow a moment ago. Reload the page and try again."))
    return instance


def act(*, actor: Actor, instance_id: int, transition: str, values: dict[str, Any] | None = None,
        comment: str | None = None, revision: int | None = None, now: datetime | None = None) -> Instance:
    """Take a transition; StepRefused says which guard failed, in the user's language."""
    now = now or utcnow()
    instance = _locked_for_change(actor, instance_id, revision)
    definition = definition_of(instance)
    before = instance.state
    from workflows.services import accreditation
    accreditation.refresh_live(instance, now=now)
    result = engine.apply(definition, view_of(instance, live=False),
                          _action(actor, definition, transition, values, comment), now)
    if isinstance(result, engine.Refusal):
        raise StepRefused(result)
    left = result.event("left")
    _timeline(instance, actor, "transition", now, transition=transition, from_state=before, to_state=result.state,
              comment=(left.payload.get("comment") if left else None),
              details={"values": {k: _plain(v) for k, v in (values or {}).items() if v not in (None, "")}})
    _carry_out(instance, result, actor, now)
    audit.record(actor, "workflows.step", object_type="wf_instance", object_id=instance.id,
                 library_id=instance.library_id, details={"transition": transition, "from": before,
                                                          "to": result.state}, now=now)
    return instance


def _action(actor: Actor, definition: engine.Definition, transition: str, values: dict[str, Any] | None,
            comment: str | None) -> engine.Action:
    role = actor.role.value
    if actor.role is Role.ADMIN:
        # The system administrator may act for whoever must (the timeline and audit still say "admin").
        allowed_roles = {r for t in definition.transitions if t.name == transition for r in t.roles}
        role = next((r for r in ("dpk", "librarian") if r in allowed_roles), role)
    return engine.Action(transition=transition, role=role, actor_is_network=actor.network_wide,
                         values=values or {}, comment=comment)


def options(actor: Actor, instance: Instance) -> list[tuple[engine.Transition, engine.Refusal | None]]:
    """Every transition out of the current step, each with why the actor cannot take it (or None)."""
    definition, view = definition_of(instance), view_of(instance)
    found = engine.available(definition, view, actor.role.value, actor.network_wide)
    if actor.role is not Role.ADMIN:
        return found
    merged = []
    for transition, refusal in found:
        role = _action(actor, definition, transition.name, None, None).role
        merged.append(next((pair for pair in engine.available(definition, view, role, True)
                            if pair[0].name == transition.name), (transition, refusal)))
    return merged


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def set_task(*, actor: Actor, instance_id: int, task: str, done: bool, now: datetime | None = None) -> Instance:
    """Tick (or untick) a checklist task of the current step."""
    now = now or utcnow()
    instance = _locked_for_change(actor, instance_id, None)
    state = definition_of(instance).states[instance.state]
    if task not in {t.id for t in state.checklist}:
        raise ValidationFailed(_l("This step has no such task."), field="task")
    checklist = {k: list(v) for k, v in (instance.checklist or {}).items()}
    ticked = set(checklist.get(instance.state, []))
    if (task in ticked) == done:
        return instance
    ticked = ticked | {task} if done else ticked - {task}
    checklist[instance.state] = sorted(ticked)
    instance.checklist = checklist
    instance.revision += 1
    _timeline(instance, actor, "task_done" if done else "task_undone", now, to_state=instance.state,
              details={"task": task})
    db.session.flush()
    return instance


def add_comment(*, actor: Actor, instance_id: int, comment: str, now: datetime | None = None) -> InstanceEvent:
    """Write a comment on the timeline (the DPK and the library talk here)."""
    text = comment.strip()
    if not text:
        raise ValidationFailed(_l("Write a comment first."), field="comment")
    now = now or utcnow()
    instance = get_instance(actor=actor, instance_id=instance_id)
    require_library(actor, "workflows.act", instance.library_id)
    row = _timeline(instance, actor, "comment", now, to_state=instance.state, comment=text[:4000])
    db.session.flush()
    return row


def add_evidence(*, actor: Actor, instance_id: int, slot: str, stream: BinaryIO, filename: str,
                 now: datetime | None = None) -> Evidence:
    """Attach a file to an evidence slot of the current step."""
    now = now or utcnow()
    instance = _locked_for_change(actor, instance_id, None)
    state = definition_of(instance).states[instance.state]
    if slot not in {s.id for s in state.evidence}:
        raise ValidationFailed(_l("This step has no such evidence slot."), field="slot")
    row = evidence_files.attach(actor=actor, library_id=instance.library_id, stream=stream, filename=filename,
                                instance_id=instance.id, state=instance.state, slot=slot, now=now)
    instance.revision += 1
    _timeline(instance, actor, "evidence", now, to_state=instance.state,
              details={"slot": slot, "file": row.filename, "sha256": row.sha256, "evidence_id": row.id})
    return row


def remove_evidence(*, actor: Actor, evidence_id: int, now: datetime | None = None) -> None:
    """Remove a file from a step (the timeline keeps the line saying it was there)."""
    now = now or utcnow()
    row = evidence_files.get(actor=actor, evidence_id=evidence_id)
    if row.instance_id is None:
        raise NotFound()
    instance = _locked_for_change(actor, row.instance_id, None)
    evidence_files.remove(actor=actor, evidence_id=evidence_id)
    instance.revision += 1
    _timeline(instance, actor, "evidence_removed", now, to_state=instance.state,
              details={"slot": row.slot, "file": row.filename})


def timeline(instance: Instance) -> list[InstanceEvent]:
    """The instance's timeline, oldest first."""
    return list(db.session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == instance.id)
                                   .order_by(InstanceEvent.at, InstanceEvent.id)))


def set_value(instance: Instance, key: str, value: Any) -> None:
    """Store a figure the services compute (snp_gaps_open, assessment_total) for the guards to read."""
    data = dict(instance.data or {})
    if data.get(key) != value:
        data[key] = value
        instance.data = data
        instance.revision = (instance.revision or 0) + 1


def list_open(*, actor: Actor, workflow: str | None = None) -> list[Instance]:
    """Open instances of the libraries the actor may see."""
    visible = visible_libraries(actor)
    stmt = select(Instance).where(Instance.closed_at.is_(None)).order_by(Instance.due_at, Instance.id)
    if workflow:
        stmt = stmt.where(Instance.workflow == workflow)
    if visible is not None:
        stmt = stmt.where(Instance.library_id.in_(visible))
    return list(db.session.scalars(stmt))


def send_reminders(*, now: datetime) -> int:
    """Put every reminder that has come due on its instance's timeline (the job's work); returns how many."""
    system = Actor.system("system:reminders")
    sent = 0
    stmt = select(Instance).where(Instance.closed_at.is_(None)).order_by(Instance.id)
    for instance in db.session.scalars(stmt):
        pending = list(instance.reminders or [])
        due = [at for at in pending if datetime.fromisoformat(at) <= now]
        if not due:
            continue
        instance.reminders = [at for at in pending if at not in due]
        row = _timeline(instance, system, "reminder", now, to_state=instance.state,
                        details={"due_at": instance.due_at.isoformat() if instance.due_at else None})
        state = definition_of(instance).states.get(instance.state)
        if state is not None and state.actor in ("library", "dpk"):
            _notify(instance, row, state.actor, now)
        sent += 1
    db.session.flush()
    return sent


def close_run(*, actor: Actor, instance_id: int, reason: str, now: datetime | None = None) -> Instance:
    """Stop a run before its end (the library withdrew, or it was started by mistake); the DPK only."""
    text = reason.strip()
    if not text:
        raise ValidationFailed(_l("Say why the workflow is closed."), field="reason")
    now = now or utcnow()
    instance = _locked_for_change(actor, instance_id, None)
    require_library(actor, "workflows.manage", None)
    instance.closed_at = now
    instance.revision += 1
    _timeline(instance, actor, "closed", now, to_state=instance.state, comment=text[:4000])
    audit.record(actor, "workflows.closed", object_type="wf_instance", object_id=instance.id,
                 library_id=instance.library_id, details={"state": instance.state}, now=now)
    db.session.flush()
    return instance


def waiting_for(actor: Actor, now: datetime) -> list[Any]:
    """Staff home: the workflow steps waiting for this actor (the DPK's steps, or the own library's)."""
    from ils.services.overview import Attention

    if not allowed(actor, "workflows.act", actor.library_id):
        return []
    mine = "dpk" if actor.network_wide else "library"
    stmt = select(Instance).where(Instance.closed_at.is_(None))
    if not actor.network_wide:
        stmt = stmt.where(Instance.library_id == actor.library_id)
    waiting = overdue = 0
    for instance in db.session.scalars(stmt):
        state = definition_of(instance).states.get(instance.state)
        if state is None or state.actor != mine:
            continue
        waiting += 1
        overdue += 1 if instance.due_at is not None and instance.due_at < now else 0
    if not waiting:
        return []
    text = (_l("%(count)d workflow steps wait for you, %(late)d of them overdue.", count=waiting, late=overdue)
            if overdue else _l("%(count)d workflow steps wait for you.", count=waiting))
    return [Attention("warning" if overdue else "info", str(text), "workflows.dashboard")]
