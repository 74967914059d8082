"""Workflows figures in the ils.metrics registry: activities, participants, trained staff, titles
per resident (the goals and IPLM read them by name like those of the other domains)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ils import metrics
from ils.extensions import db
from workflows.models import LibraryFact, PopulationFigure
from workflows.services.figures import activity_totals, activity_totals_by_library


@metrics.register("workflows.activities", description="Literacy and inclusion activities held")
def activities(library_id: int | None, start: date | None, end: date | None) -> float:
    """Activities held by a library (or the city) in the period."""
    return float(activity_totals(library_id, start, end)[0])


@metrics.register("workflows.participants", description="People taking part in library activities")
def participants(library_id: int | None, start: date | None, end: date | None) -> float:
    """Participants of the activities held in the period."""
    return float(activity_totals(library_id, start, end)[1])


@metrics.grouped("workflows.activities")
def activities_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Activities held per library in the period."""
    return {i: float(n) for i, (n, _p) in activity_totals_by_library(library_ids, start, end).items()}


@metrics.grouped("workflows.participants")
def participants_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Participants per library in the period."""
    return {i: float(p) for i, (_n, p) in activity_totals_by_library(library_ids, start, end).items()}


@metrics.register("workflows.trained_staff", description="Library staff with library training (entered figure)")
def trained_staff(library_id: int | None, start: date | None, end: date | None) -> float:
    """Trained staff as the libraries entered it (the figure as it stands now)."""
    stmt = select(func.coalesce(func.sum(LibraryFact.value), 0)).where(LibraryFact.key == "staff_trained")
    if library_id is not None:
        stmt = stmt.where(LibraryFact.library_id == library_id)
    return float(db.session.scalar(stmt) or 0)


@metrics.register("workflows.titles_per_resident", description="Titles held per resident of the city "
                                                                "(or of the area a library serves)", unit="ratio")
def titles_per_resident(library_id: int | None, start: date | None, end: date | None) -> float:
    """Titles held divided by the residents entered for the year (0 when no population is known)."""
    titles = metrics.value("catalog.titles", library_id=library_id, end=end)
    if library_id is None:
        year = (end or date.today()).year
        residents = db.session.scalar(select(PopulationFigure.residents).where(PopulationFigure.year <= year)
                                      .order_by(PopulationFigure.year.desc()).limit(1))
    else:
        residents = db.session.scalar(select(LibraryFact.value).where(
            LibraryFact.library_id == library_id, LibraryFact.key == "population_served"))
    return round(titles / residents, 4) if residents else 0.0
