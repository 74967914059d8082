"""IPLM for the city per year: the seven UPLM numerators from live data, population figures the
DPK enters, and the year's constants from the IPLM settings document."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ils import audit, metrics
from ils.authz import Actor
from ils.errors import ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library, LibraryType
from workflows import iplm
from workflows.models import DocumentKind, LibraryFact, PopulationFigure
from workflows.services import documents
from workflows.services.access import require_library
from workflows.services.accreditation import snp_gaps
from workflows.services.figures import figures_of_libraries, open_days_per_week

POPULATION_FIELDS = ("residents", "pupils", "students", "employees")


@dataclass(frozen=True)
class IplmYear:
    """One year's IPLM: the settings used, the numerators, the elements and (when complete) the index."""

    year: int
    period: tuple[date, date]
    settings: iplm.IplmSettings
    numerators: dict[int, float | None]
    population: dict[str, float | None]
    elements: dict[int, iplm.Element]
    index: float | None
    band: iplm.Band | None


def settings() -> dict[int, iplm.IplmSettings]:
    """The current IPLM settings document, by year."""
    return documents.parse(documents.current(DocumentKind.IPLM, DocumentKind.IPLM.value))


def population_of(year: int) -> PopulationFigure | None:
    """The population figures entered for a year."""
    return db.session.get(PopulationFigure, year)


def set_population(*, actor: Actor, year: int, values: dict[str, Any], source: str = "",
                   now: datetime | None = None) -> PopulationFigure:
    """Enter or correct the population figures of a year (DPK)."""
    require_library(actor, "workflows.manage", None)
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_l("Enter a year between 2000 and 2100."), field="year")
    clean: dict[str, int | None] = {}
    for key in POPULATION_FIELDS:
        raw = values.get(key)
        if raw in (None, ""):
            clean[key] = None
            continue
        try:
            number = int(str(raw).replace(".", "").replace(" ", ""))
        except ValueError:
            raise ValidationFailed(_l("Enter a whole number."), field=key) from None
        if number <= 0:
            raise ValidationFailed(_l("Enter a number above zero."), field=key)
        clean[key] = number
    row = db.session.get(PopulationFigure, year)
    before = {k: getattr(row, k) for k in POPULATION_FIELDS} if row else {}
    if row is None:
        row = PopulationFigure(year=year, updated_by=actor.label)
        db.session.add(row)
    for key, value in clean.items():
        setattr(row, key, value)
    row.source, row.updated_at, row.updated_by = source.strip()[:300], now or utcnow(), actor.label
    db.session.flush()
    audit.record(actor, "workflows.population_set", object_type="wf_population", object_id=year,
                 details={"changed": audit.diff(before, clean)}, now=now)
    return row


def _libraries() -> list[Library]:
    return list(db.session.scalars(select(Library).where(Library.active.is_(True), Library.type != LibraryType.INDUK)
                                   .order_by(Library.id)))


def daily_visits(libraries: list[Library], start: date, end: date) -> float:
    """The city's average visits per open day: each library's visits over its open days, summed."""
    days = (end - start).days + 1
    visits = metrics.values("circulation.visits", library_ids=[lib.id for lib in libraries], start=start, end=end)
    total = 0.0
    for library in libraries:
        per_week = open_days_per_week(library)
        if per_week:
            total += visits[library.id] / (per_week * days / 7)
    return round(total, 2)


def numerators(year: int, *, today: date) -> dict[str, float | None]:
    """The seven UPLM numerators of the city for a year (up to today for the current year)."""
    start, end = date(year, 1, 1), min(date(year, 12, 31), today)
    libraries = _libraries()
    staff_rows = db.session.execute(select(func.count(), func.coalesce(func.sum(LibraryFact.value), 0))
                                    .where(LibraryFact.key == "staff_total")).one()
    figures = figures_of_libraries(libraries, today=end)
    meeting = 0
    for library in libraries:
        gaps = snp_gaps(library, today=end, figures=figures[library.id])
        if gaps and all(gap.met is True for gap in gaps):
            meeting += 1
    return {
        "iplm.libraries": float(len(libraries)),
        "iplm.collection_copies": metrics.value("catalog.copies", end=end),
        # Staff is an entered figure: unknown until at least one library has entered it.
        "iplm.staff": float(staff_rows[1]) if staff_rows[0] else None,
        "iplm.daily_visits": daily_visits(libraries, start, end),
        "iplm.libraries_snp": float(meeting),
        "iplm.participants": metrics.value("workflows.participants", start=start, end=end),
        "iplm.members": metrics.value("circulation.active_members", end=end),
    }


def compute(year: int, *, today: date) -> IplmYear:
    """IPLM of a year from live data, the entered population and the year's settings."""
    chosen = iplm.settings_for(settings(), year)
    figures = numerators(year, today=today)
    by_element = {s.number: figures.get(s.numerator) for s in chosen.elements}
    row = population_of(year)
    population = {key: (float(getattr(row, key)) if row and getattr(row, key) else None) for key in POPULATION_FIELDS}
    elements = iplm.elements(by_element, population, chosen)
    values = {n: e.value for n, e in elements.items()}
    value = iplm.index(values) if all(v is not None for v in values.values()) else None  # type: ignore[arg-type]
    return IplmYear(year=year, period=(date(year, 1, 1), min(date(year, 12, 31), today)), settings=chosen,
                    numerators=figures, population=population, elements=elements, index=value,
                    band=iplm.band(value, chosen) if value is not None else None)
