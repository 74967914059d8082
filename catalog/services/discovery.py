"""Finding records for patrons, staff and protocols (OPAC, JSON API, SRU): search, facets, availability.

Search results come from the index; what is on the shelf comes from the database at display time,
so availability is never stale. The public sees public holdings only; a library's staff also see
their own library's private copies; admin and DPK see everything.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, or_, select

from catalog import bib, query, querytext, search
from catalog.models import Item, ItemStatus, MatchKey, Record, RecordKind
from catalog.search import UnknownField
from catalog.services.visibility import public_record_clause
from ils.authz import Actor
from ils.extensions import db
from ils.models import Library

__all__ = ["UnknownField", "QueryTooComplex", "find", "scan", "search_page", "direct_hit", "availability",
           "viewer_for", "DUE_DATE_SOURCES", "PER_PAGE"]

PER_PAGE = 20
MAX_NODES = 64
MAX_START = 10_000  # deeper pages are refused: nobody reads them, robots do
# Circulation registers a function here: item ids -> due dates of the copies on loan.
DUE_DATE_SOURCES: list[Callable[[list[int]], dict[int, date]]] = []


class QueryTooComplex(ValueError):
    """A query with more parts than the server evaluates."""


def _size(node: query.Node) -> int:
    if isinstance(node, (query.And, query.Or)):
        return 1 + sum(_size(p) for p in node.parts)
    if isinstance(node, query.AndNot):
        return 1 + _size(node.positive) + _size(node.negative)
    return 1


def viewer_for(actor: Actor | None) -> search.Viewer:
    """What an actor may see in search: the public view unless staff."""
    if actor is None:
        return search.PUBLIC
    if actor.network_wide:
        return search.Viewer(everything=True)
    code = db.session.scalar(select(Library.code).where(Library.id == actor.library_id)) if actor.library_id else None
    return search.Viewer(library=code)


def find(node: query.Node, *, start: int = 0, count: int = 20, sort: str = "relevance",
         actor: Actor | None = None) -> tuple[int, list[int]]:
    """Total matches and the record ids at 0-based positions start..start+count-1, best first."""
    if _size(node) > MAX_NODES:
        raise QueryTooComplex(f"more than {MAX_NODES} parts")
    result = search.search(search.SearchRequest(node=node, start=max(0, start), count=max(0, count), sort=sort,
                                                viewer=viewer_for(actor), facets=False))
    return result.total, result.record_ids


def scan(field: str, term: str, *, count: int = 20, position: int = 1, actor: Actor | None = None
         ) -> list[tuple[str, int]]:
    """Terms of a query field in index order around ``term`` with how many visible records hold each."""
    return search.scan(field, term, count=count, position=position, viewer=viewer_for(actor))


def direct_hit(text: str, *, actor: Actor | None = None) -> int | None:
    """The one record a typed barcode or ISBN names (the search box then opens it directly)."""
    text = text.strip()
    if not text or len(text) > 40 or " " in text.strip():
        return None
    if (isbn := bib.normalise_isbn(text)) is not None:
        ids = list(db.session.scalars(select(MatchKey.record_id).where(MatchKey.key == f"b|isbn:{isbn}").limit(2)))
    else:
        ids = list(db.session.scalars(select(Item.record_id).where(Item.barcode == text).limit(2)))
    if len(ids) != 1:
        return None
    total, found = find(query.Exact("id", str(ids[0])), count=1, actor=actor)
    return found[0] if total == 1 else None


@dataclass
class Holding:
    """A library's copies of one title, as a patron or staff member may see them."""

    library_id: int
    code: str
    name: str
    total: int = 0
    available: int = 0
    on_loan: int = 0
    other: int = 0  # in transit, on the hold shelf, in repair ...
    next_due: date | None = None
    private: bool = False


@dataclass
class Hit:
    """One search result with what the results page shows."""

    record_id: int
    title: str
    responsibility: str
    main_author: str
    publisher: str
    year: int | None
    edition: str
    material_type: str
    language: str
    isbns: list[str]
    holdings: list[Holding] = field(default_factory=list)

    @property
    def available_total(self) -> int:
        """Copies on the shelf anywhere."""
        return sum(h.available for h in self.holdings)


def availability(record_ids: list[int], *, actor: Actor | None) -> dict[int, list[Holding]]:
    """Copies per record and library, from the database now (private copies only for those who may see them)."""
    if not record_ids:
        return {}
    viewer = viewer_for(actor)
    rows = db.session.execute(
        select(Item.id, Item.record_id, Item.status, Item.public, Library.id, Library.code, Library.name)
        .join(Library, Library.id == Item.library_id)
        .where(Item.record_id.in_(record_ids), Item.status != ItemStatus.WITHDRAWN)).all()
    loaned = [r[0] for r in rows if r[2] == ItemStatus.ON_LOAN]
    due: dict[int, date] = {}
    for source in DUE_DATE_SOURCES:
        due.update(source(loaned))
    out: dict[int, dict[int, Holding]] = {}
    for item_id, record_id, status, public, library_id, code, name in rows:
        if not public and not (viewer.everything or viewer.library == code):
            continue
        holding = out.setdefault(record_id, {}).setdefault(
            library_id, Holding(library_id=library_id, code=code, name=name, private=not public))
        holding.total += 1
        if status == ItemStatus.AVAILABLE:
            holding.available += 1
        elif status == ItemStatus.ON_LOAN:
            holding.on_loan += 1
            if (when := due.get(item_id)) and (holding.next_due is None or when < holding.next_due):
                holding.next_due = when
        else:
            holding.other += 1
    return {rid: sorted(h.values(), key=lambda h: (-h.available, h.name)) for rid, h in out.items()}


@dataclass
class Page:
    """One page of search results with facets, a spelling suggestion and paging figures."""

    text: str
    total: int
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    filters: dict[str, list[str]]
    sort: str
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.total // self.per_page))


def search_page(*, text: str, filters: dict[str, list[str]] | None = None, sort: str = "relevance", page: int = 1,
                per_page: int = PER_PAGE, actor: Actor | None = None) -> Page:
    """A results page for a search box text with facet filters: hits with live availability, facets, suggestion."""
    filters = {k: v for k, v in (filters or {}).items() if v and k in search.FACETS + (
        search.STAFF_FILTERS if actor is not None else ())}
    sort = sort if sort in search.SORTS else "relevance"
    page = max(1, min(page, MAX_START // per_page))
    node = querytext.parse(text)
    if _size(node) > MAX_NODES:
        raise QueryTooComplex(f"more than {MAX_NODES} parts")
    if isinstance(node, query.Everything) and sort == "relevance":
        sort = "newest"
    viewer = viewer_for(actor)
    result = search.search(search.SearchRequest(node=node, filters=filters, sort=sort, start=(page - 1) * per_page,
                                                count=per_page, viewer=viewer))
    suggestion = None
    if result.total < 3 and text.strip() and not filters:
        suggestion = search.suggest(text, viewer=viewer)
    return Page(text=text, total=result.total, page=page, per_page=per_page, hits=hits(result.record_ids, actor=actor),
                facets=result.facets, filters=filters, sort=sort, suggestion=suggestion)


def hits(record_ids: list[int], *, actor: Actor | None) -> list[Hit]:
    """Result summaries for record ids in the given order, with live availability."""
    if not record_ids:
        return []
    rows = {r.id: r for r in db.session.execute(
        select(Record.id, Record.title, Record.responsibility, Record.main_author, Record.publisher, Record.year,
               Record.edition, Record.material_type, Record.language, Record.isbns)
        .where(Record.id.in_(record_ids), Record.kind == RecordKind.BIBLIOGRAPHIC))}
    held = availability(record_ids, actor=actor)
    return [Hit(record_id=r.id, title=r.title, responsibility=r.responsibility, main_author=r.main_author,
                publisher=r.publisher, year=r.year, edition=r.edition, material_type=r.material_type,
                language=r.language, isbns=r.isbns.split()[:2], holdings=held.get(r.id, []))
            for rid in record_ids if (r := rows.get(rid)) is not None]


def record_visible(record_id: int, *, actor: Actor | None) -> bool:
    """True if the actor may see the record in the OPAC (read from the database, so it needs no index run).

    The public rule is catalog.services.visibility's; a library's staff also see the records only
    their library holds privately; admin and DPK see every bibliographic record.
    """
    viewer = viewer_for(actor)
    stmt = select(Record.id).where(Record.id == record_id, Record.kind == RecordKind.BIBLIOGRAPHIC)
    if not viewer.everything:
        clause = public_record_clause()
        if viewer.library:
            own = exists(select(Item.id).join(Library, Library.id == Item.library_id)
                         .where(Item.record_id == Record.id, Library.code == viewer.library))
            clause = or_(clause, own)
        stmt = stmt.where(clause)
    return db.session.scalar(stmt) is not None


def library_names() -> dict[str, str]:
    """Library code -> name (for facet labels)."""
    return dict(db.session.execute(select(Library.code, Library.name)).all())


@dataclass
class Arrival:
    """A title that a library added recently (its newest public copy)."""

    record_id: int
    title: str
    main_author: str
    year: int | None
    library_code: str
    library_name: str
    added_at: datetime


def new_arrivals(*, library_code: str | None = None, limit: int = 20) -> list[Arrival]:
    """Titles with a public copy added most recently, newest first (one line per title and library).

    Walks copies newest first by id (the primary key, so the home page never scans the whole table).
    """
    stmt = (select(Item.record_id, Item.created_at, Library.code, Library.name)
            .join(Library, Library.id == Item.library_id)
            .where(Item.public.is_(True), Item.status != ItemStatus.WITHDRAWN, Library.active.is_(True),
                   Library.opac_public.is_(True))
            .order_by(Item.id.desc()).limit(limit * 10))
    if library_code:
        stmt = stmt.where(Library.code == library_code)
    seen: dict[tuple[int, str], Any] = {}
    for row in db.session.execute(stmt):
        seen.setdefault((row.record_id, row.code), row)
        if len(seen) >= limit:
            break
    records = {r.id: r for r in db.session.execute(
        select(Record.id, Record.title, Record.main_author, Record.year, Record.kind)
        .where(Record.id.in_([rid for rid, _code in seen])))}
    return [Arrival(record_id=row.record_id, title=rec.title, main_author=rec.main_author, year=rec.year,
                    library_code=row.code, library_name=row.name, added_at=row.created_at)
            for row in seen.values()
            if (rec := records.get(row.record_id)) is not None and rec.kind == RecordKind.BIBLIOGRAPHIC]


@dataclass
class Copy:
    """One copy as the record page lists it."""

    library_code: str
    library_name: str
    collection: str
    call_number: str
    status: ItemStatus
    due: date | None
    private: bool


def copies(record_id: int, *, actor: Actor | None) -> list[Copy]:
    """Every copy of a record the actor may see, by library: collection, call number, status, due date."""
    viewer = viewer_for(actor)
    rows = db.session.execute(
        select(Item.id, Item.public, Item.status, Item.collection, Item.call_class, Item.call_author, Item.call_title,
               Library.code, Library.name)
        .join(Library, Library.id == Item.library_id)
        .where(Item.record_id == record_id, Item.status != ItemStatus.WITHDRAWN)
        .order_by(Library.name, Item.id)).all()
    visible = [r for r in rows if r.public or viewer.everything or viewer.library == r.code]
    due: dict[int, date] = {}
    loaned = [r.id for r in visible if r.status == ItemStatus.ON_LOAN]
    for source in DUE_DATE_SOURCES if loaned else ():
        due.update(source(loaned))
    return [Copy(library_code=r.code, library_name=r.name, collection=r.collection,
                 call_number=" ".join(filter(None, (r.call_class, r.call_author, r.call_title))), status=r.status,
                 due=due.get(r.id), private=not r.public) for r in visible]
