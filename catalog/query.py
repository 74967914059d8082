"""Search queries as plain values, whatever asked them: the OPAC search box, the JSON API, SRU's CQL.

Parsers (the OPAC box syntax in catalog.discovery_syntax, CQL in catalog.cql) produce these nodes;
catalog.search turns them into index queries. Nothing here knows Whoosh, Flask or the database.

Fields are our own names; each protocol maps its index names onto them (CQL's ``dc.title`` and the
box's ``judul:`` both become ``title``).
"""
from __future__ import annotations

from dataclasses import dataclass

# Searchable fields. "any" is every text field (CQL cql.anywhere / cql.serverChoice, the plain box).
TEXT_FIELDS = ("any", "title", "author", "subject", "publisher", "series", "notes")
CODE_FIELDS = ("isbn", "issn", "identifier", "callnumber", "barcode", "language", "material", "library", "id")
NUMBER_FIELDS = ("year",)
FIELDS = TEXT_FIELDS + CODE_FIELDS + NUMBER_FIELDS


@dataclass(frozen=True)
class Words:
    """Words in a field. ``match``: "all" (every word, any order), "any" (at least one), "adj" (a phrase)."""

    field: str
    text: str
    match: str = "all"


@dataclass(frozen=True)
class Exact:
    """The whole value of a field equals ``text`` (CQL ``==``/``exact``; codes such as an ISBN)."""

    field: str
    text: str


@dataclass(frozen=True)
class Prefix:
    """A word in a field starts with ``text`` (``sejar*``)."""

    field: str
    text: str


@dataclass(frozen=True)
class Range:
    """A number field between two bounds (either may be None: open)."""

    field: str
    low: int | None = None
    high: int | None = None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AndNot:
    """``positive`` matches and ``negative`` does not (CQL ``not``, the box's ``-word``)."""

    positive: Node
    negative: Node


@dataclass(frozen=True)
class Everything:
    """Every record (an empty search box, CQL ``cql.allRecords = 1``)."""


Node = Words | Exact | Prefix | Range | And | Or | AndNot | Everything


def fields_in(node: Node) -> set[str]:
    """Every field a query uses (to refuse unknown ones before searching)."""
    if isinstance(node, (And, Or)):
        return set().union(*(fields_in(p) for p in node.parts)) if node.parts else set()
    if isinstance(node, AndNot):
        return fields_in(node.positive) | fields_in(node.negative)
    if isinstance(node, Everything):
        return set()
    return {node.field}
