"""Answering queries from the index: matching documents as bit masks, relevance, facets, sorting.

Whoosh keeps the words (analysis, postings, segments, deletions); the counting is done here with
NumPy over each segment: a query becomes a boolean mask per segment (posting lists read block by
block, not document by document), facets are ``bincount``s over per-document value arrays loaded
once per segment from the ``facets`` column, and only the page shown is ranked in full. Whoosh's own
``groupedby`` scores and categorises every hit in Python, which is what makes it slow on common words.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from whoosh.query import Phrase
from whoosh.reading import TermNotFound

from catalog import query as q
from catalog.search.schema import ANY_FIELDS, CODE_FIELDS, FIELD_WEIGHTS, PHRASE_FIELDS, TEXT_FIELDS

MAX_EXPANSION = 500  # terms a prefix may stand for


class UnknownField(ValueError):
    """The query names a field the index cannot search."""


@dataclass
class Multi:
    """A multi-valued per-document attribute: (document, value) pairs."""

    owner: np.ndarray
    value: np.ndarray
    names: list[str]

    def count(self, mask: np.ndarray) -> dict[str, int]:
        """How many masked documents hold each value."""
        if not len(self.names):
            return {}
        counts = np.bincount(self.value[mask[self.owner]], minlength=len(self.names))
        return {self.names[i]: int(c) for i in np.flatnonzero(counts) for c in (counts[i],)}

    def having(self, values: set[str], size: int) -> np.ndarray:
        """Documents holding any of ``values``."""
        wanted = np.array([i for i, name in enumerate(self.names) if name in values], dtype=np.int32)
        out = np.zeros(size, dtype=bool)
        if len(wanted):
            out[self.owner[np.isin(self.value, wanted)]] = True
        return out

    def per_doc(self, size: int) -> np.ndarray:
        """How many values each document holds."""
        return np.bincount(self.owner, minlength=size)


@dataclass
class Codes:
    """A single-valued per-document attribute stored as small integers."""

    codes: np.ndarray
    names: list[str]

    def count(self, mask: np.ndarray) -> dict[str, int]:
        """How many masked documents have each value."""
        counts = np.bincount(self.codes[mask], minlength=len(self.names))
        return {self.names[i]: int(counts[i]) for i in np.flatnonzero(counts)}

    def having(self, values: set[str]) -> np.ndarray:
        """Documents whose value is one of ``values``."""
        wanted = [i for i, name in enumerate(self.names) if name in values]
        return np.isin(self.codes, np.array(wanted, dtype=np.int32))


def _codes(values: list[str]) -> Codes:
    names: dict[str, int] = {}
    codes = np.fromiter((names.setdefault(v, len(names)) for v in values), dtype=np.int32, count=len(values))
    return Codes(codes, list(names))


def _multi(lists: list[list[str]]) -> Multi:
    names: dict[str, int] = {}
    owner, value = [], []
    for doc, values in enumerate(lists):
        for v in values:
            owner.append(doc)
            value.append(names.setdefault(v, len(names)))
    return Multi(np.array(owner, dtype=np.int32), np.array(value, dtype=np.int32), list(names))


@dataclass
class SegmentData:
    """Per-document values of one index segment, loaded once from its ``facets`` column."""

    size: int
    rid: np.ndarray
    year: np.ndarray
    public: np.ndarray
    language: Codes
    material: Codes
    multi: dict[str, Multi]
    title_sort: list[str]
    author_sort: list[str]
    held_by: np.ndarray = field(default_factory=lambda: np.zeros(0))
    acquired_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))  # (copy date) pairs:
    acquired_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))  # document, YYYYMMDD

    def acquired_between(self, low: int, high: int) -> np.ndarray:
        """Documents with a copy acquired from ``low`` to ``high`` (YYYYMMDD, inclusive)."""
        out = np.zeros(self.size, dtype=bool)
        out[self.acquired_owner[(self.acquired_day >= low) & (self.acquired_day <= high)]] = True
        return out


def _load(reader: Any) -> SegmentData:
    size = reader.doc_count_all()
    blobs = [orjson.loads(b) if b else {} for b in _column_bytes(reader, "facets", size)]
    data = SegmentData(
        size=size, rid=np.array([b.get("r", -1) for b in blobs], dtype=np.int64),
        year=np.array([b.get("y", 0) for b in blobs], dtype=np.int32),
        public=np.array([bool(b.get("p", 0)) for b in blobs], dtype=bool),
        language=_codes([b.get("l", "und") for b in blobs]), material=_codes([b.get("m", "unknown") for b in blobs]),
        multi={"libraries": _multi([b.get("L", []) for b in blobs]), "available": _multi([b.get("A", []) for b in blobs]),
               "private": _multi([b.get("P", []) for b in blobs]), "subjects": _multi([b.get("S", []) for b in blobs]),
               "collections": _multi([b.get("C", []) for b in blobs]), "statuses": _multi([b.get("T", []) for b in blobs])},
        title_sort=[b.get("t", "") for b in blobs], author_sort=[b.get("a", "") for b in blobs])
    data.held_by = data.multi["libraries"].per_doc(size)
    pairs = [(doc, day) for doc, b in enumerate(blobs) for day in b.get("Q", [])]
    data.acquired_owner = np.array([p[0] for p in pairs], dtype=np.int32)
    data.acquired_day = np.array([p[1] for p in pairs], dtype=np.int32)
    return data


def _column_bytes(reader: Any, fieldname: str, size: int) -> list[bytes]:
    column = reader.column_reader(fieldname, translate=False)
    # VarBytesColumn keeps every value back to back: read the block once and slice it (fast path).
    lengths, base, dbfile = (getattr(column, a, None) for a in ("_lengths", "_basepos", "_dbfile"))
    if lengths is not None and base is not None and dbfile is not None and len(lengths) == size:
        raw = bytes(dbfile.get(base, sum(lengths))) if size else b""
        out, pos = [], 0
        for length in lengths:
            out.append(raw[pos:pos + length])
            pos += length
        return out
    return [column[i] for i in range(size)]


_cache: dict[tuple[str, Any], SegmentData] = {}
_cache_lock = threading.Lock()


def segment_data(reader: Any, index_path: str) -> SegmentData:
    """The (cached) per-document values of a segment reader."""
    key = (index_path, reader.segment().segment_id())
    with _cache_lock:
        data = _cache.get(key)
    if data is None:
        data = _load(reader)
        with _cache_lock:
            _cache[key] = data
    return data


def forget_segments(index_path: str, keep: set[Any]) -> None:
    """Drop cached values of segments that are gone (merged away or of an older index)."""
    with _cache_lock:
        for key in [k for k in _cache if k[0] != index_path or k[1] not in keep]:
            del _cache[key]


def _posting_ids(matcher: Any) -> list[int]:
    """Every document id of a term's postings, read a block at a time where Whoosh allows."""
    leaf = getattr(matcher, "child", matcher)  # deletions are applied by the caller's live mask
    if all(hasattr(leaf, a) for a in ("_read_ids", "_next_block", "_blocklength", "_i")):
        out: list[int] = []
        while leaf.is_active():
            if leaf._ids is None:
                leaf._read_ids()
            out.extend(leaf._ids[leaf._i:])
            leaf._i = leaf._blocklength
            leaf._next_block()
        return out
    return list(matcher.all_ids())


class Leaf:
    """One segment during one search: its reader, offset, values and live (undeleted) documents."""

    def __init__(self, searcher: Any, offset: int, index_path: str) -> None:
        self.searcher, self.offset = searcher, offset
        self.reader = searcher.reader()
        self.data = segment_data(self.reader, index_path)
        self.size = self.data.size
        self.live = np.ones(self.size, dtype=bool)
        self._terms: dict[tuple[str, str], np.ndarray] = {}
        if self.reader.has_deletions():
            deleted = getattr(self.reader, "deleted_docs_set", None)
            if deleted is None:
                deleted = [d for d in range(self.size) if self.reader.is_deleted(d)]
            self.live[np.fromiter(deleted, dtype=np.int64, count=len(deleted))] = False

    def term(self, fieldname: str, text: str) -> np.ndarray:
        """Documents holding one term (read once per search: matching and ranking both ask)."""
        key = (fieldname, text)
        if key in self._terms:
            return self._terms[key]
        mask = np.zeros(self.size, dtype=bool)
        try:
            ids = _posting_ids(self.reader.postings(fieldname, text))
        except TermNotFound:
            ids = []
        if ids:
            mask[np.asarray(ids, dtype=np.int64)] = True
        self._terms[key] = mask
        return mask

    def any_term(self, text: str) -> np.ndarray:
        """Documents holding a term in any of the text fields."""
        out = self.term(ANY_FIELDS[0], text).copy()
        for fieldname in ANY_FIELDS[1:]:
            out |= self.term(fieldname, text)
        return out

    def prefix(self, fieldname: str, text: str) -> np.ndarray:
        """Documents holding a term that starts with ``text``."""
        mask = np.zeros(self.size, dtype=bool)
        for n, term in enumerate(self.reader.expand_prefix(fieldname, text)):
            if n >= MAX_EXPANSION:
                break
            mask |= self.term(fieldname, term.decode("utf-8") if isinstance(term, bytes) else term)
        return mask

    def phrase(self, fieldname: str, words: list[str]) -> np.ndarray:
        """Documents with these words next to each other."""
        mask = np.zeros(self.size, dtype=bool)
        ids = list(Phrase(fieldname, words).docs(self.searcher))
        if ids:
            mask[np.asarray(ids, dtype=np.int64)] = True
        return mask


class Evaluator:
    """Turns catalog.query nodes into document masks for one leaf."""

    def __init__(self, leaf: Leaf, analyse: Any) -> None:
        self.leaf, self.analyse = leaf, analyse

    def mask(self, node: q.Node) -> np.ndarray:
        """Documents matching ``node`` (deleted ones excluded)."""
        return self._eval(node) & self.leaf.live

    def _eval(self, node: q.Node) -> np.ndarray:
        leaf, size = self.leaf, self.leaf.size
        if isinstance(node, q.Everything):
            return np.ones(size, dtype=bool)
        if isinstance(node, q.And):
            out = np.ones(size, dtype=bool)
            for part in node.parts:
                out &= self._eval(part)
            return out
        if isinstance(node, q.Or):
            out = np.zeros(size, dtype=bool)
            for part in node.parts:
                out |= self._eval(part)
            return out
        if isinstance(node, q.AndNot):
            return self._eval(node.positive) & ~self._eval(node.negative)
        if isinstance(node, q.Range):
            if node.field != "year":
                raise UnknownField(node.field)
            return _year_range(leaf.data.year, node.low, node.high, node.include_low, node.include_high)
        if node.field == "year":
            return self._year(node)
        if node.field in TEXT_FIELDS:
            return self._text(node)
        if node.field in CODE_FIELDS:
            return self._code(node)
        raise UnknownField(node.field)

    def _text(self, node: q.Words | q.Exact | q.Prefix) -> np.ndarray:
        leaf, name = self.leaf, TEXT_FIELDS[node.field]
        if isinstance(node, q.Prefix):
            word = self.analyse(node.text, stem=False)
            if not word:
                return np.zeros(leaf.size, dtype=bool)
            return leaf.prefix("words" if node.field == "any" else name, word[0])
        terms = self.analyse(node.text)
        if not terms:  # only stop words: they restrict nothing
            return np.ones(leaf.size, dtype=bool)
        single = leaf.any_term if name == "any" else (lambda t: leaf.term(name, t))
        if (isinstance(node, q.Exact) or node.match == "adj") and len(terms) > 1:
            if name in PHRASE_FIELDS:
                return leaf.phrase(name, terms)
            if name == "any":  # a phrase must stand in one field that keeps positions
                out = np.zeros(leaf.size, dtype=bool)
                for fieldname in PHRASE_FIELDS:
                    out |= leaf.phrase(fieldname, terms)
                return out
            node = q.Words(node.field, node.text)  # a field without positions: all the words
        masks = [single(t) for t in terms]
        out = masks[0].copy()
        for m in masks[1:]:
            if node.match == "any":
                out |= m
            else:
                out &= m
        return out

    def _code(self, node: q.Words | q.Exact | q.Prefix) -> np.ndarray:
        leaf, data = self.leaf, self.leaf.data
        values = [node.text.strip()] if isinstance(node, (q.Exact, q.Prefix)) else node.text.split()
        values = [v for v in values if v]
        if node.field == "id":
            ids = [int(v) for v in values if v.isdigit()]
            return np.isin(data.rid, np.array(ids, dtype=np.int64))
        if node.field in ("language", "material"):
            codes = data.language if node.field == "language" else data.material
            return codes.having({v.lower() for v in values})
        if node.field == "library":  # libraries holding a public copy
            return data.multi["libraries"].having({v.upper() for v in values}, leaf.size)
        if node.field == "identifier":  # any identifier: ISBN and ISSN in every form, 001, 035
            return (self._code(q.Exact("isbn", node.text) if isinstance(node, q.Exact) else
                               q.Words("isbn", node.text) if isinstance(node, q.Words) else q.Prefix("isbn", node.text))
                    | self._code(type(node)("issn", node.text)) | self._identifier(node))
        name = CODE_FIELDS[node.field]
        out = np.zeros(leaf.size, dtype=bool)
        for value in values:
            term = value.replace("-", "").replace(" ", "").lower() if node.field in ("isbn", "issn") else value.lower()
            if node.field == "issn" and len(term) == 8:
                term = f"{term[:4]}-{term[4:]}"  # stored as printed: 2049-3630
            out |= leaf.prefix(name, term) if isinstance(node, q.Prefix) else leaf.term(name, term)
        return out

    def _identifier(self, node: q.Words | q.Exact | q.Prefix) -> np.ndarray:
        leaf = self.leaf
        values = [node.text.strip()] if isinstance(node, (q.Exact, q.Prefix)) else node.text.split()
        out = np.zeros(leaf.size, dtype=bool)
        for value in filter(None, values):
            term = value.lower()
            out |= leaf.prefix("identifier", term) if isinstance(node, q.Prefix) else leaf.term("identifier", term)
        return out

    def _year(self, node: q.Words | q.Exact | q.Prefix) -> np.ndarray:
        years = [int(v) for v in node.text.replace("-", " ").split() if v.isdigit()]
        if not years:
            return np.zeros(self.leaf.size, dtype=bool)
        if isinstance(node, q.Prefix):  # "19*": the 1900s
            digits = node.text.strip().rstrip("*")
            span = 10 ** max(0, 4 - len(digits))
            return _year_range(self.leaf.data.year, int(digits) * span, int(digits) * span + span - 1, True, True)
        return np.isin(self.leaf.data.year, np.array(years, dtype=np.int32))


def _year_range(year: np.ndarray, low: int | None, high: int | None, inc_low: bool, inc_high: bool) -> np.ndarray:
    out = year > 0
    if low is not None:
        out &= year >= low if inc_low else year > low
    if high is not None:
        out &= year <= high if inc_high else year < high
    return out


def scoring_terms(node: q.Node, analyse: Any) -> list[str]:
    """Stemmed words of the positive text parts of a query (what relevance is computed from)."""
    if isinstance(node, (q.And, q.Or)):
        return [t for part in node.parts for t in scoring_terms(part, analyse)]
    if isinstance(node, q.AndNot):
        return scoring_terms(node.positive, analyse)
    if isinstance(node, (q.Words, q.Exact)) and node.field in TEXT_FIELDS:
        return analyse(node.text)
    return []


def relevance(leaf: Leaf, docs: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Scores of ``docs``: ``weights`` (term -> rarity) times where the term is: title first, notes last."""
    scores = np.zeros(len(docs), dtype=np.float64)
    for term, idf in weights.items():
        for fieldname, weight in FIELD_WEIGHTS:
            scores += idf * weight * leaf.term(fieldname, term)[docs]
    # Among equals, a title more libraries hold comes first (what most patrons look for).
    return scores + 0.05 * np.minimum(leaf.data.held_by[docs], 10)


def idf(doc_frequency: int, total_docs: int) -> float:
    """How much a word's rarity counts (words in few records distinguish results more)."""
    return math.log(1 + total_docs / max(1, doc_frequency))


def iter_leaves(searcher: Any, index_path: str) -> Iterator[Leaf]:
    """Every segment of a searcher as a Leaf (and forget cached segments that are gone)."""
    leaves = [Leaf(sub, offset, index_path) for sub, offset in searcher.leaf_searchers()
              if sub.reader().segment() is not None]  # an empty index has a reader without segments
    forget_segments(index_path, {leaf.reader.segment().segment_id() for leaf in leaves})
    yield from leaves
