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
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

from catalog.text import STOP_WORDS, TOKEN, stem

SCHEMA_VERSION = 5
# Query fields (catalog.query) -> index fields holding stemmed words.
# Query fields -> index fields holding stemmed words; "any" is every one of ANY_FIELDS.
TEXT_FIELDS = {"any": "any", "title": "title", "author": "author", "subject": "subject", "publisher": "publisher",
               "series": "series", "notes": "notes"}
ANY_FIELDS = ("title", "author", "subject", "series", "publisher", "notes")
# Fields that keep word positions for phrases ("kota bontang"); the others answer a phrase as all its words.
PHRASE_FIELDS = ("title", "author", "subject")
# Query fields -> index fields holding whole codes (one term per value).
# (language, material, library and id are matched from the facets column instead of index terms)
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
        # No catch-all field: "any" reads the six fields below (each word is written once, not twice).
        words=TEXT(analyzer=plain, phrase=False),
        title=TEXT(analyzer=stemmed), author=TEXT(analyzer=stemmed), subject=TEXT(analyzer=stemmed),
        series=TEXT(analyzer=stemmed, phrase=False), publisher=TEXT(analyzer=stemmed, phrase=False),
        notes=TEXT(analyzer=stemmed, phrase=False),
        # Language, type, libraries, copy status and acquisition dates are not indexed as words: they live
        # in the "facets" column and are matched with NumPy (engine.py), which also keeps a rebuild fast.
        isbn=KEYWORD(commas=True, lowercase=True), issn=KEYWORD(commas=True, lowercase=True),
        identifier=KEYWORD(commas=True, lowercase=True), barcode=KEYWORD(commas=True, lowercase=True),
        callnumber=KEYWORD(commas=True, lowercase=True),
        facets=COLUMN(VarBytesColumn()), version=STORED())


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
    identifiers: list[str] = field(default_factory=list)  # 001 and 035 (ISBN and ISSN have fields of their own)
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
        facets = {"r": self.record_id, "y": self.year or 0, "l": self.language or "und", "m": self.material,
                  "L": self.libraries, "A": self.available, "P": self.private, "p": int(self.public),
                  "S": self.subjects[:8], "C": sorted(set(self.collections)), "t": self.title_sort[:60],
                  "a": self.author_sort[:60], "T": sorted(set(self.statuses)),
                  "Q": sorted({int(d.replace("-", "")) for d in self.acquired})}
        return {
            # Unstemmed words for "did you mean" and prefixes: the fields people type words of.
            "id": str(self.record_id),
            "words": " ".join([self.title, self.authors, " ".join(self.subjects), self.series]),
            "title": self.title, "author": self.authors, "subject": " ; ".join(self.subjects),
            "series": self.series, "publisher": self.publisher, "notes": self.notes,
            "isbn": ",".join(self.isbns), "issn": ",".join(self.issns), "identifier": ",".join(self.identifiers),
            "barcode": ",".join(self.barcodes), "callnumber": ",".join(c.replace(",", " ") for c in self.call_numbers),
            "facets": orjson.dumps(facets), "version": str(SCHEMA_VERSION),
        }
