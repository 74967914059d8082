"""Read models for the staff home page and the audit log."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select

from ils.authz import Actor, can, require, require_listing, visible_library_ids
from ils.extensions import db
from ils.models import AuditEvent, JobRecord, JobStatus, Library, LibraryType, StaffUser
from ils.services import page_of

PAGE_SIZE = 50


@dataclass(frozen=True)
class Attention:
    """One thing on the staff home page that someone should look at."""

    level: str  # "danger", "warning" or "info"
    text: str
    endpoint: str | None = None
    library_id: int | None = None


# Domains add providers here in their init_app: fn(actor, now) -> [Attention, ...].
ATTENTION_PROVIDERS: list[Callable[[Actor, datetime], list[Attention]]] = []


def attention_items(*, actor: Actor, now: datetime) -> list[Attention]:
    """What needs attention in the actor's library (or the whole network for admin/DPK)."""
    items: list[Attention] = []
    for provider in ATTENTION_PROVIDERS:
        items.extend(provider(actor, now))
    ids = visible_library_ids(actor)
    libraries_stmt = select(Library).where(Library.active.is_(True), Library.type != LibraryType.INDUK)
    if ids is not None:
        libraries_stmt = libraries_stmt.where(Library.id.in_(ids))
    for library in db.session.scalars(libraries_stmt.order_by(Library.name)):
        if library.weekly_open_minutes == 0:
            items.append(Attention("warning", str(_l("%(name)s has no opening hours yet.", name=library.name)),
                                   "ils.library_edit", library.id))
        if not library.phone and not library.email:
            items.append(Attention("info", str(_l("%(name)s has no contact details.", name=library.name)),
                                   "ils.library_edit", library.id))
        if not library.npp:
            items.append(Attention("info", str(_l("%(name)s has no NPP (Perpusnas library number) yet.",
                                                  name=library.name)), "ils.library_edit", library.id))
    if can(actor, "jobs.view", actor.library_id) or actor.network_wide:
        failed = select(func.count()).select_from(JobRecord).where(
            JobRecord.status == JobStatus.FAILED, JobRecord.created_at >= now - timedelta(days=7))
        if ids is not None:
            failed = failed.where(JobRecord.library_id.in_(ids))
        count = db.session.scalar(failed) or 0
        if count:
            items.append(Attention("danger", str(lazy_ngettext("%(num)s background job failed in the last 7 days.",
                                                             "%(num)s background jobs failed in the last 7 days.",
                                                             count)), "ils.jobs_list"))
    if can(actor, "audit.view", actor.library_id) or actor.network_wide:
        failed_logins = select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login.failed", AuditEvent.at >= now - timedelta(days=1))
        if ids is not None:
            failed_logins = failed_logins.where(AuditEvent.library_id.in_(ids))
        count = db.session.scalar(failed_logins) or 0
        if count >= 5:
            items.append(Attention("warning", str(lazy_ngettext("%(num)s failed login in the last 24 hours.",
                                                             "%(num)s failed logins in the last 24 hours.", count)),
                                   "ils.audit_list"))
    if can(actor, "staff.view", actor.library_id) or actor.network_wide:
        locked = select(func.count()).select_from(StaffUser).where(StaffUser.locked_until > now)
        if ids is not None:
            locked = locked.where(StaffUser.library_id.in_(ids))
        count = db.session.scalar(locked) or 0
        if count:
            items.append(Attention("warning", str(lazy_ngettext("%(num)s staff account is locked after failed logins.",
                                                             "%(num)s staff accounts are locked after failed logins.",
                                                             count)), "ils.staff_list"))
    return items


def list_audit(*, actor: Actor, page: int = 1, action: str | None = None,
               library_id: int | None = None) -> tuple[list[AuditEvent], int]:
    """Audit events the actor may read, newest first, with the total count."""
    ids = require_listing(actor, "audit.view")
    stmt = select(AuditEvent)
    if ids is not None:
        stmt = stmt.where(AuditEvent.library_id.in_(ids))
    if library_id is not None:
        require(actor, "audit.view", library_id)
        stmt = stmt.where(AuditEvent.library_id == library_id)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    return page_of(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), page=page, page_size=PAGE_SIZE)
