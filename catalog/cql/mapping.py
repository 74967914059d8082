"""CQL syntax trees to catalog.query nodes, through tables: indexes, relations, modifiers, sort keys."""
from __future__ import annotations

from collections.abc import Mapping

from catalog import query as q
from catalog.cql.syntax import Boolean, Clause, CqlError, Modifier, SortKey, parse, unescape

# Context sets by identifier (for prefix assignments such as >dc="info:srw/cql-context-set/1/dc-v1.1").
CONTEXT_SETS = {
    "info:srw/cql-context-set/1/cql-v1.1": "cql", "info:srw/cql-context-set/1/cql-v1.2": "cql",
    "info:srw/cql-context-set/1/dc-v1.1": "dc", "http://zing.z3950.org/cql/bath/2.0/": "bath",
    "info:srw/cql-context-set/2/rec-1.0": "rec", "info:srw/cql-context-set/2/rec-1.1": "rec",
}
# An index written without a prefix ("title") is read in this set, as explain announces.
DEFAULT_CONTEXT_SET = "dc"
EVERYTHING = "*"  # the pseudo-field of cql.allRecords
# CQL index (lower case) -> catalog.query field. dc.creator and bath.name both search names.
INDEXES = {
    "cql.anywhere": "any", "cql.serverchoice": "any", "cql.allrecords": EVERYTHING,
    "dc.title": "title", "dc.creator": "author", "bath.name": "author", "dc.subject": "subject",
    "dc.publisher": "publisher", "dc.identifier": "identifier", "dc.date": "year",
    "bath.isbn": "isbn", "bath.issn": "issn", "rec.id": "id",
}
# Relations each kind of field takes; a known relation elsewhere is diagnostic 22, an unknown one 19.
RELATIONS = {
    "text": frozenset({"=", "==", "exact", "any", "all", "adj"}),
    "code": frozenset({"=", "==", "exact", "any", "all", "adj"}),
    "number": frozenset({"=", "==", "exact", "any", "<", ">", "<=", ">=", "<>", "within"}),
}
KNOWN_RELATIONS = frozenset().union(*RELATIONS.values())
# Relation modifiers our index already satisfies (it folds case and accents, stems words and ranks
# by relevance); masked/unmasked switch the reading of * ? ^. Anything else is diagnostic 20.
MODIFIERS = frozenset({"ignorecase", "ignoreaccents", "stem", "relevant", "masked", "unmasked"})
# sortBy: (index, descending) -> an order catalog.services.discovery knows (one key only).
SORTS = {("dc.title", False): "title", ("dc.creator", False): "author", ("bath.name", False): "author",
         ("dc.date", False): "oldest", ("dc.date", True): "newest"}
SORT_DIRECTIONS = {"ascending": False, "descending": True}


def index_name(index: str | None, prefixes: Mapping[str, str]) -> str:
    """The canonical ``set.name`` of an index as written; CqlError 15 for an unknown context set."""
    if index is None:
        return "cql.serverchoice"
    prefix, _dot, name = index.lower().rpartition(".")
    if prefix in prefixes or not prefix:
        identifier = prefixes.get(prefix)
        context = CONTEXT_SETS.get(identifier) if identifier is not None else DEFAULT_CONTEXT_SET
        if context is None:
            raise CqlError(15, identifier or prefix, f"Unknown context set {identifier}")
    elif prefix in CONTEXT_SETS.values():
        context = prefix
    else:
        raise CqlError(15, prefix, f"Unknown context set '{prefix}'")
    return f"{context}.{name}"


def field_of(index: str | None, prefixes: Mapping[str, str] | None = None) -> str:
    """The catalog.query field an index searches; CqlError 15/16 when we have no such index."""
    name = index_name(index, prefixes or {})
    if name not in INDEXES:
        raise CqlError(16, index or name, f"Unsupported index {index}")
    return INDEXES[name]


def _kind(field_name: str) -> str:
    if field_name in q.NUMBER_FIELDS:
        return "number"
    return "code" if field_name in q.CODE_FIELDS else "text"


def _check_modifiers(modifiers: tuple[Modifier, ...]) -> bool:
    """Whether masking applies; CqlError 20 for a modifier we cannot honour."""
    for modifier in modifiers:
        if modifier.name.lower().removeprefix("cql.") not in MODIFIERS or modifier.comparison is not None:
            raise CqlError(20, modifier.name, f"Unsupported relation modifier /{modifier.name}")
    return not any(m.name.lower().removeprefix("cql.") == "unmasked" for m in modifiers)


def words(term: str, *, masked: bool = True) -> list[tuple[str, bool]]:
    """(word, is_prefix) for each word of a term; CqlError 28/31 for masking or anchoring we cannot do."""
    found: list[tuple[str, bool]] = []
    chars: list[tuple[str, bool]] = []  # (character, special: unescaped * ? ^)

    def flush() -> None:
        """End the word being read."""
        if not chars:
            return
        special = [i for i, (c, s) in enumerate(chars) if s]
        text = "".join(c for c, s in chars if not s)
        prefix = special == [len(chars) - 1] and chars[-1][0] == "*" and text != ""
        if special and not prefix:
            wrong = chars[special[0]][0]
            word = "".join(c for c, _s in chars)
            if wrong == "^":
                raise CqlError(31, word, f"Anchoring (^) is not supported: {word}")
            raise CqlError(28, word, f"Masking with {wrong} is supported only as a trailing *: {word}")
        found.append((text, prefix))
        chars.clear()

    escaped = False
    for char in term:
        if escaped:
            chars.append((char, False))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            flush()
        else:
            chars.append((char, masked and char in "*?^"))
    flush()
    return found


def _text_node(field_name: str, relation: str, parts: list[tuple[str, bool]], text: str) -> q.Node:
    plain = " ".join(w for w, is_prefix in parts if not is_prefix)
    prefixes: list[q.Node] = [q.Prefix(field_name, w) for w, is_prefix in parts if is_prefix]
    if relation in ("==", "exact"):
        if prefixes:
            raise CqlError(24, f"{relation} {text}", "Exact matching cannot be combined with masking")
        return q.Exact(field_name, " ".join(w for w, _p in parts))
    if relation == "adj" and prefixes and len(parts) > 1:
        raise CqlError(33, text, "A phrase cannot contain masked words")
    match = "adj" if relation == "adj" else ("any" if relation == "any" else "all")
    nodes = ([q.Words(field_name, plain, match)] if plain else []) + prefixes
    if len(nodes) == 1:
        return nodes[0]
    return q.Or(tuple(nodes)) if match == "any" else q.And(tuple(nodes))


def _code_node(field_name: str, relation: str, parts: list[tuple[str, bool]], text: str) -> q.Node:
    nodes: list[q.Node] = [q.Prefix(field_name, w) if is_prefix else q.Exact(field_name, w) for w, is_prefix in parts]
    if field_name == "id" and any(is_prefix or not w.isdigit() for w, is_prefix in parts):
        raise CqlError(36, text, "Record ids are whole numbers")
    if len(nodes) == 1:
        return nodes[0]
    if relation == "any":
        return q.Or(tuple(nodes))
    if relation == "all":
        return q.And(tuple(nodes))
    if any(is_prefix for _w, is_prefix in parts):
        raise CqlError(33, text, "A phrase cannot contain masked words")
    return q.Exact(field_name, " ".join(w for w, _p in parts))


def _year(word: str, is_prefix: bool, text: str) -> int:
    if is_prefix or not word.isdigit() or len(word) > 4:
        raise CqlError(36, text, f"dc.date takes years such as 2024, not {text}")
    return int(word)


def _number_node(field_name: str, relation: str, parts: list[tuple[str, bool]], text: str) -> q.Node:
    years = [_year(w, p, text) for w, p in parts]
    if relation == "within":
        if len(years) != 2:
            raise CqlError(36, text, "within takes two years: dc.date within \"2000 2010\"")
        return q.Range(field_name, min(years), max(years))
    if relation == "any":
        nodes = tuple(q.Range(field_name, y, y) for y in years)
        return nodes[0] if len(nodes) == 1 else q.Or(nodes)
    if len(years) != 1:
        raise CqlError(36, text, f"{relation} takes one year")
    year = years[0]
    bounds = {"<": q.Range(field_name, None, year, include_high=False), "<=": q.Range(field_name, None, year),
              ">": q.Range(field_name, year, None, include_low=False), ">=": q.Range(field_name, year, None)}
    if relation in bounds:
        return bounds[relation]
    if relation == "<>":
        return q.AndNot(q.Everything(), q.Range(field_name, year, year))
    return q.Range(field_name, year, year)


BUILDERS = {"text": _text_node, "code": _code_node, "number": _number_node}


def clause_node(clause: Clause, *, version: str = "1.2") -> q.Node:
    """One search clause as a catalog.query node (see ``to_query``)."""
    field_name = field_of(clause.index, clause.prefixes)
    relation = clause.relation.removeprefix("cql.")
    masked = _check_modifiers(clause.modifiers)
    if field_name == EVERYTHING:
        return q.Everything()
    kind = _kind(field_name)
    if relation not in KNOWN_RELATIONS:
        raise CqlError(19, clause.relation, f"Unsupported relation {clause.relation}")
    if relation not in RELATIONS[kind]:
        index = clause.index or "cql.serverChoice"
        raise CqlError(22, f"{index} {clause.relation}", f"{index} cannot be searched with {clause.relation}")
    text = unescape(clause.term).strip()
    parts = words(clause.term, masked=masked)
    if not parts:
        raise CqlError(27, "", "Empty terms are not supported")
    if relation == "=":
        # CQL 1.1: "=" is the server's choice (all words); CQL 1.2 and later: a phrase (adj).
        relation = "adj" if version != "1.1" and len(parts) > 1 else "all"
    return BUILDERS[kind](field_name, relation, parts, text)


def node(tree: Clause | Boolean, *, version: str = "1.2") -> q.Node:
    """A syntax tree as a catalog.query node; and/or runs of the same operator are flattened."""
    if isinstance(tree, Clause):
        return clause_node(tree, version=version)
    if tree.op == "prox":
        raise CqlError(37, "prox", "Proximity searching (prox) is not supported")
    if tree.modifiers:
        raise CqlError(46, tree.modifiers[0].name, f"Unsupported boolean modifier /{tree.modifiers[0].name}")
    left, right = node(tree.left, version=version), node(tree.right, version=version)
    if tree.op == "not":
        return q.AndNot(left, right)
    combined = q.And if tree.op == "and" else q.Or
    parts = [p for side in (left, right) for p in (side.parts if isinstance(side, combined) else (side,))]
    return combined(tuple(parts))


def sort_of(keys: tuple[SortKey, ...]) -> str:
    """The discovery order for sortBy keys ("relevance" without); CqlError 16, 20, 80 or 90 if we cannot."""
    if not keys:
        return "relevance"
    if len(keys) > 1:
        raise CqlError(80, keys[1].index, "Results can be sorted by one key only")
    key = keys[0]
    descending = False
    for modifier in key.modifiers:
        direction = modifier.name.lower().removeprefix("sort.")
        if direction not in SORT_DIRECTIONS or modifier.comparison is not None:
            raise CqlError(20, modifier.name, f"Unsupported sort modifier /{modifier.name}")
        descending = SORT_DIRECTIONS[direction]
    name = index_name(key.index, {})
    if not any(index == name for index, _descending in SORTS):
        raise CqlError(16, key.index, f"Cannot sort by {key.index}")
    if (name, descending) not in SORTS:
        raise CqlError(90, "descending" if descending else "ascending", f"{key.index} sorts in one direction only")
    return SORTS[(name, descending)]


def to_query(text: str, *, version: str = "1.2") -> q.Node:
    """CQL text as a catalog.query node (``version``: the CQL version, which decides what = means)."""
    return node(parse(text).root, version=version)
