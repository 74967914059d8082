"""CQL parser and mapping (catalog.cql): plain values in, catalog.query nodes or SRU diagnostics out."""
from __future__ import annotations

import pytest

from catalog import cql
from catalog import query as q
from catalog.cql import syntax

ANY_A, ANY_B, ANY_C = (q.Words("any", w) for w in "abc")


def error(text: str, *, version: str = "1.2") -> cql.CqlError:
    """The CqlError a query raises (fails the test if it parses and maps)."""
    with pytest.raises(cql.CqlError) as caught:
        cql.to_query(text, version=version)
    return caught.value


# --- syntax -----------------------------------------------------------------------------------------

def test_tokens_take_the_longest_comparator_and_keep_escapes() -> None:
    """>= is one token, / separates modifiers, quoted strings keep their backslashes for the mapping step."""
    tokens = cql.tokenize('dc.date>=2000 and/x dc.title =="a \\"b\\""')
    assert [(t.kind, t.value, t.position) for t in tokens] == [
        ("word", "dc.date", 0), ("sym", ">=", 7), ("word", "2000", 9), ("word", "and", 14), ("/", "/", 17),
        ("word", "x", 18), ("word", "dc.title", 20), ("sym", "==", 29), ("quoted", 'a \\"b\\"', 31), ("eof", "", 40)]


def test_booleans_bind_left_to_right_with_equal_precedence() -> None:
    """CQL has no operator precedence: a or b and c is (a or b) and c."""
    assert cql.to_query("a or b and c") == q.And((q.Or((ANY_A, ANY_B)), ANY_C))
    assert cql.to_query("a and b or c") == q.Or((q.And((ANY_A, ANY_B)), ANY_C))
    assert cql.to_query("a not b or c") == q.Or((q.AndNot(ANY_A, ANY_B), ANY_C))
    assert cql.to_query("a and b and c") == q.And((ANY_A, ANY_B, ANY_C))  # runs are flattened


def test_parentheses_group() -> None:
    """Parentheses override the left-to-right reading, at any depth."""
    assert cql.to_query("a or (b and c)") == q.Or((ANY_A, q.And((ANY_B, ANY_C))))
    assert cql.to_query("((a))") == ANY_A
    assert cql.to_query("a not (b or c)") == q.AndNot(ANY_A, q.Or((ANY_B, ANY_C)))


def test_boolean_words_are_case_insensitive_and_can_be_terms() -> None:
    """AND works like and; after a relation, "and" is just a word."""
    assert cql.to_query("dc.title=hamlet AND dc.creator=shakespeare") == q.And(
        (q.Words("title", "hamlet"), q.Words("author", "shakespeare")))
    assert cql.to_query("dc.title = and") == q.Words("title", "and")
    assert cql.to_query('"or"') == q.Words("any", "or")


def test_quoted_terms_and_escapes() -> None:
    """Quotes make one term of several words; \\" is a quote and \\* a plain asterisk."""
    assert cql.to_query('dc.title any "laut pantai"') == q.Words("title", "laut pantai", "any")
    assert cql.to_query('dc.title == "kata \\"pengantar\\""') == q.Exact("title", 'kata "pengantar"')
    assert cql.to_query('dc.title = "a\\*b"') == q.Words("title", "a*b")
    assert cql.unescape('a\\\\b\\"') == 'a\\b"'


@pytest.mark.parametrize(("text", "code", "details"), [
    ("dc.title=", 10, "9"),  # a term is missing at the end
    ("dc.title=hamlet and", 10, "19"),
    ("= hamlet", 10, "0"),
    ("a b", 10, "3"),  # b reads as a relation, then no term
    ('"dc.title" = x', 10, "11"),  # an index cannot be quoted
    ("a sortBy", 10, "8"),
    ("   ", 10, "0"),
    ("(dc.title=hamlet", 13, "16"),  # missing ) at the end
    ("dc.title=hamlet)", 13, "15"),
    ('dc.title="hamlet', 14, "9"),
    ('"a \\"', 14, "0"),  # the escaped quote does not close the string
])
def test_syntax_errors_carry_the_character_offset(text: str, code: int, details: str) -> None:
    """Syntax errors are diagnostics 10, 13 (parentheses) and 14 (quotes) with the offset in details."""
    found = error(text)
    assert (found.code, found.details) == (code, details)
    assert f"character {details}" in str(found)


def test_limits_on_length_nesting_and_booleans() -> None:
    """Very long, deeply nested or sprawling queries are refused before they cost anything."""
    assert error("a" * (syntax.MAX_LENGTH + 1)).code == 12
    deep = "(" * (syntax.MAX_DEPTH + 1) + "a" + ")" * (syntax.MAX_DEPTH + 1)
    assert error(deep).code == 13
    assert cql.to_query("(" * syntax.MAX_DEPTH + "a" + ")" * syntax.MAX_DEPTH) == ANY_A
    sprawling = " or ".join(["a"] * (syntax.MAX_BOOLEANS + 2))
    assert (error(sprawling).code, error(sprawling).details) == (38, str(syntax.MAX_BOOLEANS))


# --- indexes --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("index", "field"), [
    ("cql.anywhere", "any"), ("cql.serverChoice", "any"), ("dc.title", "title"), ("dc.creator", "author"),
    ("bath.name", "author"), ("dc.subject", "subject"), ("dc.publisher", "publisher"),
    ("dc.identifier", "identifier"), ("bath.isbn", "isbn"), ("bath.issn", "issn"), ("DC.Title", "title"),
])
def test_index_table(index: str, field: str) -> None:
    """Each CQL index searches its catalog.query field (index names ignore case)."""
    node = cql.to_query(f"{index} = x1")
    assert node.field == field  # type: ignore[union-attr]


def test_every_index_maps_to_a_query_field() -> None:
    """The table names only fields catalog.query knows."""
    assert set(cql.INDEXES.values()) - {cql.EVERYTHING} <= set(q.FIELDS)


def test_server_choice_default_set_and_all_records() -> None:
    """A bare term is cql.serverChoice =; an unprefixed index is in dc; cql.allRecords is everything."""
    assert cql.to_query("hamlet") == q.Words("any", "hamlet")
    assert cql.to_query("title = hamlet") == q.Words("title", "hamlet")
    assert cql.to_query("cql.allRecords = 1") == q.Everything()
    assert cql.to_query("cql.allRecords = 1 not dc.title = x") == q.AndNot(q.Everything(), q.Words("title", "x"))


def test_prefix_assignments() -> None:
    """>p="identifier" names a context set for the query (or the default set with no prefix)."""
    assert cql.to_query('>x="info:srw/cql-context-set/1/dc-v1.1" x.title = y') == q.Words("title", "y")
    assert cql.to_query('>"http://zing.z3950.org/cql/bath/2.0/" isbn = 9786020000000') == q.Exact(
        "isbn", "9786020000000")
    assert cql.to_query('(>x="info:srw/cql-context-set/1/dc-v1.1" x.title = y) and dc.title = z') == q.And(
        (q.Words("title", "y"), q.Words("title", "z")))
    unknown = error('>x="info:example/other" x.title = y')
    assert (unknown.code, unknown.details) == (15, "info:example/other")


# --- relations ------------------------------------------------------------------------------------------

def test_equals_depends_on_the_cql_version() -> None:
    """CQL 1.1: = is the server's choice (we take all words); CQL 1.2 and SRU 2.0's CQL: a phrase."""
    assert cql.to_query('dc.title = "sejarah kota"', version="1.1") == q.Words("title", "sejarah kota", "all")
    assert cql.to_query('dc.title = "sejarah kota"', version="1.2") == q.Words("title", "sejarah kota", "adj")
    assert cql.to_query("dc.title = sejarah", version="1.2") == q.Words("title", "sejarah", "all")


@pytest.mark.parametrize(("text", "node"), [
    ('dc.title any "a b"', q.Words("title", "a b", "any")),
    ('dc.title all "a b"', q.Words("title", "a b", "all")),
    ('dc.title adj "a b"', q.Words("title", "a b", "adj")),
    ('dc.title ANY "a b"', q.Words("title", "a b", "any")),
    ('dc.title cql.any "a b"', q.Words("title", "a b", "any")),
    ('dc.title == "a  b"', q.Exact("title", "a b")),
    ('dc.title exact "a b"', q.Exact("title", "a b")),
    ("bath.isbn = 978-602-0000-00-0", q.Exact("isbn", "978-602-0000-00-0")),
    ('bath.isbn any "9786020000000 9786021111111"', q.Or((q.Exact("isbn", "9786020000000"),
                                                          q.Exact("isbn", "9786021111111")))),
    ('dc.identifier all "a1 b2"', q.And((q.Exact("identifier", "a1"), q.Exact("identifier", "b2")))),
    ("rec.id == 12", q.Exact("id", "12")),
    ("dc.date = 2019", q.Range("year", 2019, 2019)),
    ("dc.date == 2019", q.Range("year", 2019, 2019)),
    ("dc.date < 2000", q.Range("year", None, 2000, include_high=False)),
    ("dc.date <= 2000", q.Range("year", None, 2000)),
    ("dc.date > 2000", q.Range("year", 2000, None, include_low=False)),
    ("dc.date >= 2000", q.Range("year", 2000, None)),
    ("dc.date <> 2000", q.AndNot(q.Everything(), q.Range("year", 2000, 2000))),
    ('dc.date within "2010 2000"', q.Range("year", 2000, 2010)),
    ('dc.date any "1999 2019"', q.Or((q.Range("year", 1999, 1999), q.Range("year", 2019, 2019)))),
])
def test_relations(text: str, node: q.Node) -> None:
    """Each relation becomes the node it means for that kind of field."""
    assert cql.to_query(text) == node


# --- modifiers ------------------------------------------------------------------------------------------

def test_modifiers_we_honour_change_nothing_or_masking() -> None:
    """ignoreCase, ignoreAccents, stem and relevant are what the index does; unmasked makes * a character."""
    plain = q.Words("title", "hamlet")
    for modifier in ("ignoreCase", "cql.ignoreCase", "IGNOREACCENTS", "stem", "relevant", "masked"):
        assert cql.to_query(f"dc.title =/{modifier} hamlet") == plain
    assert cql.to_query("dc.title =/unmasked ham*") == q.Words("title", "ham*")
    assert cql.to_query("dc.title =/ignoreCase/relevant ham*") == q.Prefix("title", "ham")


# --- masking --------------------------------------------------------------------------------------------

def test_trailing_asterisk_is_a_prefix() -> None:
    """sejar* finds words starting with sejar, also beside whole words and in code fields."""
    assert cql.to_query("dc.title = sejar*") == q.Prefix("title", "sejar")
    assert cql.to_query('dc.title all "kota sejar*"') == q.And((q.Words("title", "kota"), q.Prefix("title", "sejar")))
    assert cql.to_query('dc.title any "kota sejar*"') == q.Or((q.Words("title", "kota", "any"),
                                                               q.Prefix("title", "sejar")))
    assert cql.to_query('dc.title = "kota sejar*"', version="1.1") == q.And(
        (q.Words("title", "kota"), q.Prefix("title", "sejar")))
    assert cql.to_query("bath.isbn = 978602*") == q.Prefix("isbn", "978602")
    assert cql.words("ham\\* x*") == [("ham*", False), ("x", True)]


# --- what we cannot search -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "code", "details"), [
    # unknown indexes (16) and context sets (15), named as written
    ("ti = hamlet", 16, "ti"),  # yaz-client's default index: not ours
    ("dc.format = x", 16, "dc.format"),
    ("foo.title = x", 15, "foo"),
    # unknown relations (19), relations the index cannot take (22), unusable (36) or empty (27) terms
    ("dc.title encloses x", 19, "encloses"),
    ("dc.title within x", 22, "dc.title within"),
    ("dc.title < x", 22, "dc.title <"),
    ("dc.publisher <> x", 22, "dc.publisher <>"),
    ("nope < x", 16, "nope"),  # an unknown index is reported before its relation
    ("dc.date adj 2000", 22, "dc.date adj"),
    ("dc.date = abc", 36, "abc"),
    ('dc.date within "2000"', 36, "2000"),
    ('dc.date >= "2000 2010"', 36, "2000 2010"),
    ("rec.id = abc", 36, "abc"),
    ('dc.title = ""', 27, ""),
    # relation modifiers we cannot honour (20), boolean modifiers (46), prox (37)
    ("dc.title =/respectCase x", 20, "respectCase"),
    ("dc.title =/locale=id x", 20, "locale"),
    ("dc.title =/ignoreCase/fuzzy x", 20, "fuzzy"),
    ("a and/rel.combine=sum b", 46, "rel.combine"),
    ("a prox b", 37, "prox"),
    ("a prox/unit=word b", 37, "prox"),
    # masking other than a trailing * (28), anchoring (31), masked phrases (33) and exact matches (24)
    ("dc.title = ha*let", 28, "ha*let"),
    ("dc.title = *let", 28, "*let"),
    ("dc.title = hamle?", 28, "hamle?"),
    ("dc.title = *", 28, "*"),
    ("dc.title = ^hamlet", 31, "^hamlet"),
    ('dc.title = "kota sejar*"', 33, "kota sejar*"),  # CQL 1.2: = on two words is a phrase
    ('dc.title adj "kota sejar*"', 33, "kota sejar*"),
    ("dc.title == sejar*", 24, "== sejar*"),
    ("dc.date = 20*", 36, "20*"),
    ("rec.id = 1*", 36, "1*"),
])
def test_mapping_errors(text: str, code: int, details: str) -> None:
    """What we cannot search gets the standard diagnostic, its details naming the culprit."""
    found = error(text)
    assert (found.code, found.details) == (code, details)


# --- sortBy ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "order"), [
    ("hamlet", "relevance"),
    ("hamlet sortBy dc.title", "title"),
    ("hamlet sortby dc.title/sort.ascending", "title"),
    ("hamlet sortBy dc.creator", "author"),
    ("hamlet sortBy dc.date", "oldest"),
    ("hamlet sortBy dc.date/sort.descending", "newest"),
    ("hamlet sortBy dc.date/descending", "newest"),
])
def test_sort_by(text: str, order: str) -> None:
    """sortBy keys become the orders discovery knows."""
    parsed = cql.parse(text)
    assert cql.sort_of(parsed.sort) == order
    assert cql.node(parsed.root) == q.Words("any", "hamlet")


@pytest.mark.parametrize(("text", "code", "details"), [
    ("x sortBy dc.subject", 16, "dc.subject"),
    ("x sortBy dc.title dc.date", 80, "dc.date"),
    ("x sortBy dc.title/sort.descending", 90, "descending"),
    ("x sortBy dc.title/sort.missingValue=omit", 20, "sort.missingValue"),
])
def test_sort_by_errors(text: str, code: int, details: str) -> None:
    """Sort keys we cannot honour get the matching diagnostic."""
    with pytest.raises(cql.CqlError) as caught:
        cql.sort_of(cql.parse(text).sort)
    assert (caught.value.code, caught.value.details) == (code, details)
