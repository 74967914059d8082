"""Feeding the search index from the database: the outbox drain and the full rebuild."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from catalog import search
from catalog.models import IndexChange, Item, Record, RecordKind
from catalog.services.outbox import pending
from ils.extensions import db
from ils.models import Library

BATCH = 500


def documents(record_ids: list[int]) -> list[search.Document]:
    """Index documents for bibliographic records (authority and holdings records are not searched here)."""
    records = db.session.scalars(select(Record).where(Record.id.in_(record_ids),
                                                      Record.kind == RecordKind.BIBLIOGRAPHIC)).all()
    held: dict[int, tuple[set[str], list[str]]] = {}
    rows = db.session.execute(select(Item.record_id, Library.code, Item.barcode, Item.public)
                              .join(Library, Library.id == Item.library_id).where(Item.record_id.in_(record_ids)))
    for record_id, code, barcode, public in rows:
        codes, barcodes = held.setdefault(record_id, (set(), []))
        if public:
            codes.add(code)
        barcodes.append(barcode)
    return [search.Document(record_id=r.id, title=r.title, authors="; ".join(filter(None, [r.main_author,
                                                                                         r.other_names])),
                            subjects=r.subjects, isbns=r.isbns, year=r.year, language=r.language,
                            material_type=r.material_type, libraries=sorted(held.get(r.id, (set(), []))[0]),
                            barcodes=held.get(r.id, (set(), []))[1])
            for r in records]


def drain_outbox(*, checkpoint: Callable[[float, str], None]) -> dict[str, Any]:
    """Apply every pending catalog change to the index, oldest first; each batch commits."""
    written = removed = 0
    while True:
        batch = pending(BATCH)
        if not batch:
            break
        ids = [record_id for record_id, _exists in batch]
        docs = documents([record_id for record_id, exists in batch if exists])
        present = {d.record_id for d in docs}
        gone = [record_id for record_id in ids if record_id not in present]
        marks = dict(db.session.execute(select(IndexChange.record_id, IndexChange.changed_at)
                                        .where(IndexChange.record_id.in_(ids))).all())
        written += search.apply(docs, gone)
        removed += len(gone)
        for record_id, changed_at in marks.items():  # a change noted meanwhile stays for the next round
            db.session.execute(delete(IndexChange).where(IndexChange.record_id == record_id,
                                                         IndexChange.changed_at == changed_at))
        checkpoint(50, str(_l("%(n)s records indexed", n=written)))
    return {"indexed": written, "removed": removed}
