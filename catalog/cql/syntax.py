"""CQL syntax: CQL 1.1/1.2 text to a small syntax tree (catalog.cql.mapping makes queries of it).

Booleans (and, or, not, prox) bind left to right with equal precedence and may carry modifiers;
parentheses nest; ``>prefix="identifier"`` assigns context sets; relations are symbols or names
with modifiers; terms are words or quoted strings with backslash escapes; sortBy ends a query.
Errors carry the SRU diagnostic number and, for syntax, the character offset.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_LENGTH = 2000  # characters of CQL (diagnostic 12 beyond)
MAX_DEPTH = 32  # nested parentheses (diagnostic 13 beyond; keeps recursion bounded)
MAX_BOOLEANS = 64  # boolean operators (diagnostic 38 beyond)

BOOLEANS = ("and", "or", "not", "prox")
SYMBOLS = ("==", "<>", "<=", ">=", "=", "<", ">")  # longest first
WORD_STOP = frozenset('()/<>="')


class CqlError(ValueError):
    """A query we cannot run: ``code`` is the SRU diagnostic number, ``details`` its details field."""

    def __init__(self, code: int, details: str, message: str = "") -> None:
        super().__init__(message or details)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Token:
    """One lexical token: ``kind`` is ( ) / sym word quoted or eof."""

    kind: str
    value: str
    position: int


@dataclass(frozen=True)
class Modifier:
    """A relation, boolean or sort modifier such as ``/ignoreCase`` or ``/locale=id`` (name as written)."""

    name: str
    comparison: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Clause:
    """``index relation term`` (index None: a bare term). ``term`` keeps its backslash escapes."""

    index: str | None
    relation: str
    term: str
    modifiers: tuple[Modifier, ...] = ()
    prefixes: Mapping[str, str] = field(default_factory=dict, compare=False)
    position: int = 0


@dataclass(frozen=True)
class Boolean:
    """``left op right``; booleans bind left to right with equal precedence."""

    op: str
    left: Clause | Boolean
    right: Clause | Boolean
    modifiers: tuple[Modifier, ...] = ()
    position: int = 0


@dataclass(frozen=True)
class SortKey:
    """One key of a sortBy clause."""

    index: str
    modifiers: tuple[Modifier, ...] = ()


@dataclass(frozen=True)
class Query:
    """A parsed CQL query and its sort keys."""

    root: Clause | Boolean
    sort: tuple[SortKey, ...] = ()


def tokenize(text: str) -> list[Token]:
    """The tokens of a CQL string, ending with an eof token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()/":
            tokens.append(Token(char, char, i))
            i += 1
        elif char in "<>=":
            symbol = next(s for s in SYMBOLS if text.startswith(s, i))
            tokens.append(Token("sym", symbol, i))
            i += len(symbol)
        elif char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise CqlError(14, str(i), f"The quote at character {i} is never closed")
            tokens.append(Token("quoted", text[i + 1:j], i))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in WORD_STOP:
                j += 1
            tokens.append(Token("word", text[i:j], i))
            i = j
    tokens.append(Token("eof", "", n))
    return tokens


def unescape(term: str) -> str:
    """A term without its backslash escapes."""
    out, escaped = [], False
    for char in term:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


class _Parser:
    """Recursive descent over the tokens, one method per grammar rule (CQL 1.2, which reads 1.1 too)."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.booleans = 0

    def peek(self) -> Token:
        """The next token, not consumed."""
        return self.tokens[self.i]

    def take(self) -> Token:
        """The next token, consumed (eof stays)."""
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: Token, what: str) -> CqlError:
        """The error for finding ``token`` where ``what`` was expected (13 for a stray ')')."""
        if token.kind == ")":
            return CqlError(13, str(token.position), f"Unexpected ')' at character {token.position}")
        found = "the end of the query" if token.kind == "eof" else f"'{token.value}'"
        return CqlError(10, str(token.position), f"Expected {what} at character {token.position}, found {found}")

    def is_word(self, token: Token, *words: str) -> bool:
        """Whether the token is one of these words (in any case)."""
        return token.kind == "word" and token.value.lower() in words

    def query(self) -> Query:
        """query ::= cqlQuery [sortBy sortKey+] eof"""
        root = self.cql_query({})
        sort: tuple[SortKey, ...] = ()
        if self.is_word(self.peek(), "sortby"):
            self.take()
            sort = self.sort_keys()
        if self.peek().kind != "eof":
            raise self.fail(self.peek(), "a boolean operator or the end of the query")
        return Query(root, sort)

    def cql_query(self, prefixes: Mapping[str, str]) -> Clause | Boolean:
        """cqlQuery ::= prefixAssignment* scopedClause"""
        while self.peek().kind == "sym" and self.peek().value == ">":
            prefixes = {**prefixes, **self.prefix_assignment()}
        return self.scoped_clause(prefixes)

    def prefix_assignment(self) -> dict[str, str]:
        """prefixAssignment ::= '>' [prefix '='] identifier"""
        self.take()
        first = self.term("a context set prefix or identifier")
        if first.kind == "word" and self.peek().kind == "sym" and self.peek().value == "=":
            self.take()
            return {first.value.lower(): unescape(self.term("a context set identifier").value)}
        return {"": unescape(first.value)}

    def scoped_clause(self, prefixes: Mapping[str, str]) -> Clause | Boolean:
        """scopedClause ::= searchClause (boolean modifier* searchClause)*, read left to right."""
        left = self.search_clause(prefixes)
        while self.is_word(self.peek(), *BOOLEANS):
            op = self.take()
            self.booleans += 1
            if self.booleans > MAX_BOOLEANS:
                raise CqlError(38, str(MAX_BOOLEANS), f"More than {MAX_BOOLEANS} boolean operators")
            modifiers = self.modifiers()
            right = self.search_clause(prefixes)
            left = Boolean(op.value.lower(), left, right, modifiers, op.position)
        return left

    def search_clause(self, prefixes: Mapping[str, str]) -> Clause | Boolean:
        """searchClause ::= '(' cqlQuery ')' | index relation modifier* term | term"""
        token = self.peek()
        if token.kind == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CqlError(13, str(token.position), f"Parentheses nested more than {MAX_DEPTH} deep")
            inner = self.cql_query(prefixes)
            if self.peek().kind != ")":
                close = self.peek()
                raise CqlError(13, str(close.position), f"Missing ')' at character {close.position} "
                                                        f"for the '(' at character {token.position}")
            self.take()
            self.depth -= 1
            return inner
        first = self.term("a search term or '('")
        following = self.peek()
        is_relation = following.kind == "sym" or (
            following.kind == "word" and following.value.lower() not in (*BOOLEANS, "sortby"))
        if not is_relation:
            return Clause(None, "=", first.value, (), prefixes, first.position)
        if first.kind == "quoted":
            raise self.fail(following, "a boolean operator after the quoted term")
        relation = self.take().value.lower()
        modifiers = self.modifiers()
        term = self.term("a search term")
        return Clause(first.value, relation, term.value, modifiers, prefixes, first.position)

    def term(self, what: str) -> Token:
        """A word or quoted string (else a syntax error naming ``what``)."""
        token = self.peek()
        if token.kind not in ("word", "quoted"):
            raise self.fail(token, what)
        return self.take()

    def modifiers(self) -> tuple[Modifier, ...]:
        """modifier ::= '/' name [comparison value]"""
        found = []
        while self.peek().kind == "/":
            self.take()
            name = self.peek()
            if name.kind != "word":
                raise self.fail(name, "a modifier name after '/'")
            self.take()
            if self.peek().kind == "sym":
                comparison = self.take().value
                found.append(Modifier(name.value, comparison, unescape(self.term("a modifier value").value)))
            else:
                found.append(Modifier(name.value))
        return tuple(found)

    def sort_keys(self) -> tuple[SortKey, ...]:
        """sortKey ::= index modifier*"""
        keys = []
        while self.peek().kind == "word":
            index = self.take().value
            keys.append(SortKey(index, self.modifiers()))
        if not keys:
            raise self.fail(self.peek(), "an index after sortBy")
        return tuple(keys)


def parse(text: str) -> Query:
    """Parse CQL text; CqlError (10 syntax, 12 too long, 13 parentheses, 14 quotes, 38) when it is not valid."""
    if len(text) > MAX_LENGTH:
        raise CqlError(12, str(MAX_LENGTH), f"Queries are limited to {MAX_LENGTH} characters")
    if not text.strip():
        raise CqlError(10, "0", "Expected a search term at character 0, found an empty query")
    return _Parser(text).query()
