"""The OPAC search box: what a patron types, as catalog.query nodes. Pure functions.

Words are ANDed. Supported: "a phrase", prefix*, -word (without), OR/ATAU between terms, parentheses,
and field prefixes in Bahasa Indonesia and English: judul:/title:, pengarang:/penulis:/author:,
subjek:/subject:, penerbit:/publisher:, seri:/series:, isbn:, issn:, tahun:/year: (2019 or 2010-2020),
bahasa:/language:, jenis:/type:, perpustakaan:/library:, catatan:/notes:, nomor:/callnumber:, id:.
Anything that does not parse as syntax is searched as words, so a typing slip never gives an error.
"""
from __future__ import annotations

import re

from catalog import query as q
from catalog.bib import normalise_isbn, normalise_issn

ALIASES = {
    "judul": "title", "title": "title", "pengarang": "author", "penulis": "author", "author": "author",
    "subjek": "subject", "subject": "subject", "topik": "subject", "penerbit": "publisher", "publisher": "publisher",
    "seri": "series", "series": "series", "isbn": "isbn", "issn": "issn", "tahun": "year", "year": "year",
    "bahasa": "language", "language": "language", "jenis": "material", "type": "material",
    "perpustakaan": "library", "library": "library", "catatan": "notes", "notes": "notes",
    "nomor": "callnumber", "callnumber": "callnumber", "barcode": "barcode", "id": "id",
}
OR_WORDS = ("OR", "ATAU")
AND_WORDS = ("AND", "DAN")
MAX_TERMS = 32  # a query longer than this is cut (protects the server from pasted essays)
TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?'
                   r'(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s()"]+)))')
YEAR_SPAN = re.compile(r"^(\d{4})?\s*(?:-|\.\.)\s*(\d{4})?$")


def _leaf(field: str, text: str, phrase: bool) -> q.Node | None:
    text = text.strip()
    if not text:
        return None
    if field == "year" and (span := YEAR_SPAN.match(text)) and any(span.groups()):
        low, high = span.groups()
        return q.Range("year", int(low) if low else None, int(high) if high else None)
    if phrase:
        return q.Words(field, text, match="adj")
    if field == "any" and (isbn := normalise_isbn(text)) is not None:  # a typed ISBN-10 finds the ISBN-13 too
        return q.Or((q.Words("any", text), q.Exact("isbn", isbn)))
    if field == "any" and (issn := normalise_issn(text)) is not None and len(text) <= 9:
        return q.Or((q.Words("any", text), q.Exact("issn", issn)))
    if text.endswith("*") and len(text.rstrip("*")) >= 2:
        return q.Prefix(field, text.rstrip("*"))
    word = text.strip("*")
    return q.Words(field, word) if word else None


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []  # (kind, value): open, close, op, leaf or not (value: node index)
        self.nodes: list[q.Node] = []
        pos = 0
        while pos < len(text) and len(self.tokens) < MAX_TERMS * 2:
            match = TOKEN.match(text, pos)
            if not match or match.end() == pos:
                pos += 1
                continue
            pos = match.end()
            if match.group("open"):
                self.tokens.append(("open", "("))
            elif match.group("close"):
                self.tokens.append(("close", ")"))
            else:
                word, phrase = match.group("word"), match.group("phrase")
                field = ALIASES.get((match.group("field") or "").lower())
                raw = f'{match.group("field")}:' if match.group("field") and not field else ""
                if word in OR_WORDS or word in AND_WORDS:
                    self.tokens.append(("op", word))
                    continue
                leaf = _leaf(field or "any", raw + (phrase if phrase is not None else word or ""), phrase is not None)
                if leaf is not None:
                    self.tokens.append(("not" if match.group("neg") else "leaf", str(len(self.nodes))))
                    self.nodes.append(leaf)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expression(self, depth: int = 0) -> q.Node | None:
        """or-groups of and-groups of terms."""
        alternatives: list[q.Node] = []
        required: list[q.Node] = []
        excluded: list[q.Node] = []
        pending_or = False
        while (token := self.peek()) is not None:
            kind, value = token
            if kind == "close":
                if depth:
                    self.pos += 1
                    break
                self.pos += 1  # a stray ")": ignore it
                continue
            self.pos += 1
            if kind == "op":
                if value in OR_WORDS and (required or excluded):
                    alternatives.append(_combine(required, excluded))
                    required, excluded = [], []
                    pending_or = True
                continue
            if kind == "open":
                inner = self.expression(depth + 1)
                if inner is not None:
                    required.append(inner)
                continue
            node = self.nodes[int(value)]
            (excluded if kind == "not" else required).append(node)
        if required or excluded:
            alternatives.append(_combine(required, excluded))
        elif pending_or and not alternatives:
            return None
        if not alternatives:
            return None
        return alternatives[0] if len(alternatives) == 1 else q.Or(tuple(alternatives))


def _combine(required: list[q.Node], excluded: list[q.Node]) -> q.Node:
    positive: q.Node = (required[0] if len(required) == 1 else q.And(tuple(required))) if required else q.Everything()
    if not excluded:
        return positive
    negative = excluded[0] if len(excluded) == 1 else q.Or(tuple(excluded))
    return q.AndNot(positive, negative)


def parse(text: str) -> q.Node:
    """The query for a search box text (an empty box: every record)."""
    node = _Parser(text[:500]).expression()
    return node if node is not None else q.Everything()
