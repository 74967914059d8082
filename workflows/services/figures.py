"""The figures a library's accreditation, SNP gaps and goals are measured by.

Live figures come from the other domains through ``ils.metrics`` (workflows imports neither
catalog nor circulation); facts the ILS cannot measure (floor area, staff, budget, study groups)
are entered by the library and kept in ``wf_library_fact``. Every figure is a plain number keyed
by a stable name, so the pure instrument, SNP and IPLM modules never touch the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ils import audit, metrics
from ils.authz import Actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from workflows.models import Activity, LibraryFact
from workflows.services.access import require_library

# Average weeks a year: turns "open days per week" into open days over twelve months.
WEEKS_PER_YEAR = 365 / 7


@dataclass(frozen=True)
class Fact:
    """A figure a library enters by hand."""

    key: str
    label: Any
    unit: Any
    integer: bool = True


FACTS: tuple[Fact, ...] = (
    Fact("floor_area_m2", _l("Floor area of the library"), _l("m²"), integer=False),
    Fact("staff_total", _l("Library staff (librarians and technical staff)"), _l("people")),
    Fact("staff_trained", _l("Staff with library training (diklat or bimtek)"), _l("people")),
    Fact("budget_collection_rp", _l("Collection budget this year"), _l("rupiah")),
    Fact("rombel", _l("Study groups (rombel), schools only"), _l("groups")),
    Fact("students", _l("Pupils or students served"), _l("people")),
    Fact("population_served", _l("Residents of the area served"), _l("people")),
    Fact("ebook_titles", _l("E-book titles available to members"), _l("titles")),
)
FACT_KEYS = {fact.key: fact for fact in FACTS}


def last_year(today: date) -> tuple[date, date]:
    """The twelve months ending today (both ends inclusive)."""
    return today - timedelta(days=364), today


def open_days_per_week(library: Library) -> int:
    """Weekdays with at least one opening interval."""
    return sum(1 for intervals in (library.opening_hours or {}).values() if intervals)


def facts_of(library_id: int) -> dict[str, float]:
    """Entered facts of one library, by key."""
    rows = db.session.execute(select(LibraryFact.key, LibraryFact.value).where(LibraryFact.library_id == library_id))
    return {key: value for key, value in rows}


def fact_rows(library_id: int) -> dict[str, LibraryFact]:
    """Entered fact rows of one library (who entered them and when), by key."""
    return {row.key: row for row in db.session.scalars(select(LibraryFact).where(LibraryFact.library_id == library_id))}


def activity_totals(library_id: int | None, start: date | None, end: date | None) -> tuple[int, int]:
    """Activities held and their participants in a period (None library: the whole city)."""
    stmt = select(func.count(Activity.id),
                  func.coalesce(func.sum(Activity.participants_male + Activity.participants_female), 0))
    if library_id is not None:
        stmt = stmt.where(Activity.library_id == library_id)
    if start is not None:
        stmt = stmt.where(Activity.held_on >= start)
    if end is not None:
        stmt = stmt.where(Activity.held_on <= end)
    count, people = db.session.execute(stmt).one()
    return int(count or 0), int(people or 0)


def activity_totals_by_library(library_ids: list[int], start: date | None,
                               end: date | None) -> dict[int, tuple[int, int]]:
    """Activities and participants per library in a period (libraries without any are left out)."""
    stmt = (select(Activity.library_id, func.count(Activity.id),
                   func.coalesce(func.sum(Activity.participants_male + Activity.participants_female), 0))
            .where(Activity.library_id.in_(library_ids)).group_by(Activity.library_id))
    if start is not None:
        stmt = stmt.where(Activity.held_on >= start)
    if end is not None:
        stmt = stmt.where(Activity.held_on <= end)
    return {library_id: (int(count), int(people)) for library_id, count, people in db.session.execute(stmt)}


def library_figures(library: Library, *, today: date) -> dict[str, float | None]:
    """Every figure of one library as of ``today`` (None: unknown, e.g. a fact not entered)."""
    return figures_of_libraries([library], today=today)[library.id]


def figures_of_libraries(libraries: list[Library], *, today: date) -> dict[int, dict[str, float | None]]:
    """Every figure of several libraries as of ``today``, one query per figure for all of them."""
    start, end = last_year(today)
    ids = [library.id for library in libraries]

    def each(name: str, since: date | None = None) -> dict[int, float]:
        return metrics.values(name, library_ids=ids, start=since, end=end)

    titles, copies, share = each("catalog.titles"), each("catalog.copies"), each("catalog.titles.recent_share")
    visits, loans = each("circulation.visits", start), each("circulation.loans", start)
    members, new = each("circulation.active_members"), each("circulation.new_members", start)
    held = activity_totals_by_library(ids, start, end)
    entered: dict[int, dict[str, float]] = {i: {} for i in ids}
    for library_id, key, value in db.session.execute(select(LibraryFact.library_id, LibraryFact.key, LibraryFact.value)
                                                      .where(LibraryFact.library_id.in_(ids))):
        entered[library_id][key] = value
    out: dict[int, dict[str, float | None]] = {}
    for library in libraries:
        i = library.id
        days = open_days_per_week(library)
        open_days = days * WEEKS_PER_YEAR
        activities, participants = held.get(i, (0, 0))
        figures: dict[str, float | None] = {
            "catalog.titles": titles[i],
            "catalog.copies": copies[i],
            # The catalog metric is a percentage; figures are fractions (0.1 = 10 %).
            "catalog.titles.recent_share": share[i] / 100.0,
            "circulation.visits_per_open_day": round(visits[i] / open_days, 2) if open_days else None,
            "circulation.loans_last_year": loans[i],
            "circulation.active_members": members[i],
            "circulation.new_members_last_year": new[i],
            "library.open_days_per_week": float(days),
            "library.open_hours_per_day": round(library.weekly_open_minutes / 60 / days, 2) if days else 0.0,
            "workflows.activities_last_year": float(activities),
            "workflows.participants_last_year": float(participants),
        }
        for fact in FACTS:
            figures[f"fact.{fact.key}"] = entered[i].get(fact.key)
        out[i] = figures
    return out


def set_facts(*, actor: Actor, library_id: int, values: dict[str, Any], now: datetime | None = None) -> list[str]:
    """Store entered facts (blank removes one); returns the keys that changed."""
    require_library(actor, "workflows.act", library_id)
    if db.session.get(Library, library_id) is None:
        raise NotFound()
    now = now or utcnow()
    rows = fact_rows(library_id)
    changed: dict[str, list[Any]] = {}
    for key, raw in values.items():
        fact = FACT_KEYS.get(key)
        if fact is None:
            raise ValidationFailed(_l("Unknown figure: %(key)s", key=key), field=key)
        text = str(raw if raw is not None else "").strip().replace(" ", "")
        row = rows.get(key)
        if not text:
            if row is not None:
                changed[key] = [row.value, None]
                db.session.delete(row)
            continue
        value = _number(text, fact)
        if row is None:
            db.session.add(LibraryFact(library_id=library_id, key=key, value=value, updated_at=now,
                                       updated_by=actor.label))
            changed[key] = [None, value]
        elif row.value != value:
            changed[key] = [row.value, value]
            row.value, row.updated_at, row.updated_by = value, now, actor.label
    if changed:
        db.session.flush()
        audit.record(actor, "workflows.facts_updated", object_type="library", object_id=library_id,
                     library_id=library_id, details={"changed": changed}, now=now)
    return sorted(changed)


def _number(text: str, fact: Fact) -> float:
    """Parse a number typed the Indonesian way (1.234,5) or plainly (1234.5)."""
    cleaned = text
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif fact.integer and cleaned.count(".") >= 1 and all(len(p) == 3 for p in cleaned.split(".")[1:]):
        cleaned = cleaned.replace(".", "")  # 1.250 people is one thousand two hundred and fifty
    try:
        value = float(cleaned)
    except ValueError:
        raise ValidationFailed(_l("%(label)s must be a number.", label=fact.label), field=fact.key) from None
    if value < 0 or value != value or value in (float("inf"),):
        raise ValidationFailed(_l("%(label)s cannot be negative.", label=fact.label), field=fact.key)
    if fact.integer and value != int(value):
        raise ValidationFailed(_l("%(label)s must be a whole number.", label=fact.label), field=fact.key)
    return value
