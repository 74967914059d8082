"""Transformation goals: create and edit them, read their figure from the metrics registry (or a
value entered by hand), judge their progress, and keep a nightly history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ils import audit, metrics
from ils.authz import Actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from workflows.goals import Progress, progress
from workflows.models import Goal, GoalSnapshot
from workflows.services.access import require_library, visible_libraries

MANUAL = "manual"
# Indicators a goal can follow, with the words the screens use (the registry's own descriptions
# are English notes for developers).
INDICATORS: dict[str, Any] = {
    "circulation.visits": _l("Visits"),
    "circulation.active_members": _l("Active members"),
    "circulation.new_members": _l("New members"),
    "circulation.pupil_members": _l("Members among school pupils"),
    "circulation.loans": _l("Loans"),
    "circulation.in_house_use": _l("Items read in the library"),
    "catalog.titles": _l("Titles held"),
    "catalog.copies": _l("Copies held"),
    "workflows.titles_per_resident": _l("Titles per resident"),
    "workflows.activities": _l("Activities held"),
    "workflows.participants": _l("Activity participants"),
    "workflows.trained_staff": _l("Trained library staff"),
    MANUAL: _l("Entered by hand"),
}
PERIODS: dict[str, Any] = {
    "year": _l("This calendar year so far"),
    "rolling": _l("The last 12 months"),
    "level": _l("The standing figure on the day"),
}
THEMES: dict[str, Any] = {
    "transformasi": _l("Library transformation"),
    "sdm": _l("Staff development"),
    "akreditasi": _l("Accreditation"),
    "koleksi": _l("Collection"),
    "keanggotaan": _l("Membership"),
    "literasi": _l("Literacy and inclusion"),
    "lainnya": _l("Other"),
}


@dataclass(frozen=True)
class GoalInput:
    """A goal's fields as the form or the API sends them."""

    title: str
    indicator: str
    baseline: float
    baseline_on: date
    target: float
    deadline: date
    owner: str
    period: str = "level"
    unit: str = ""
    description: str = ""
    theme: str = "lainnya"
    source: str = ""
    at_risk_margin: float = 0.1


def _clean(data: GoalInput) -> dict[str, Any]:
    title = data.title.strip()
    if not title:
        raise ValidationFailed(_l("Give the goal a title."), field="title")
    if data.indicator not in INDICATORS or (data.indicator != MANUAL and data.indicator not in metrics.REGISTRY):
        raise ValidationFailed(_l("Choose an indicator from the list."), field="indicator")
    if data.period not in PERIODS:
        raise ValidationFailed(_l("Choose how the figure is counted."), field="period")
    if data.theme not in THEMES:
        raise ValidationFailed(_l("Choose a theme."), field="theme")
    if data.deadline <= data.baseline_on:
        raise ValidationFailed(_l("The deadline must come after the baseline date."), field="deadline")
    if not data.owner.strip():
        raise ValidationFailed(_l("Name who is responsible for the goal."), field="owner")
    if not 0 <= data.at_risk_margin <= 1:
        raise ValidationFailed(_l("The margin is a share between 0 and 1 (0,1 = 10 %)."), field="at_risk_margin")
    return {"title": title[:300], "indicator": data.indicator, "period": data.period, "unit": data.unit.strip()[:32],
            "baseline": float(data.baseline), "baseline_on": data.baseline_on, "target": float(data.target),
            "deadline": data.deadline, "owner": data.owner.strip()[:200], "description": data.description.strip(),
            "theme": data.theme, "source": data.source.strip()[:300], "at_risk_margin": float(data.at_risk_margin)}


def _require_owner_scope(actor: Actor, library_id: int | None) -> None:
    # City goals belong to the DPK; a library manages its own.
    require_library(actor, "workflows.manage" if library_id is None else "workflows.goals", library_id)


def create_goal(*, actor: Actor, library_id: int | None, data: GoalInput, now: datetime | None = None) -> Goal:
    """Create a goal for the city (library_id None) or one library."""
    _require_owner_scope(actor, library_id)
    if library_id is not None and db.session.get(Library, library_id) is None:
        raise NotFound()
    goal = Goal(library_id=library_id, **_clean(data))
    db.session.add(goal)
    db.session.flush()
    audit.record(actor, "workflows.goal_created", object_type="wf_goal", object_id=goal.id, library_id=library_id,
                 details={"title": goal.title, "indicator": goal.indicator, "target": goal.target}, now=now)
    return goal


def update_goal(*, actor: Actor, goal_id: int, data: GoalInput, now: datetime | None = None) -> Goal:
    """Change a goal's definition (its history stays)."""
    goal = get_goal(actor=actor, goal_id=goal_id)
    _require_owner_scope(actor, goal.library_id)
    clean = _clean(data)
    before = {key: getattr(goal, key) for key in clean}
    for key, value in clean.items():
        setattr(goal, key, value)
    db.session.flush()
    audit.record(actor, "workflows.goal_updated", object_type="wf_goal", object_id=goal.id,
                 library_id=goal.library_id, details={"changed": audit.diff(before, clean)}, now=now)
    return goal


def archive_goal(*, actor: Actor, goal_id: int, archived: bool = True, now: datetime | None = None) -> Goal:
    """Hide a goal from the lists (or bring it back); nothing is deleted."""
    goal = get_goal(actor=actor, goal_id=goal_id)
    _require_owner_scope(actor, goal.library_id)
    goal.archived = archived
    audit.record(actor, "workflows.goal_archived" if archived else "workflows.goal_restored",
                 object_type="wf_goal", object_id=goal.id, library_id=goal.library_id, now=now)
    return goal


def get_goal(*, actor: Actor, goal_id: int) -> Goal:
    """One goal the actor may see (city goals are visible to every workflows user)."""
    goal = db.session.get(Goal, goal_id)
    if goal is None:
        raise NotFound()
    if goal.library_id is not None:
        require_library(actor, "workflows.view", goal.library_id)
    if goal.library_id is None:
        require_library(actor, "workflows.view", actor.library_id)
    return goal


def list_goals(*, actor: Actor, library_id: int | None = None, include_city: bool = True,
               include_archived: bool = False) -> list[Goal]:
    """Goals the actor may see: city goals and those of visible libraries."""
    visible = visible_libraries(actor)
    stmt = select(Goal).order_by(Goal.deadline, Goal.id)
    if not include_archived:
        stmt = stmt.where(Goal.archived.is_(False))
    goals = list(db.session.scalars(stmt))
    out = []
    for goal in goals:
        if goal.library_id is None:
            if include_city and library_id is None:
                out.append(goal)
        elif (visible is None or goal.library_id in visible) and library_id in (None, goal.library_id):
            out.append(goal)
    return out


def figure_on(goal: Goal, day: date) -> float | None:
    """The goal's figure on ``day``: from its metric, or the last value entered by hand."""
    if goal.indicator == MANUAL:
        return db.session.scalar(select(GoalSnapshot.value).where(GoalSnapshot.goal_id == goal.id,
                                                                  GoalSnapshot.taken_on <= day)
                                 .order_by(GoalSnapshot.taken_on.desc()).limit(1))
    start: date | None = None
    if goal.period == "year":
        start = date(day.year, 1, 1)
    elif goal.period == "rolling":
        start = day - timedelta(days=364)
    return metrics.value(goal.indicator, library_id=goal.library_id, start=start, end=day)


def progress_of(goal: Goal, today: date) -> Progress:
    """The goal's progress today."""
    return progress(baseline=goal.baseline, target=goal.target, baseline_on=goal.baseline_on,
                    deadline=goal.deadline, value=figure_on(goal, today), today=today, margin=goal.at_risk_margin)


def history(goal: Goal) -> list[GoalSnapshot]:
    """Every recorded figure of the goal, oldest first."""
    return list(db.session.scalars(select(GoalSnapshot).where(GoalSnapshot.goal_id == goal.id)
                                   .order_by(GoalSnapshot.taken_on)))


def record_value(*, actor: Actor, goal_id: int, value: float, taken_on: date, note: str = "",
                 now: datetime | None = None) -> GoalSnapshot:
    """Enter the figure of a manual goal for a day (a second entry for the day replaces the first)."""
    goal = get_goal(actor=actor, goal_id=goal_id)
    _require_owner_scope(actor, goal.library_id)
    if goal.indicator != MANUAL:
        raise ValidationFailed(_l("This goal is measured from live data; its figure cannot be typed in."),
                               field="value")
    return _upsert(goal, taken_on, float(value), source="manual", note=note.strip()[:300], by=actor.label, now=now)


def _upsert(goal: Goal, day: date, value: float, *, source: str, note: str, by: str,
            now: datetime | None) -> GoalSnapshot:
    row = db.session.scalar(select(GoalSnapshot).where(GoalSnapshot.goal_id == goal.id, GoalSnapshot.taken_on == day))
    if row is None:
        row = GoalSnapshot(goal_id=goal.id, taken_on=day)
        db.session.add(row)
    row.value, row.source, row.note, row.recorded_by, row.recorded_at = value, source, note, by, now or utcnow()
    db.session.flush()
    return row


def snapshot_all(*, today: date, now: datetime | None = None) -> int:
    """The nightly job's work: store today's figure of every open metric goal (rerunning replaces it)."""
    count = 0
    for goal in db.session.scalars(select(Goal).where(Goal.archived.is_(False), Goal.indicator != MANUAL)):
        value = figure_on(goal, today)
        if value is not None:
            _upsert(goal, today, value, source="metric", note="", by="system", now=now)
            count += 1
    return count
