"""Catalog figures for workflows and reports (named metrics in the ils.metrics registry)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, distinct, func, select

from catalog.models import Item, ItemStatus, Record, RecordKind
from ils import metrics
from ils.extensions import db


def _items(library_id: int | None, end: date | None):  # type: ignore[no-untyped-def]
    stmt = select(Item).where(Item.status != ItemStatus.WITHDRAWN)
    if library_id is not None:
        stmt = stmt.where(Item.library_id == library_id)
    if end is not None:
        stmt = stmt.where(Item.acquired_on <= end)
    return stmt.subquery()


@metrics.register("catalog.titles", description="Titles held (records with at least one copy not withdrawn)")
def titles(library_id: int | None, start: date | None, end: date | None) -> float:
    """Distinct titles held by a library (or the network) at the end of the period."""
    items = _items(library_id, end)
    return float(db.session.scalar(select(func.count(distinct(items.c.record_id)))) or 0)


@metrics.register("catalog.copies", description="Copies held (items not withdrawn)")
def copies(library_id: int | None, start: date | None, end: date | None) -> float:
    """Items held by a library (or the network) at the end of the period, private ones included."""
    items = _items(library_id, end)
    return float(db.session.scalar(select(func.count()).select_from(items)) or 0)


@metrics.register("catalog.titles.recent_share", description="Share of titles published in the last five years",
                  unit="%")
def recent_share(library_id: int | None, start: date | None, end: date | None) -> float:
    """Percentage of held titles whose publication year is within five years of the period's end."""
    items = _items(library_id, end)
    year = (end or date.today()).year
    held = select(items.c.record_id).distinct().scalar_subquery()
    total = db.session.scalar(select(func.count()).select_from(Record).where(Record.id.in_(held))) or 0
    recent = db.session.scalar(select(func.count()).select_from(Record).where(
        Record.id.in_(held), Record.kind == RecordKind.BIBLIOGRAPHIC, Record.year >= year - 4)) or 0
    return round(100.0 * recent / total, 1) if total else 0.0


# --- the same figures for many libraries in one query (the DPK dashboard) ---------------------------

def _held(library_ids: list[int], end: date | None):  # type: ignore[no-untyped-def]
    stmt = select(Item.library_id, Item.record_id).where(Item.status != ItemStatus.WITHDRAWN,
                                                         Item.library_id.in_(library_ids))
    if end is not None:
        stmt = stmt.where(Item.acquired_on <= end)
    return stmt.subquery()


@metrics.grouped("catalog.titles")
def titles_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Distinct titles held per library."""
    held = _held(library_ids, end)
    rows = db.session.execute(select(held.c.library_id, func.count(distinct(held.c.record_id)))
                              .group_by(held.c.library_id))
    return {library_id: float(count) for library_id, count in rows}


@metrics.grouped("catalog.copies")
def copies_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Copies held per library."""
    held = _held(library_ids, end)
    rows = db.session.execute(select(held.c.library_id, func.count()).group_by(held.c.library_id))
    return {library_id: float(count) for library_id, count in rows}


@metrics.grouped("catalog.titles.recent_share")
def recent_share_by_library(library_ids: list[int], start: date | None, end: date | None) -> dict[int, float]:
    """Percentage of held titles published in the last five years, per library."""
    held = _held(library_ids, end)
    year = (end or date.today()).year
    recent = case((and_(Record.kind == RecordKind.BIBLIOGRAPHIC, Record.year >= year - 4), held.c.record_id))
    rows = db.session.execute(select(held.c.library_id, func.count(distinct(held.c.record_id)),
                                     func.count(distinct(recent)))
                              .join(Record, Record.id == held.c.record_id).group_by(held.c.library_id))
    return {library_id: (round(100.0 * new / total, 1) if total else 0.0) for library_id, total, new in rows}
