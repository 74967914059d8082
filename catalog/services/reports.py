"""Catalog reports: the accession register (buku induk), collection statistics, and label selections."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, select

from catalog.labels import LabelItem, RegisterRow
from catalog.models import ITEM_STATUS_LABELS, SOURCE_LABELS, Item, ItemStatus, Record
from ils import authz
from ils.authz import Actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library

# DDC main classes, as the Indonesian collection statistics group them.
DDC_CLASSES = {
    "0": _l("000 General works, computing, information"), "1": _l("100 Philosophy and psychology"),
    "2": _l("200 Religion"), "3": _l("300 Social sciences"), "4": _l("400 Language"),
    "5": _l("500 Science"), "6": _l("600 Technology and applied sciences"), "7": _l("700 Arts and recreation"),
    "8": _l("800 Literature"), "9": _l("900 History and geography"), "": _l("Not classified"),
}
MAX_LABELS = 600


def _library(library_id: int, actor: Actor, permission: str) -> Library:
    authz.require(actor, permission, library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    return library


def register_years(*, library_id: int, actor: Actor) -> list[int]:
    """Years in which the library acquired copies, newest first."""
    _library(library_id, actor, "catalog.view")
    year = extract("year", Item.acquired_on)
    return [int(y) for y in db.session.scalars(select(year).where(Item.library_id == library_id,
                                                                  Item.acquired_on.is_not(None))
                                               .group_by(year).order_by(year.desc()))]


def accession_register(*, library_id: int, year: int, actor: Actor) -> list[RegisterRow]:
    """The accession register of one year: every copy acquired, withdrawn ones marked, in entry order."""
    _library(library_id, actor, "catalog.view")
    stmt = (select(Item, Record).join(Record, Record.id == Item.record_id)
            .where(Item.library_id == library_id, Item.acquired_on >= date(year, 1, 1),
                   Item.acquired_on <= date(year, 12, 31)).order_by(Item.acquired_on, Item.id))
    rows = []
    for number, (item, record) in enumerate(db.session.execute(stmt), start=1):
        publication = ", ".join(p for p in (record.place, record.publisher, str(record.year or "")) if p)
        remark = item.notes
        if item.status == ItemStatus.WITHDRAWN:
            remark = f"{ITEM_STATUS_LABELS[item.status]} {item.withdrawn_on or ''}: {item.withdrawn_reason}".strip()
        elif item.status in (ItemStatus.LOST, ItemStatus.DAMAGED):
            remark = str(ITEM_STATUS_LABELS[item.status])
        rows.append(RegisterRow(
            number=number, acquired_on=item.acquired_on.isoformat() if item.acquired_on else "",
            accession_number=item.accession_number, author=record.main_author, title=record.title,
            publication=publication, source=str(SOURCE_LABELS[item.source]),
            price=f"{item.price:,}".replace(",", ".") if item.price is not None else "",
            call_number=item.call_number, remark=remark))
    return rows


@dataclass
class CollectionStats:
    """A library's collection in figures."""

    titles: int = 0
    copies: int = 0
    private_copies: int = 0
    recent_titles: int = 0
    recent_share: float = 0.0
    by_class: list[tuple[str, int, int]] = field(default_factory=list)  # (label, titles, copies)
    by_language: list[tuple[str, int]] = field(default_factory=list)
    by_source: list[tuple[str, int]] = field(default_factory=list)
    by_type: list[tuple[str, int]] = field(default_factory=list)
    by_status: list[tuple[str, int]] = field(default_factory=list)


def collection_stats(*, library_id: int | None, actor: Actor, today: date) -> CollectionStats:
    """Titles, copies, DDC classes, languages, sources, and the share published in the last five years.

    Withdrawn copies are left out; private copies are counted (city statistics include them).
    ``library_id`` None is the whole network (admin and DPK).
    """
    if library_id is None:
        authz.require(actor, "catalog.view", None)
        if not actor.network_wide:
            raise ValidationFailed(str(_l("Choose a library.")))
    else:
        _library(library_id, actor, "catalog.view")
    stmt = select(Item.record_id, Item.item_type, Item.source, Item.status, Item.public, Record.ddc,
                  Record.language, Record.year).join(Record, Record.id == Item.record_id)
    if library_id is not None:
        stmt = stmt.where(Item.library_id == library_id)
    stats = CollectionStats()
    titles: set[int] = set()
    recent: set[int] = set()
    class_titles: dict[str, set[int]] = {}
    class_copies: Counter[str] = Counter()
    languages: dict[str, set[int]] = {}
    sources: Counter[str] = Counter()
    types: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for record_id, item_type, source, status, public, ddc, language, year in db.session.execute(stmt):
        statuses[str(ITEM_STATUS_LABELS[status])] += 1
        if status == ItemStatus.WITHDRAWN:
            continue
        stats.copies += 1
        stats.private_copies += 0 if public else 1
        titles.add(record_id)
        if year and year >= today.year - 4:
            recent.add(record_id)
        main = ddc[:1] if ddc[:1].isdigit() else ""
        class_titles.setdefault(main, set()).add(record_id)
        class_copies[main] += 1
        languages.setdefault(language or "und", set()).add(record_id)
        sources[str(SOURCE_LABELS[source])] += 1
        types[item_type.label] += 1
    stats.titles, stats.recent_titles = len(titles), len(recent)
    stats.recent_share = round(100.0 * len(recent) / len(titles), 1) if titles else 0.0
    stats.by_class = [(str(DDC_CLASSES[key]), len(class_titles.get(key, ())), class_copies[key])
                      for key in DDC_CLASSES if key in class_titles]
    stats.by_language = sorted(((lang, len(ids)) for lang, ids in languages.items()), key=lambda p: -p[1])
    stats.by_source, stats.by_type = sources.most_common(), types.most_common()
    stats.by_status = statuses.most_common()
    return stats


def recent_items(*, library_id: int, actor: Actor, limit: int = 200) -> list[Any]:
    """The library's most recently added copies (to pick labels from)."""
    _library(library_id, actor, "catalog.edit")
    stmt = (select(Item, Record.title).join(Record, Record.id == Item.record_id)
            .where(Item.library_id == library_id, Item.status != ItemStatus.WITHDRAWN)
            .order_by(Item.id.desc()).limit(limit))
    return list(db.session.execute(stmt))


def label_items(*, library_id: int, actor: Actor, item_ids: list[int] | None = None,
                barcodes: list[str] | None = None) -> list[LabelItem]:
    """Label values for chosen copies of one library (by id or barcode), in the order given."""
    library = _library(library_id, actor, "catalog.edit")
    wanted = list(dict.fromkeys(item_ids or []))[:MAX_LABELS]
    codes = [b.strip() for b in (barcodes or []) if b.strip()][:MAX_LABELS]
    if not wanted and not codes:
        raise ValidationFailed(str(_l("Choose at least one copy.")))
    stmt = select(Item, Record.title).join(Record, Record.id == Item.record_id).where(Item.library_id == library_id)
    found = list(db.session.execute(stmt.where(Item.id.in_(wanted) | Item.barcode.in_(codes))))
    order = {key: n for n, key in enumerate(wanted + codes)}
    found.sort(key=lambda row: order.get(row[0].id, order.get(row[0].barcode, 0)))
    return [LabelItem(barcode=item.barcode, call_class=item.call_class, call_author=item.call_author,
                      call_title=item.call_title, title=title, library_code=library.code, library_name=library.name)
            for item, title in found]


def missing_barcodes(found: list[LabelItem], barcodes: list[str]) -> list[str]:
    """Barcodes asked for that are not copies of the library."""
    have = {item.barcode for item in found}
    return [b for b in (x.strip() for x in barcodes) if b and b not in have]
