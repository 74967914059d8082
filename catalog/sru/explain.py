"""The ZeeRex record that SRU explain returns: the server, its indexes, schemas and defaults.

Index titles are given in Indonesian and English (ZeeRex carries both with ``lang``); which
index searches what is catalog.cql's table, and a test keeps the two lists the same.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from catalog import cql
from catalog.sru.protocol import SCHEMAS, Limits
from catalog.sru.responses import text

ZEEREX_NS = "http://explain.z3950.org/dtd/2.0/"
TITLE = ("Katalog induk jaringan perpustakaan Kota Bontang", "Union catalogue of the Bontang library network")
DESCRIPTION = ("Cantuman bibliografis semua perpustakaan di Kota Bontang yang terbuka untuk umum, dalam MARCXML "
               "atau Dublin Core.",
               "Bibliographic records of every library in Bontang open to the public, as MARCXML or Dublin Core.")
CONTEXT_SETS = (("cql", "info:srw/cql-context-set/1/cql-v1.2"), ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
                ("bath", "http://zing.z3950.org/cql/bath/2.0/"), ("rec", "info:srw/cql-context-set/2/rec-1.1"))
# (index, Indonesian title, English title, scannable): scan lists words or codes, not years or ids.
INDEXES = (
    ("cql.serverChoice", "Semua kolom", "Any field", True),
    ("cql.anywhere", "Di mana saja", "Anywhere", True),
    ("cql.allRecords", "Semua cantuman", "All records", False),
    ("dc.title", "Judul", "Title", True),
    ("dc.creator", "Pengarang", "Author", True),
    ("bath.name", "Nama orang atau badan", "Name of a person or body", True),
    ("dc.subject", "Subjek", "Subject", True),
    ("dc.publisher", "Penerbit", "Publisher", True),
    ("dc.identifier", "Pengenal (ISBN, ISSN, nomor lain)", "Identifier (ISBN, ISSN, other numbers)", True),
    ("dc.date", "Tahun terbit", "Year of publication", False),
    ("bath.isbn", "ISBN", "ISBN", True),
    ("bath.issn", "ISSN", "ISSN", True),
    ("rec.id", "Nomor cantuman", "Record number", False),
)
RELATIONS = ("=", "==", "exact", "any", "all", "adj", "<", ">", "<=", ">=", "<>", "within")
RELATION_MODIFIERS = ("ignoreCase", "ignoreAccents", "stem", "relevant", "masked", "unmasked")


def _titles(element: str, indonesian: str, english: str) -> str:
    return (f'<{element} lang="id" primary="true">{text(indonesian)}</{element}>'
            f'<{element} lang="en">{text(english)}</{element}>')


def _index(name: str, indonesian: str, english: str, scan: bool) -> str:
    context, _dot, base = name.partition(".")
    sortable = any(index == name.lower() for index, _descending in cql.SORTS)
    return (f'<index search="true" scan="{str(scan).lower()}" sort="{str(sortable).lower()}">'
            f'{_titles("title", indonesian, english)}<map><name set="{context}">{base}</name></map></index>')


def explain_record(*, version: str, host: str, port: int, database: str, transport: str, limits: Limits) -> str:
    """The ZeeRex 2.0 explain record of this server, as XML text."""
    server = (f'<serverInfo protocol="SRU" version="{version}" transport={quoteattr(transport)} '
              f'method="GET POST SOAP"><host>{text(host)}</host><port>{port}</port>'
              f"<database>{text(database)}</database></serverInfo>")
    database_info = f"<databaseInfo>{_titles('title', *TITLE)}{_titles('description', *DESCRIPTION)}</databaseInfo>"
    sets = "".join(f'<set name="{name}" identifier="{uri}"/>' for name, uri in CONTEXT_SETS)
    index_info = f"<indexInfo>{sets}{''.join(_index(*row) for row in INDEXES)}</indexInfo>"
    schemas = "".join(f'<schema identifier="{s.uri}" name="{s.name}" retrieve="true" sort="false">'
                      f'{_titles("title", s.title_id, s.title_en)}</schema>' for s in SCHEMAS.values())
    supports = "".join(f'<supports type="relation">{text(r)}</supports>' for r in RELATIONS)
    supports += "".join(f'<supports type="relationModifier">{m}</supports>' for m in RELATION_MODIFIERS)
    config = (f'<configInfo><default type="numberOfRecords">{limits.default_records}</default>'
              f'<default type="retrieveSchema">marcxml</default><default type="contextSet">{cql.DEFAULT_CONTEXT_SET}'
              f'</default><default type="index">cql.serverChoice</default>'
              f'<setting type="maximumRecords">{limits.max_records}</setting>'
              f'<setting type="maximumTerms">{limits.max_terms}</setting>'
              f'{supports}<supports type="maskingCharacter">*</supports><supports type="sort"/></configInfo>')
    return (f'<explain xmlns="{ZEEREX_NS}">{server}{database_info}{index_info}'
            f"<schemaInfo>{schemas}</schemaInfo>{config}</explain>")
