"""The index schema: fields, analysers and what one indexed record holds.

Whoosh pickles the analysers into the index, so the stemming function is referenced by its module
path (catalog.text.stem); changing fields or analysis means bumping SCHEMA_VERSION, after which
the index is rebuilt from the database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema
from whoosh.support.charset import accent_map

from catalog.text import STOP_WORDS, TOKEN, stem

SCHEMA_VERSION = 3
# Query fields (catalog.query) -> index fields holding stemmed words.
# Notes have no field of their own: they are searched through "text" (one index field fewer to write).
TEXT_FIELDS = {"any": "text", "title": "title", "author": "author", "subject": "subject", "publisher": "publisher",
               "series": "series", "notes": "text"}
# Query fields -> index fields holding whole codes (one term per value).
CODE_FIELDS = {"isbn": "isbn", "issn": "issn", "identifier": "identifier", "barcode": "barcode",
               "callnumber": "callnumber", "language": "language", "material": "material", "library": "library",
               "id": "id"}
# Relevance: a query word found in the title counts most, then the author, subject, series/publisher, notes.
FIELD_WEIGHTS = (("title", 4.0), ("author", 2.5), ("subject", 2.0), ("series", 1.0), ("publisher", 0.5))


def stemming_analyzer() -> Any:
    """Words, lower-cased, accents folded, stop words dropped, Indonesian/English roots."""
    return (RegexTokenizer(TOKEN.pattern) | LowercaseFilter() | CharsetFilter(accent_map)
            | StopFilter(stoplist=STOP_WORDS, minsize=1) | StemFilter(stemfn=stem, cachesize=100_000))


def plain_analyzer() -> Any:
    """Words as typed (folded, not stemmed): for "did you mean", prefixes and scan."""
    return RegexTokenizer(TOKEN.pattern) | LowercaseFilter() | CharsetFilter(accent_map)


def schema() -> Schema:
    """The index schema (bump SCHEMA_VERSION when it changes)."""
    stemmed, plain = stemming_analyzer(), plain_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        # "text" holds every word without positions (the largest field, and a phrase in "any" is looked
        # up in the positional title/author/subject/series/publisher fields instead: engine.py).
        text=TEXT(analyzer=stemmed, phrase=False), words=TEXT(analyzer=plain, phrase=False),
        title=TEXT(analyzer=stemmed), author=TEXT(analyzer=stemmed), subject=TEXT(analyzer=stemmed),
        series=TEXT(analyzer=stemmed), publisher=TEXT(analyzer=stemmed),
        isbn=KEYWORD(commas=True, lowercase=True), issn=KEYWORD(commas=True, lowercase=True),
        identifier=KEYWORD(commas=True, lowercase=True), barcode=KEYWORD(commas=True, lowercase=True),
        callnumber=KEYWORD(commas=True, lowercase=True), language=ID(), material=ID(),
        library=KEYWORD(commas=True), status=KEYWORD(commas=True), acquired=KEYWORD(commas=True),
        facets=COLUMN(VarBytesColumn()), version=ID(stored=True))


@dataclass
class Document:
    """What the index holds for one record (built by catalog.services.indexing from the database)."""

    record_id: int
    title: str = ""
    authors: str = ""
    subjects: list[str] = field(default_factory=list)
    series: str = ""
    publisher: str = ""
    notes: str = ""
    isbns: list[str] = field(default_factory=list)  # every form: ISBN-13 and ISBN-10
    issns: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)  # ISBN/ISSN forms, 001, 035
    call_numbers: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    year: int | None = None
    language: str = ""
    material: str = "unknown"
    libraries: list[str] = field(default_factory=list)  # codes of libraries with a public copy
    available: list[str] = field(default_factory=list)  # ... with a public copy on the shelf now
    private: list[str] = field(default_factory=list)  # ... with a copy kept private (seen by their staff)
    collections: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    acquired: list[str] = field(default_factory=list)  # YYYY-MM-DD of each copy
    title_sort: str = ""
    author_sort: str = ""
    public: bool = True

    def fields(self) -> dict[str, Any]:
        """The Whoosh field values."""
        text = " ".join([self.title, self.authors, " ".join(self.subjects), self.series, self.publisher, self.notes])
        facets = {"r": self.record_id, "y": self.year or 0, "l": self.language or "und", "m": self.material,
                  "L": self.libraries, "A": self.available, "P": self.private, "p": int(self.public),
                  "S": self.subjects[:8], "C": sorted(set(self.collections)), "t": self.title_sort[:60],
                  "a": self.author_sort[:60]}
        return {
            # Unstemmed words for "did you mean" and prefixes: the fields people type words of.
            "id": str(self.record_id), "text": text,
            "words": " ".join([self.title, self.authors, " ".join(self.subjects), self.series]),
            "title": self.title, "author": self.authors, "subject": " ; ".join(self.subjects),
            "series": self.series, "publisher": self.publisher,
            "isbn": ",".join(self.isbns), "issn": ",".join(self.issns), "identifier": ",".join(self.identifiers),
            "barcode": ",".join(self.barcodes), "callnumber": ",".join(c.replace(",", " ") for c in self.call_numbers),
            "language": self.language or "und", "material": self.material, "library": ",".join(self.libraries),
            "status": ",".join(sorted(set(self.statuses))), "acquired": ",".join(sorted(set(self.acquired))),
            "facets": orjson.dumps(facets), "version": str(SCHEMA_VERSION),
        }
