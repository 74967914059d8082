"""The DPK dashboard's read model: every library's accreditation, step, SNP gaps and key figures
this year against last year, city totals, and monthly series for the charts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ils import metrics
from ils.authz import Actor
from ils.extensions import db
from ils.models import Library, LibraryType
from workflows import engine
from workflows.models import AccreditationResult, DocumentKind, Instance
from workflows.services import accreditation, documents
from workflows.services.access import visible_libraries
from workflows.services.figures import figures_of_libraries

ACCREDITATION = "akreditasi"
# Figures compared this year (to date) with the same part of last year.
KEY_FIGURES = ("circulation.visits", "circulation.loans", "circulation.new_members", "workflows.participants")
# Figures that are a level on a day (compared with the same day last year).
LEVEL_FIGURES = ("circulation.active_members", "catalog.titles", "catalog.copies")


@dataclass
class LibraryRow:
    """One library on the dashboard."""

    library: Library
    result: AccreditationResult | None
    status: str  # accredited, expiring, expired, in_progress, not_started
    instance: Instance | None = None
    step: engine.NextStep | None = None
    gaps_open: int = 0
    gaps_total: int = 0
    this_year: dict[str, float] = field(default_factory=dict)
    last_year: dict[str, float] = field(default_factory=dict)


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def figures_compared(library_id: int | None, today: date) -> tuple[dict[str, float], dict[str, float]]:
    """Key figures this year to date and over the same part of last year (levels: today and a year ago)."""
    ago = _same_day_last_year(today)
    this = {name: metrics.value(name, library_id=library_id, start=date(today.year, 1, 1), end=today)
            for name in KEY_FIGURES}
    last = {name: metrics.value(name, library_id=library_id, start=date(ago.year, 1, 1), end=ago)
            for name in KEY_FIGURES}
    for name in LEVEL_FIGURES:
        this[name] = metrics.value(name, library_id=library_id, end=today)
        last[name] = metrics.value(name, library_id=library_id, end=ago)
    return this, last


def compared_by_library(library_ids: list[int], today: date) -> dict[int, tuple[dict[str, float], dict[str, float]]]:
    """``figures_compared`` for many libraries, one query per figure and period."""
    ago = _same_day_last_year(today)
    this: dict[str, dict[int, float]] = {}
    last: dict[str, dict[int, float]] = {}
    for name in KEY_FIGURES + LEVEL_FIGURES:
        level = name in LEVEL_FIGURES
        this[name] = metrics.values(name, library_ids=library_ids, start=None if level else date(today.year, 1, 1),
                                    end=today)
        last[name] = metrics.values(name, library_ids=library_ids, start=None if level else date(ago.year, 1, 1),
                                    end=ago)
    return {i: ({n: this[n][i] for n in this}, {n: last[n][i] for n in last}) for i in library_ids}


def status_of(result: AccreditationResult | None, instance: Instance | None, today: date,
              warn_days: int = 180) -> str:
    """accredited / expiring (within warn_days) / expired / in_progress / not_started."""
    if result is not None and result.grade and result.valid_until:
        if result.valid_until < today:
            return "in_progress" if instance is not None and instance.state != "terakreditasi" else "expired"
        if result.valid_until - today <= timedelta(days=warn_days):
            return "expiring"
        return "accredited"
    return "in_progress" if instance is not None else "not_started"


def library_row(library: Library, *, today: date, now: datetime, with_figures: bool = True,
                figures: dict[str, float | None] | None = None,
                compared: tuple[dict[str, float], dict[str, float]] | None = None) -> LibraryRow:
    """Everything the dashboard shows about one library (``figures``/``compared``: already read in bulk)."""
    from workflows.services.instances import open_instance, view_of

    instance = open_instance(library.id, ACCREDITATION)
    result = accreditation.current_result(library.id, today=today)
    # "Expires soon" starts when the definition starts re-accreditation (a DPK-editable number).
    definition = documents.parse(instance.definition if instance is not None
                                 else documents.current(DocumentKind.WORKFLOW, ACCREDITATION))
    warn = int(definition.params.get("reaccreditation_notice_days", 180))
    row = LibraryRow(library=library, result=result, status=status_of(result, instance, today, warn),
                     instance=instance)
    gaps = accreditation.snp_gaps(library, today=today, figures=figures)
    row.gaps_total, row.gaps_open = len(gaps), accreditation.open_gaps(gaps)
    if instance is not None:
        row.step = engine.next_step(documents.parse(instance.definition), view_of(instance, gaps=gaps), now)
    if with_figures:
        row.this_year, row.last_year = compared if compared is not None else figures_compared(library.id, today)
    return row


def library_rows(*, actor: Actor, today: date, now: datetime, library_type: str | None = None,
                 kecamatan: str | None = None) -> list[LibraryRow]:
    """A row per active service point the actor may see, filtered by type and kecamatan."""
    visible = visible_libraries(actor)
    stmt = select(Library).where(Library.active.is_(True), Library.type != LibraryType.INDUK).order_by(Library.name)
    if visible is not None:
        stmt = stmt.where(Library.id.in_(visible))
    if library_type:
        stmt = stmt.where(Library.type == LibraryType(library_type))
    if kecamatan:
        stmt = stmt.where(Library.kecamatan == kecamatan)
    libraries = list(db.session.scalars(stmt))
    ids = [lib.id for lib in libraries]
    every_figure = figures_of_libraries(libraries, today=today)
    every_comparison = compared_by_library(ids, today)
    return [library_row(lib, today=today, now=now, figures=every_figure[lib.id], compared=every_comparison[lib.id])
            for lib in libraries]


def totals(rows: list[LibraryRow]) -> dict[str, Any]:
    """City (or filtered) totals of the rows."""
    out: dict[str, Any] = {"libraries": len(rows)}
    for key in ("accredited", "expiring", "expired", "in_progress", "not_started"):
        out[key] = sum(1 for r in rows if r.status == key)
    out["grades"] = {g: sum(1 for r in rows if r.result and r.result.grade == g and r.status in
                            ("accredited", "expiring")) for g in ("A", "B", "C")}
    out["gaps_open"] = sum(r.gaps_open for r in rows)
    out["meeting_snp"] = sum(1 for r in rows if r.gaps_total and r.gaps_open == 0)
    out["this_year"] = {k: sum(r.this_year.get(k, 0) for r in rows) for k in KEY_FIGURES + LEVEL_FIGURES}
    out["last_year"] = {k: sum(r.last_year.get(k, 0) for r in rows) for k in KEY_FIGURES + LEVEL_FIGURES}
    out["waiting_dpk"] = sum(1 for r in rows if r.step is not None and r.step.state.actor == "dpk")
    out["overdue"] = sum(1 for r in rows if r.step is not None and r.step.overdue)
    return out


def months_back(today: date, count: int = 12) -> list[tuple[date, date]]:
    """The last ``count`` calendar months up to today (the current one cut at today), oldest first."""
    spans = []
    year, month = today.year, today.month
    for _ in range(count):
        first = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        spans.append((first, min(nxt - timedelta(days=1), today)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(spans))


def monthly(library_ids: list[int] | None, today: date, count: int = 12) -> dict[str, list[float]]:
    """Visits and loans per month, members and copies at each month's end (None ids: the city)."""
    spans = months_back(today, count)

    def total(name: str, start: date | None, end: date) -> float:
        if library_ids is None:
            return metrics.value(name, start=start, end=end)
        return sum(metrics.values(name, library_ids=library_ids, start=start, end=end).values())

    return {
        "circulation.visits": [total("circulation.visits", a, b) for a, b in spans],
        "circulation.loans": [total("circulation.loans", a, b) for a, b in spans],
        "circulation.active_members": [total("circulation.active_members", None, b) for _a, b in spans],
        "catalog.copies": [total("catalog.copies", None, b) for _a, b in spans],
    }


def step_counts(rows: list[LibraryRow]) -> tuple[list[str], list[int]]:
    """How many libraries are at each accreditation step, in the definition's order."""
    definition = documents.parse(documents.current(DocumentKind.WORKFLOW, ACCREDITATION))
    names = list(definition.states)
    counts = {name: 0 for name in names}
    for row in rows:
        if row.instance is not None and row.instance.state in counts:
            counts[row.instance.state] += 1
    return names, [counts[n] for n in names]


def kecamatan_choices() -> list[str]:
    """The kecamatan names of active libraries, sorted."""
    return sorted({k for k in db.session.scalars(select(Library.kecamatan).where(Library.active.is_(True)).distinct())
                   if k})
