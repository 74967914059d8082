"""Feeding the search index from the database: documents, the outbox drain, rebuild and verify."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from catalog import bib, search
from catalog.models import IndexChange, Item, ItemStatus, Record, RecordKind
from catalog.services.outbox import pending, request_index_job
from ils.extensions import db
from ils.models import Library

BATCH = 500
PARALLEL_FROM = 5000  # records from which a rebuild analyses in two processes
NOTE_TAGS = ("500", "501", "502", "504", "505", "520", "521", "546", "586")
SHELF_STATUSES = (ItemStatus.AVAILABLE,)


def _notes_and_ids(marc_text: str) -> tuple[str, list[str]]:
    """Notes (5XX) and identifiers beyond ISBN/ISSN (001, 035 $a) from a record's MARC."""
    record = bib.loads(marc_text)
    notes = [bib.join_subfields(value, "abcdefgt") for _tag, value in bib.fields(record, *NOTE_TAGS)]
    ids = [v.strip() for tag, value in bib.fields(record, "001", "035")
           for v in ([value] if isinstance(value, str) else bib.subfields(value, "a")) if v.strip()]
    return " ".join(n for n in notes if n), ids


def documents(record_ids: list[int]) -> list[search.Document]:
    """Index documents for bibliographic records (authority and holdings records are not searched)."""
    if not record_ids:
        return []
    records = db.session.execute(select(
        Record.id, Record.marc, Record.title, Record.main_author, Record.other_names, Record.subjects, Record.series,
        Record.publisher, Record.isbns, Record.issns, Record.year, Record.language, Record.material_type,
        Record.title_sort).where(Record.id.in_(record_ids), Record.kind == RecordKind.BIBLIOGRAPHIC)).all()
    items: dict[int, list[Any]] = {}
    for row in db.session.execute(
            select(Item.record_id, Library.code, Item.barcode, Item.public, Item.status, Item.collection,
                   Item.call_class, Item.call_author, Item.call_title, Item.acquired_on)
            .join(Library, Library.id == Item.library_id).where(Item.record_id.in_(record_ids))):
        items.setdefault(row.record_id, []).append(row)
    return [_document(r, items.get(r.id, [])) for r in records]


def _document(r: Any, copies: list[Any]) -> search.Document:
    notes, ids = _notes_and_ids(r.marc)
    kept = [c for c in copies if c.status != ItemStatus.WITHDRAWN]
    public = [c for c in kept if c.public]
    isbns, issns = r.isbns.split(), r.issns.split()
    return search.Document(
        record_id=r.id, title=r.title, authors="; ".join(filter(None, [r.main_author, r.other_names])),
        subjects=[s for s in r.subjects.split("; ") if s], series=r.series, publisher=r.publisher, notes=notes,
        isbns=isbns, issns=issns, identifiers=ids,
        call_numbers=sorted({" ".join(filter(None, (c.call_class, c.call_author, c.call_title))) for c in copies} - {""}),
        barcodes=[c.barcode for c in copies], year=r.year, language=r.language, material=r.material_type,
        libraries=sorted({c.code for c in public}),
        available=sorted({c.code for c in public if c.status in SHELF_STATUSES}),
        private=sorted({c.code for c in kept if not c.public}),
        collections=sorted({c.collection for c in public if c.collection}),
        statuses=sorted({c.status.value for c in copies}),
        acquired=sorted({c.acquired_on.isoformat() for c in copies if c.acquired_on}),
        title_sort=r.title_sort, author_sort=bib.fold(r.main_author or r.other_names.split("; ")[0]),
        # Hidden from the public only when every copy is private (company and school collections).
        public=not copies or any(c.public for c in copies))


def drain_outbox(*, checkpoint: Callable[[float, str], None]) -> dict[str, Any]:
    """Apply every pending catalog change to the index, oldest first; each batch commits.

    While a rebuild is writing a new index the rows are kept, so the changes reach the new index
    too (the next run after the swap applies them again; applying a document twice is harmless).
    """
    if not search.rebuilding() and not search.schema_current():
        # The code changed the index's fields (an update): rebuild everything once, aside, then go on.
        checkpoint(1, str(_l("The search index is being rebuilt for a new version")))
        rebuilt = rebuild(progress=lambda done, total: checkpoint(min(99.0, 100.0 * done / max(total, 1)),
                                                                  str(_l("%(done)s of %(total)s records",
                                                                         done=done, total=total))))
        # The outbox keeps its rows: the next run applies what changed meanwhile (twice is harmless).
        request_index_job()
        return {"indexed": rebuilt, "removed": 0, "rebuilt": True}
    written = removed = 0
    keep_rows = search.rebuilding()
    seen: set[int] = set()
    while True:
        batch = [(rid, exists) for rid, exists in pending(BATCH + len(seen)) if rid not in seen][:BATCH]
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
        if keep_rows:
            seen.update(ids)
        else:
            for record_id, changed_at in marks.items():  # a change noted meanwhile stays for the next round
                db.session.execute(delete(IndexChange).where(IndexChange.record_id == record_id,
                                                             IndexChange.changed_at == changed_at))
        checkpoint(50, str(_l("%(n)s records indexed", n=written)))
    return {"indexed": written, "removed": removed, "kept_for_rebuild": keep_rows}


def _all_documents(chunk: int = 2000) -> Iterator[search.Document]:
    last = 0
    while True:
        ids = list(db.session.scalars(select(Record.id).where(Record.id > last, Record.kind == RecordKind.BIBLIOGRAPHIC)
                                      .order_by(Record.id).limit(chunk)))
        if not ids:
            return
        yield from documents(ids)
        db.session.expire_all()
        last = ids[-1]


def bibliographic_count() -> int:
    """How many records the index should hold."""
    return db.session.scalar(select(func.count()).select_from(Record)
                             .where(Record.kind == RecordKind.BIBLIOGRAPHIC)) or 0


def rebuild(*, progress: Callable[[int, int], None]) -> int:
    """Build a new index from the database beside the live one and swap it in; returns records indexed."""
    total = bibliographic_count()
    return search.rebuild(_all_documents(), progress=lambda n: progress(n, total), parallel=total >= PARALLEL_FROM)


def verify() -> dict[str, list[int]]:
    """Records missing from the index, stale in it (indexed values differ), or indexed but gone."""
    indexed = search.indexed_versions()
    missing, stale = [], []
    for doc in _all_documents():
        version = indexed.pop(doc.record_id, None)
        if version is None:
            missing.append(doc.record_id)
        elif version != search.expected_version(doc):
            stale.append(doc.record_id)
    return {"missing": missing, "stale": stale, "extra": sorted(indexed)}
