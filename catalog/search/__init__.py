"""The search index (Whoosh); this package is the only place that imports whoosh.

One schema with a version number (schema.py); written only by jobs on the `search` queue and by
the rebuild (store.py); queries evaluated over catalog.query nodes (engine.py). The index can always
be rebuilt from the database, so it is never the only copy of anything.
"""
from __future__ import annotations

import heapq
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from catalog import query as q
from catalog.search import engine
from catalog.search.engine import UnknownField
from catalog.search.schema import ANY_FIELDS, CODE_FIELDS, SCHEMA_VERSION, TEXT_FIELDS, Document
from catalog.search.store import (apply, count, expected_version, forget_searcher, index_dir, indexed_versions,
                                  open_index, rebuild, rebuilding, remove_all, schema_current, searcher)

__all__ = ["SCHEMA_VERSION", "Document", "Result", "SearchRequest", "UnknownField", "Viewer", "apply", "count",
           "expected_version", "index_dir", "indexed_versions", "open_index", "rebuild", "rebuilding",
           "remove_all", "scan", "schema_current", "search", "search_ids", "suggest", "YEAR_BUCKETS"]

FACETS = ("library", "available", "language", "material", "year", "subject", "collection")
STAFF_FILTERS = ("status", "acquired", "barcode")
SORTS = ("relevance", "newest", "oldest", "title", "author")
SUBJECT_FACET_SIZE = 12
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
YEAR_BUCKETS = ((0, 1969), (1970, 1979), (1980, 1989), (1990, 1999), (2000, 2009), (2010, 2019), (2020, 2099))


@dataclass(frozen=True)
class Viewer:
    """Whose search it is: the public sees public holdings; staff also their own library's private ones."""

    everything: bool = False  # admin / DPK: every record
    library: str | None = None  # a library's staff: also records only it holds privately


PUBLIC = Viewer()


@dataclass
class SearchRequest:
    """One search: the query, chosen facet values, order and page."""

    node: q.Node
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    start: int = 0
    count: int = 20
    viewer: Viewer = PUBLIC
    facets: bool = True


@dataclass
class Result:
    """Matches in order for the page asked, the total, and facet counts over all matches."""

    total: int
    record_ids: list[int]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _analyser(schema: Any) -> Any:
    stemmed, plain = schema["title"], schema["words"]

    def analyse(text: str, *, stem: bool = True) -> list[str]:
        fieldobj = stemmed if stem else plain
        return [t for t in fieldobj.process_text(text, mode="query") if t]

    return analyse


def _visible(leaf: engine.Leaf, viewer: Viewer) -> np.ndarray:
    if viewer.everything:
        return np.ones(leaf.size, dtype=bool)
    mask = leaf.data.public.copy()
    if viewer.library:
        mask |= leaf.data.multi["private"].having({viewer.library}, leaf.size)
    return mask


def _bucket(value: str) -> tuple[int, int] | None:
    low, _, high = value.partition("-")
    return (int(low), int(high)) if low.isdigit() and high.isdigit() else None


def _filter(leaf: engine.Leaf, name: str, values: list[str], viewer: Viewer) -> np.ndarray:
    data, size, wanted = leaf.data, leaf.size, set(values)
    if name == "library":
        out = data.multi["libraries"].having(wanted, size)
        if viewer.everything or viewer.library:
            allowed = wanted if viewer.everything else wanted & {viewer.library}
            out |= data.multi["private"].having(allowed, size)
        return out
    if name in ("available", "subject", "collection"):
        return data.multi[{"available": "available", "subject": "subjects", "collection": "collections"}[name]] \
            .having(wanted, size)
    if name in ("language", "material"):
        return (data.language if name == "language" else data.material).having(wanted)
    if name == "year":
        out = np.zeros(size, dtype=bool)
        for low, high in filter(None, map(_bucket, values)):
            out |= engine._year_range(data.year, low, high, True, True)
        return out
    if name == "status":
        return data.multi["statuses"].having(wanted, size)
    if name == "barcode":
        out = np.zeros(size, dtype=bool)
        for value in values:
            out |= leaf.term("barcode", value.lower())
        return out
    if name == "acquired":  # "YYYY-MM-DD..YYYY-MM-DD" (either side may be empty)
        low, _, high = values[0].partition("..")
        return data.acquired_between(_day(low, 0), _day(high, 99991231))
    raise UnknownField(name)


def _day(text: str, default: int) -> int:
    """YYYY-MM-DD as the number YYYYMMDD; anything else leaves that side of the range open."""
    return int(text.replace("-", "")) if DAY.fullmatch(text.strip()) else default


def _facet_counts(leaf: engine.Leaf, mask: np.ndarray, viewer: Viewer, into: dict[str, dict[str, int]]) -> None:
    data = leaf.data
    parts = {"library": data.multi["libraries"].count(mask), "available": data.multi["available"].count(mask),
             "language": data.language.count(mask), "material": data.material.count(mask),
             "subject": data.multi["subjects"].count(mask), "collection": data.multi["collections"].count(mask)}
    if viewer.everything or viewer.library:  # staff also see where private copies are
        for code, n in data.multi["private"].count(mask).items():
            if viewer.everything or code == viewer.library:
                parts["library"][code] = parts["library"].get(code, 0) + n
    years = data.year[mask]
    parts["year"] = {f"{low}-{high}": int(((years >= max(low, 1)) & (years <= high)).sum())
                     for low, high in YEAR_BUCKETS}
    for name, counts in parts.items():
        target = into.setdefault(name, {})
        for value, n in counts.items():
            if n:
                target[value] = target.get(value, 0) + n


def _order_keys(leaf: engine.Leaf, docs: np.ndarray, sort: str, weights: dict[str, float]) -> list[Any]:
    data = leaf.data
    rid = data.rid[docs]
    if sort == "relevance":
        scores = engine.relevance(leaf, docs, weights) if weights else np.zeros(len(docs))
        return [(-s, -y, r) for s, y, r in zip(scores.tolist(), data.year[docs].tolist(), rid.tolist())]
    if sort in ("newest", "oldest"):
        years = data.year[docs].tolist()
        sign = -1 if sort == "newest" else 1
        return [(y == 0, sign * y, r) for y, r in zip(years, rid.tolist())]  # unknown years last
    texts = data.title_sort if sort == "title" else data.author_sort
    return [(texts[d] == "", texts[d], r) for d, r in zip(docs.tolist(), rid.tolist())]


def search(request: SearchRequest) -> Result:
    """Run a search: matches in order (the page asked for), the total, and facet counts."""
    if request.sort not in SORTS:
        raise ValueError(f"unknown sort {request.sort!r}")
    wanted = request.start + request.count
    facets: dict[str, dict[str, int]] = {}
    total, candidates = 0, []
    current = searcher()
    path = str(index_dir().resolve())
    analyse = _analyser(current.schema)
    all_docs = current.doc_count_all()
    weights = {t: engine.idf(max(current.doc_frequency(f, t) for f in ANY_FIELDS), all_docs)
               for t in engine.scoring_terms(request.node, analyse)}
    for leaf in engine.iter_leaves(current, path):
        mask = engine.Evaluator(leaf, analyse).mask(request.node) & _visible(leaf, request.viewer)
        for name, values in request.filters.items():
            if values:
                mask &= _filter(leaf, name, values, request.viewer)
        matched = int(mask.sum())
        if not matched:
            continue
        total += matched
        if request.facets:
            _facet_counts(leaf, mask, request.viewer, facets)
        if wanted:
            docs = np.flatnonzero(mask)
            keys = _order_keys(leaf, docs, request.sort, weights)
            candidates.extend(heapq.nsmallest(wanted, keys))
    candidates.sort()
    ids = [key[-1] for key in candidates[request.start:wanted]]
    ordered = {name: sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) for name, counts in facets.items()}
    if "subject" in ordered:
        ordered["subject"] = ordered["subject"][:SUBJECT_FACET_SIZE]
    if "year" in ordered:
        ordered["year"] = sorted(ordered["year"], key=lambda kv: kv[0], reverse=True)
    return Result(total=total, record_ids=ids, facets=ordered)


def search_ids(text: str, *, limit: int = 200, viewer: Viewer = Viewer(everything=True)) -> list[int]:
    """Record ids matching words in any field, best first (staff lookups and tests)."""
    words = q.Words("any", text)
    node: q.Node = q.Or((words, q.Exact("barcode", text.strip()), q.Exact("isbn", text.strip())))
    return search(SearchRequest(node=node, count=limit, viewer=viewer, facets=False)).record_ids


def suggest(text: str, *, viewer: Viewer = PUBLIC) -> str | None:
    """A corrected query built from the catalog's own words ("Mungkin maksud Anda"), or None."""
    current = searcher()
    reader = current.reader()
    words = _analyser(current.schema)(text, stem=False)
    if not words:
        return None
    changed, out = False, []
    for word in words:
        if reader.doc_frequency("words", word) > 0 or word.isdigit() or len(word) < 3:
            out.append(word)
            continue
        best = None
        for distance in (1, 2):
            found = [t.decode("utf-8") if isinstance(t, bytes) else t
                     for t in reader.terms_within("words", word, distance, prefix=1)]
            if found:
                best = max(found, key=lambda t: (reader.doc_frequency("words", t), t))
                break
        out.append(best or word)
        changed = changed or bool(best)
    if not changed:
        return None
    corrected = " ".join(out)
    hits = search(SearchRequest(node=q.Words("any", corrected), count=0, viewer=viewer, facets=False))
    return corrected if hits.total else None


def scan(field: str, term: str, *, count: int = 20, position: int = 1, viewer: Viewer = PUBLIC) -> list[tuple[str, int]]:
    """Index terms of a query field in order around ``term``, each with how many visible records hold it."""
    if field == "any":  # the words people type (title, author, subject, series), unstemmed
        fieldname = "words"
    elif field in TEXT_FIELDS:  # roots, as searched: a scanned term searched again finds the same records
        fieldname = TEXT_FIELDS[field]
    elif field in CODE_FIELDS and field not in ("id", "language", "material", "library"):
        fieldname = CODE_FIELDS[field]
    else:
        raise UnknownField(field)
    current = searcher()
    path = str(index_dir().resolve())
    reader = current.reader()
    start = (_analyser(current.schema)(term, stem=field in TEXT_FIELDS) or [term.lower()])[0] if term else ""
    before: deque[str] = deque(maxlen=max(0, position - 1))
    after: list[str] = []
    for fname, raw in reader.terms_from(fieldname, ""):
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if fname != fieldname:
            break
        if text < start:
            before.append(text)
        else:
            after.append(text)
            if len(after) >= count - len(before):
                break
    terms = (list(before) + after)[:count]
    leaves = list(engine.iter_leaves(current, path))
    out = []
    for text in terms:
        n = sum(int((leaf.term(fieldname, text) & leaf.live & _visible(leaf, viewer)).sum()) for leaf in leaves)
        if n:
            out.append((text, n))
    return out
