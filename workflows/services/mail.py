"""E-mail to the staff a workflow step waits for: when a step that notifies is entered, and when a
reminder comes due.

A step's ``notify: library`` goes to the library's staff who may act on its workflows, ``notify:
dpk`` to the DPK accounts; a reminder goes to whoever the current step waits for. Each person gets
the text in their own language, and one message per event (the dedupe key names the timeline
event), so a rerun of the reminders job or a retried request never mails twice. Accounts without
an e-mail address get the step on their home page only.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import select

from ils.authz import can
from ils.extensions import db
from ils.models import Library, Role, StaffUser
from ils.services import staff_mail
from ils.services.staff import actor_for
from workflows.models import Instance, InstanceEvent
from workflows.services.instances import definition_of


def recipients(instance: Instance, to: str) -> list[StaffUser]:
    """Active accounts with an e-mail address that the step's party consists of ("library" or "dpk")."""
    stmt = select(StaffUser).where(StaffUser.active.is_(True), StaffUser.email.is_not(None), StaffUser.email != "")
    if to == "dpk":
        users = db.session.scalars(stmt.where(StaffUser.role == Role.DPK).order_by(StaffUser.id))
    else:
        users = db.session.scalars(stmt.where(StaffUser.library_id == instance.library_id).order_by(StaffUser.id))
    return [u for u in users if to == "dpk" or can(actor_for(u), "workflows.act", instance.library_id)]


def _due_text(instance: Instance, library: Library) -> str:
    if instance.due_at is None:
        return _("No due date.")
    local = instance.due_at.astimezone(ZoneInfo(library.timezone or "Asia/Makassar")).date()
    return _("Due by %(date)s.", date=format_date(local, "long"))


def _where(instance: Instance) -> str:
    base = (current_app.config.get("ILS_PUBLIC_URL") or "").rstrip("/")
    if base:
        return _("Open it here: %(url)s", url=f"{base}/workflows/runs/{instance.id}")
    return _("Open it in the system under Accreditation and goals.")


def _compose(user: StaffUser, instance: Instance, library: Library, kind: str) -> tuple[str, str]:
    """Subject and text for one person, in their language."""
    definition = definition_of(instance)
    state = definition.states[instance.state]
    with force_locale(user.locale or "id"):
        names = {"library": library.name, "workflow": str(definition.title), "step": str(state.title)}
        if kind == "reminder":
            subject = _("Reminder: %(library)s, %(workflow)s: \"%(step)s\"", **names)
            lead = _("A reminder: the step \"%(step)s\" of %(workflow)s for %(library)s waits for you.", **names)
        else:
            subject = _("%(library)s, %(workflow)s: \"%(step)s\" waits for you", **names)
            lead = _("The step \"%(step)s\" of %(workflow)s for %(library)s now waits for you.", **names)
        greeting = _("Dear %(name)s,", name=user.full_name)
        footer = _("This message was sent automatically by the library system; you receive it because your "
                   "account acts on this step.")
        body = "\n\n".join([greeting, lead, _due_text(instance, library), _where(instance), footer]) + "\n"
    return subject, body


def mail_event(instance: Instance, event: InstanceEvent, *, to: str, now: datetime) -> int:
    """Queue the e-mails of one timeline event (a notify or a reminder) for the party ``to``; how many."""
    library = db.session.get(Library, instance.library_id)
    if library is None or event.id is None:
        return 0
    kind = "reminder" if event.kind == "reminder" else "step"
    queued = 0
    for user in recipients(instance, to):
        subject, body = _compose(user, instance, library, kind)
        queued += staff_mail.queue(user=user, key=f"wf:{event.id}:{user.id}", topic=f"workflows.{kind}",
                                   subject=subject, body=body, now=now)
    return queued
