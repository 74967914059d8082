"""Streamed exports: the union catalog, one library's holdings (items as 952) or chosen records.

Records are read in id order, a thousand at a time, and written out as they come, so memory stays
flat whatever the catalog's size.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from catalog import bib, marc
from catalog.models import Item, Record, RecordKind
from ils.extensions import db
from ils.models import Library

PAGE = 1000


def item_field(item: Item, library_code: str) -> dict[str, Any]:
    """An item as a Koha-style 952 (home and holding branch, location, call number, barcode, type...)."""
    pairs = [("a", library_code), ("b", library_code), ("c", item.collection),
             ("d", item.acquired_on.isoformat() if item.acquired_on else ""), ("e", item.source.value),
             ("g", str(item.price) if item.price is not None else ""), ("i", item.accession_number),
             ("o", item.call_number), ("p", item.barcode), ("y", item.item_type.value), ("z", item.notes),
             ("0", "1" if item.status.value == "withdrawn" else ""), ("1", "1" if item.status.value == "lost" else ""),
             ("4", "1" if item.status.value == "damaged" else ""), ("7", "" if item.lendable_network else "1")]
    return {"952": {"ind1": " ", "ind2": " ", "subfields": [{c: v} for c, v in pairs if v]}}


def records(*, library_id: int | None = None, record_ids: list[int] | None = None,
            kind: RecordKind = RecordKind.BIBLIOGRAPHIC) -> Iterator[dict[str, Any]]:
    """MARC dicts in id order (with the library's items as 952 when ``library_id`` is given)."""
    last = 0
    code = db.session.get(Library, library_id).code if library_id is not None else ""
    while True:
        stmt = select(Record.id, Record.marc).where(Record.kind == kind, Record.id > last).order_by(Record.id)
        if library_id is not None:
            stmt = stmt.where(Record.id.in_(select(Item.record_id).where(Item.library_id == library_id)))
        if record_ids is not None:
            stmt = stmt.where(Record.id.in_(record_ids))
        page = db.session.execute(stmt.limit(PAGE)).all()
        if not page:
            return
        held: dict[int, list[Item]] = {}
        if library_id is not None:
            for item in db.session.scalars(select(Item).where(Item.library_id == library_id,
                                                              Item.record_id.in_([r.id for r in page]))
                                           .order_by(Item.id)):
                held.setdefault(item.record_id, []).append(item)
        for record_id, text in page:
            data = bib.loads(text)
            data["fields"] += [item_field(i, code) for i in held.get(record_id, [])]
            yield data
        last = page[-1][0]
        for copies in held.values():  # keep the session's identity map flat on big exports
            for item in copies:
                db.session.expunge(item)


def export(*, fmt: str, stats: dict[str, int], library_id: int | None = None,
           record_ids: list[int] | None = None) -> Iterator[bytes]:
    """ISO 2709 or MARCXML bytes, chunk by chunk; ``stats`` receives records written and skipped."""
    stats.update(records=0, skipped=0)
    source = records(library_id=library_id, record_ids=record_ids)
    if fmt == "marcxml":
        yield marc.XML_HEAD
    buffer: list[bytes] = []
    for data in source:
        try:
            buffer.append(marc.marcxml_record(data) if fmt == "marcxml" else marc.iso2709(data))
            stats["records"] += 1
        except marc.TooLongForIso2709:
            stats["skipped"] += 1
        if len(buffer) >= 200:
            yield b"".join(buffer)
            buffer = []
    if buffer:
        yield b"".join(buffer)
    if fmt == "marcxml":
        yield marc.XML_TAIL
