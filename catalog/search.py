"""The search index (Whoosh), the only module that imports whoosh.

One schema with a version number; written only by the job on the `search` queue (one writer);
rebuilt from the database at any time, so it is never the only copy of anything. This first
schema indexes what staff need to find a record; the OPAC builds on it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from whoosh import index
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser

SCHEMA_VERSION = 1


@dataclass
class Document:
    """What the index holds for one record (built by catalog.services from the database)."""

    record_id: int
    title: str
    authors: str
    subjects: str
    isbns: str
    year: int | None
    language: str
    material_type: str
    libraries: list[str]
    barcodes: list[str]


def schema() -> Schema:
    """The index schema (bump SCHEMA_VERSION when it changes: the index is then rebuilt)."""
    text = StandardAnalyzer(stoplist=None)
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer=text, field_boost=2.0),
                  authors=TEXT(analyzer=text), subjects=TEXT(analyzer=text), isbn=KEYWORD(commas=True),
                  barcode=KEYWORD(commas=True), year=NUMERIC(sortable=True), language=ID(stored=True),
                  material=ID(stored=True), libraries=KEYWORD(commas=True, stored=True),
                  version=STORED())


def index_dir() -> Path:
    """The folder holding the live index."""
    configured = current_app.config.get("ILS_SEARCH_INDEX_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "search-index"


def open_index() -> index.Index:
    """The live index, created empty when missing."""
    folder = index_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if index.exists_in(str(folder)):
        return index.open_dir(str(folder))
    return index.create_in(str(folder), schema())


def apply(documents: Iterable[Document], deleted: Iterable[int]) -> int:
    """Write changed documents and remove deleted ones in one commit; returns documents written."""
    ix = open_index()
    written = 0
    with ix.writer(timeout=30.0) as writer:
        for record_id in deleted:
            writer.delete_by_term("id", str(record_id))
        for doc in documents:
            writer.update_document(
                id=str(doc.record_id), title=doc.title, authors=doc.authors, subjects=doc.subjects,
                isbn=",".join(doc.isbns.split()), barcode=",".join(doc.barcodes), year=doc.year or 0,
                language=doc.language or "und", material=doc.material_type,
                libraries=",".join(doc.libraries), version=SCHEMA_VERSION)
            written += 1
    return written


def search_ids(text: str, *, limit: int = 200) -> list[int]:
    """Record ids matching a query over title, authors, subjects, ISBN and barcode, best first."""
    ix = open_index()
    with ix.searcher() as searcher:
        parser = MultifieldParser(["title", "authors", "subjects", "isbn", "barcode"], schema=ix.schema)
        hits = searcher.search(parser.parse(text), limit=limit)
        return [int(hit["id"]) for hit in hits]


def count() -> int:
    """How many documents the index holds."""
    with open_index().searcher() as searcher:
        return searcher.doc_count()
