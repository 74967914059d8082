"""Literacy and social-inclusion activities (kegiatan): recorded per library, counted for IPLM.

Participants are counts by gender and age group, never names: the DPK reports how many people
took part (UPLM 6), and a list of names would be personal data nobody needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ils import audit
from ils.authz import Actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from workflows.models import Activity
from workflows.services.access import require_any, require_library, visible_for_any

KINDS: dict[str, Any] = {
    "literasi": _l("Literacy class or reading session"),
    "dongeng": _l("Storytelling"),
    "bedah_buku": _l("Book discussion or author talk"),
    "pelatihan": _l("Skills training for the community (TPBIS)"),
    "bimtek": _l("Technical guidance for library staff (bimtek)"),
    "lomba": _l("Competition"),
    "pameran": _l("Exhibition or book fair"),
    "sosialisasi": _l("Promotion or outreach (sosialisasi)"),
    "kunjungan": _l("Class or group visit to the library"),
    "lainnya": _l("Other activity"),
}
AGE_GROUPS: dict[str, Any] = {
    "anak": _l("Children (0-12)"),
    "remaja": _l("Teenagers (13-17)"),
    "dewasa": _l("Adults (18-59)"),
    "lansia": _l("Older people (60+)"),
}
PARTNER_KINDS: dict[str, Any] = {
    "csr": _l("Company (CSR)"),
    "sekolah": _l("School"),
    "pemerintah": _l("Government office"),
    "komunitas": _l("Community group"),
    "lainnya": _l("Other partner"),
}
# Desk staff record activities; assessors and the DPK read them.
SEE = ("workflows.activities", "workflows.view")
# An activity is never larger than this: a typo (an extra zero or two) must not swell IPLM.
MAX_PARTICIPANTS = 100_000


@dataclass(frozen=True)
class ActivityInput:
    """The fields of an activity as a form or the API sends them."""

    held_on: date
    kind: str
    title: str
    description: str = ""
    tpbis: bool = False
    participants_male: int = 0
    participants_female: int = 0
    age_groups: dict[str, int] | None = None
    partners: list[dict[str, str]] | None = None
    outcomes: str = ""


def _clean(data: ActivityInput, today: date) -> dict[str, Any]:
    if data.kind not in KINDS:
        raise ValidationFailed(_l("Choose the kind of activity."), field="kind")
    title = data.title.strip()
    if not title:
        raise ValidationFailed(_l("Give the activity a title."), field="title")
    if data.held_on > today:
        raise ValidationFailed(_l("An activity is recorded after it took place; the date is in the future."),
                               field="held_on")
    male, female = int(data.participants_male), int(data.participants_female)
    if male < 0 or female < 0:
        raise ValidationFailed(_l("Participant counts cannot be negative."), field="participants_male")
    if male + female > MAX_PARTICIPANTS:
        raise ValidationFailed(_l("More than %(max)d participants: check the counts.", max=MAX_PARTICIPANTS),
                               field="participants_male")
    ages = {k: int(v) for k, v in (data.age_groups or {}).items() if v not in (None, "", 0, "0")}
    unknown = set(ages) - set(AGE_GROUPS)
    if unknown:
        raise ValidationFailed(_l("Unknown age group: %(group)s", group=", ".join(sorted(unknown))), field="age_groups")
    if any(v < 0 for v in ages.values()):
        raise ValidationFailed(_l("Participant counts cannot be negative."), field="age_groups")
    if ages and sum(ages.values()) != male + female:
        raise ValidationFailed(_l("The age groups add up to %(ages)d but there are %(total)d participants.",
                                  ages=sum(ages.values()), total=male + female), field="age_groups")
    partners = []
    for partner in data.partners or []:
        name = str(partner.get("name", "")).strip()
        if not name:
            continue
        kind = str(partner.get("kind") or "lainnya")
        if kind not in PARTNER_KINDS:
            raise ValidationFailed(_l("Unknown kind of partner: %(kind)s", kind=kind), field="partners")
        partners.append({"name": name[:200], "kind": kind})
    return {"held_on": data.held_on, "kind": data.kind, "title": title[:300], "description": data.description.strip(),
            "tpbis": bool(data.tpbis), "participants_male": male, "participants_female": female,
            "age_groups": ages, "partners": partners, "outcomes": data.outcomes.strip()}


def record_activity(*, actor: Actor, library_id: int, data: ActivityInput, today: date,
                    now: datetime | None = None) -> Activity:
    """Record an activity a library held."""
    require_library(actor, "workflows.activities", library_id)
    if db.session.get(Library, library_id) is None:
        raise NotFound()
    clean = _clean(data, today)
    activity = Activity(library_id=library_id, created_at=now or utcnow(), created_by=actor.label, **clean)
    db.session.add(activity)
    db.session.flush()
    audit.record(actor, "workflows.activity_recorded", object_type="wf_activity", object_id=activity.id,
                 library_id=library_id, details={"kind": activity.kind, "held_on": activity.held_on.isoformat(),
                                                 "participants": activity.participants}, now=now)
    return activity


def update_activity(*, actor: Actor, activity_id: int, data: ActivityInput, today: date,
                    now: datetime | None = None) -> Activity:
    """Correct a recorded activity."""
    activity = get_activity(actor=actor, activity_id=activity_id)
    require_library(actor, "workflows.activities", activity.library_id)
    clean = _clean(data, today)
    before = {k: getattr(activity, k) for k in clean}
    for key, value in clean.items():
        setattr(activity, key, value)
    db.session.flush()
    audit.record(actor, "workflows.activity_updated", object_type="wf_activity", object_id=activity.id,
                 library_id=activity.library_id, details={"changed": audit.diff(before, clean)}, now=now)
    return activity


def delete_activity(*, actor: Actor, activity_id: int, now: datetime | None = None) -> None:
    """Remove an activity recorded by mistake."""
    activity = get_activity(actor=actor, activity_id=activity_id)
    require_library(actor, "workflows.activities", activity.library_id)
    audit.record(actor, "workflows.activity_deleted", object_type="wf_activity", object_id=activity.id,
                 library_id=activity.library_id, details={"title": activity.title, "held_on": activity.held_on.isoformat()},
                 now=now)
    db.session.delete(activity)
    db.session.flush()


def get_activity(*, actor: Actor, activity_id: int) -> Activity:
    """One activity the actor may see."""
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise NotFound()
    require_any(actor, SEE, activity.library_id)
    return activity


def list_activities(*, actor: Actor, library_id: int | None = None, start: date | None = None,
                    end: date | None = None, tpbis: bool | None = None, limit: int = 500) -> list[Activity]:
    """Activities the actor may see, newest first, optionally filtered."""
    visible = visible_for_any(actor, SEE)
    stmt = select(Activity).order_by(Activity.held_on.desc(), Activity.id.desc()).limit(limit)
    if visible is not None:
        stmt = stmt.where(Activity.library_id.in_(visible))
    if library_id is not None:
        stmt = stmt.where(Activity.library_id == library_id)
    if start is not None:
        stmt = stmt.where(Activity.held_on >= start)
    if end is not None:
        stmt = stmt.where(Activity.held_on <= end)
    if tpbis is not None:
        stmt = stmt.where(Activity.tpbis.is_(tpbis))
    return list(db.session.scalars(stmt))
