"""The SRU server at /sru: every operation, version and transport, the diagnostics, paging, real clients."""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog import cql
from catalog.build import QuickEntry, build
from catalog.services import discovery, items, records
from catalog.services.indexing import drain_outbox
from catalog.sru import explain, protocol
from ils.extensions import db
from tests.conftest import dispose, make_app, serve
from tests.factories import SYSTEM, make_library, make_record

SRW = protocol.SRW_NS
SRU2 = protocol.SRU2_NS
SOAP = protocol.SOAP_NAMESPACES[0]
MARC = "http://www.loc.gov/MARC21/slim"
DC = "http://purl.org/dc/elements/1.1/"
DIAGNOSTIC_NS = {"1.1": protocol.SRW_DIAGNOSTIC_NS, "1.2": protocol.SRW_DIAGNOSTIC_NS,
                 "2.0": protocol.SRU2_DIAGNOSTIC_NS}
RESPONSE_NS = {"1.1": SRW, "1.2": SRW, "2.0": SRU2}
ISBN, ISSN = "9786020332956", "2049-3630"
CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "protocol_captures" / "sru_client_requests.txt"


@dataclass
class Answer:
    """A parsed SRU response (the element inside the SOAP body for SRW)."""

    root: ET.Element
    status: int
    soap: bool

    @property
    def ns(self) -> str:
        """The response element's namespace."""
        return self.root.tag[1:].partition("}")[0]

    @property
    def operation(self) -> str:
        """The response element's local name."""
        return self.root.tag.partition("}")[2]

    def text(self, name: str) -> str | None:
        """The text of a child element of the response, if present."""
        found = self.root.find(f"{{{self.ns}}}{name}")
        return None if found is None else found.text

    @property
    def total(self) -> int | None:
        """numberOfRecords."""
        value = self.text("numberOfRecords")
        return None if value is None else int(value)

    @property
    def diagnostics(self) -> list[tuple[str, str]]:
        """(uri, details) of each diagnostic; their namespace is checked against the version."""
        out = []
        for element in self.root.iterfind(f"{{{self.ns}}}diagnostics/*"):
            ns = DIAGNOSTIC_NS[self.text("version") or "2.0"]
            assert element.tag == f"{{{ns}}}diagnostic", element.tag
            assert element.findtext(f"{{{ns}}}message"), "every diagnostic has a message"
            out.append((element.findtext(f"{{{ns}}}uri") or "", element.findtext(f"{{{ns}}}details") or ""))
        return out

    @property
    def codes(self) -> list[int]:
        """Diagnostic numbers."""
        return [int(uri.rsplit("/", 1)[1]) for uri, _details in self.diagnostics]

    @property
    def records(self) -> list[ET.Element]:
        """The <record> elements."""
        return list(self.root.iterfind(f"{{{self.ns}}}records/{{{self.ns}}}record"))

    def field(self, record: ET.Element, name: str) -> str | None:
        """A child of one record element (recordSchema, recordPosition, ...)."""
        return record.findtext(f"{{{self.ns}}}{name}")

    def data(self, record: ET.Element) -> ET.Element:
        """The record's data as XML, whether embedded or escaped as a string."""
        holder = record.find(f"{{{self.ns}}}recordData")
        assert holder is not None
        if len(holder):
            return holder[0]
        return ET.fromstring(holder.text or "")

    @property
    def positions(self) -> list[int]:
        """recordPosition of each record."""
        return [int(self.field(r, "recordPosition") or 0) for r in self.records]

    @property
    def titles(self) -> list[str]:
        """245 $a (MARCXML, without ISBD punctuation) or dc:title (Dublin Core) of each record."""
        out = []
        for record in self.records:
            data = self.data(record)
            title = data.findtext(f"{{{MARC}}}datafield[@tag='245']/{{{MARC}}}subfield[@code='a']") \
                or data.findtext(f"{{{DC}}}title")
            out.append((title or "").rstrip(" /:;,."))
        return out


def parse(response: Any) -> Answer:
    """An Answer from a test client or urllib response."""
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers["Content-Type"]
    root = ET.fromstring(response.data)
    soap = root.tag == f"{{{SOAP}}}Envelope"
    if soap:
        body = root.find(f"{{{SOAP}}}Body")
        assert body is not None
        root = body[0]
    return Answer(root=root, status=response.status_code, soap=soap)


def get(client: FlaskClient, **params: Any) -> Answer:
    """GET /sru with these parameters."""
    answer = parse(client.get("/sru", query_string=params))
    assert answer.status == 200
    return answer


def envelope(operation: str, version: str | None, **fields: Any) -> bytes:
    """An SRW request as yaz-client sends it (SRU 2.0 requests have their own namespace and no version)."""
    ns = protocol.SRU2_REQUEST_NS if version == "2.0" else SRW
    children = "" if version in (None, "2.0") else f"<zs:version>{version}</zs:version>"
    children += "".join(f"<zs:{name}>{escape(str(value))}</zs:{name}>" for name, value in fields.items())
    return (f'<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Body>'
            f'<zs:{operation}Request xmlns:zs="{ns}">{children}</zs:{operation}Request>'
            "</SOAP-ENV:Body></SOAP-ENV:Envelope>").encode()


def soap(client: FlaskClient, operation: str, version: str | None, **fields: Any) -> Answer:
    """POST an SRW request."""
    response = client.post("/sru", data=envelope(operation, version, **fields),
                           headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    return parse(response)


def index_now() -> None:
    """Run the index job's work in-process, as the worker would after the commit."""
    db.session.commit()
    drain_outbox(checkpoint=lambda *_: None)
    db.session.commit()


@pytest.fixture
def shelf(ctx: Flask) -> dict[str, int]:
    """Four public records (two with Hamlet in the title), one held only privately; all indexed."""
    library = make_library("LIB-S")
    ids = {}
    ids["hamlet"] = make_record("Hamlet, prince of Denmark", library, barcode="S0001", isbn=ISBN,
                                authors=["Shakespeare, William"], year=1990, subjects=["Drama Inggris"],
                                publisher="Penguin")[0].id
    ids["kawan"] = make_record("Hamlet dan kawan-kawan", library, barcode="S0002", authors=["Saleh, Muhammad"],
                               year=2019, subjects=["Cerita anak"], publisher="Gramedia")[0].id
    ids["sejarah"] = make_record("Sejarah Kota Bontang", library, barcode="S0003", authors=["Rahman, Abdul"],
                                 year=2021, subjects=["Sejarah"], publisher="Dinas Perpustakaan")[0].id
    marc = build(QuickEntry(title="Jurnal Pesisir Kalimantan", year=2005, serial=True), org_code="TEST",
                 today=date(2026, 1, 5))
    marc["fields"].append({"022": {"ind1": " ", "ind2": " ", "subfields": [{"a": ISSN}]}})
    ids["jurnal"] = records.create_record(marc=marc, actor=SYSTEM).id
    hidden = make_record("Hamlet rahasia perusahaan", authors=["Shakespeare, William"])[0]
    items.add_item(record_id=hidden.id, library_id=library.id, data=items.ItemInput(barcode="S0005", public=False),
                   actor=SYSTEM, today=date(2026, 1, 5))
    ids["hidden"] = hidden.id
    index_now()
    return ids


# --- searchRetrieve over each transport and version ---------------------------------------------------

@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_search_retrieve_get(client: FlaskClient, shelf: dict[str, int], version: str) -> None:
    """GET in each version: the version's namespace and packing element, public records only."""
    answer = get(client, version=version, operation="searchRetrieve", query="dc.title=hamlet", maximumRecords=10)
    assert answer.ns == RESPONSE_NS[version] and answer.operation == "searchRetrieveResponse"
    assert answer.text("version") == version and not answer.soap
    assert answer.total == 2 and answer.positions == [1, 2]
    assert sorted(answer.titles) == ["Hamlet dan kawan-kawan", "Hamlet, prince of Denmark"]
    packing = "recordXMLEscaping" if version == "2.0" else "recordPacking"
    assert {answer.field(r, packing) for r in answer.records} == {"xml"}
    assert {answer.field(r, "recordSchema") for r in answer.records} == {"info:srw/schema/1/marcxml-v1.1"}
    assert answer.text("nextRecordPosition") is None and answer.diagnostics == []
    assert (answer.text("resultCountPrecision") is not None) == (version == "2.0")


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_form_post_each_operation(client: FlaskClient, shelf: dict[str, int], version: str) -> None:
    """A form-encoded POST (yaz-client's `sru post`) is read like GET, for every operation."""
    def post(**form: str) -> Answer:
        """POST the form in this version."""
        return parse(client.post("/sru", data={"version": version, **form}))

    found = post(operation="searchRetrieve", query="dc.creator=shakespeare", maximumRecords="5")
    assert found.ns == RESPONSE_NS[version] and found.total == 1
    assert found.titles == ["Hamlet, prince of Denmark"]
    assert zeerex(post(operation="explain")) is not None
    scanned = post(operation="scan", scanClause="dc.creator=shakespeare", maximumTerms="1")
    assert scanned.operation == "scanResponse" and scanned.diagnostics == []
    terms = [t.findtext(f"{{{scanned.ns}}}value") or "" for t in scanned.root.iterfind(f"{{{scanned.ns}}}terms/*")]
    assert len(terms) == 1 and terms[0].startswith("shakespear")  # the index's (stemmed) term


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_search_retrieve_soap(client: FlaskClient, shelf: dict[str, int], version: str) -> None:
    """SRW: the SOAP POST yaz-client sends by default; the answer comes in a SOAP envelope."""
    answer = soap(client, "searchRetrieve", version, query="dc.title=hamlet", startRecord=2, maximumRecords=1,
                  recordSchema="dc")
    assert answer.status == 200 and answer.soap
    assert answer.ns == RESPONSE_NS[version] and answer.text("version") == version
    assert answer.total == 2 and answer.positions == [2] and len(answer.titles[0]) > 0
    assert answer.data(answer.records[0]).tag == f"{{{protocol.SCHEMAS['dc'].uri}}}dc"


def test_soap_1_2_envelope(client: FlaskClient, shelf: dict[str, int]) -> None:
    """A SOAP 1.2 envelope (application/soap+xml) is answered in a SOAP 1.2 envelope."""
    soap12 = protocol.SOAP_NAMESPACES[1]
    body = envelope("searchRetrieve", "1.2", query="dc.title=hamlet").replace(SOAP.encode(), soap12.encode())
    response = client.post("/sru", data=body, headers={"Content-Type": "application/soap+xml"})
    root = ET.fromstring(response.data)
    assert response.status_code == 200 and root.tag == f"{{{soap12}}}Envelope"
    assert root.findtext(f"{{{soap12}}}Body/{{{SRW}}}searchRetrieveResponse/{{{SRW}}}numberOfRecords") == "2"


def test_soap_request_without_version_is_answered_in_1_2(client: FlaskClient, shelf: dict[str, int]) -> None:
    """An SRW 1.x body without <version> gets 1.2, as a GET with an operation but no version does."""
    assert soap(client, "searchRetrieve", None, query="dc.title=hamlet").text("version") == "1.2"
    assert get(client, operation="searchRetrieve", query="dc.title=hamlet").text("version") == "1.2"


def test_a_query_without_operation_is_an_sru_2_search(client: FlaskClient, shelf: dict[str, int]) -> None:
    """SRU 2.0 has no operation parameter: query= means searchRetrieve, scanClause= means scan."""
    answer = get(client, query="dc.title=hamlet")
    assert answer.ns == SRU2 and answer.operation == "searchRetrieveResponse" and answer.total == 2
    assert get(client, scanClause="dc.title=ham").operation == "scanResponse"


def test_slims_copy_cataloguing_request(client: FlaskClient, shelf: dict[str, int]) -> None:
    """SLiMS's marcsru.php request: SRU 1.1, + for spaces, no recordSchema (MARCXML) and maxitem."""
    response = client.get('/sru?version=1.1&operation=searchRetrieve&query=dc.title+any+%22kota+hamlet%22'
                          "&startRecord=1&maximumRecords=20&maxitem=20")
    answer = parse(response)
    assert answer.diagnostics == [] and answer.total == 3
    assert {answer.field(r, "recordSchema") for r in answer.records} == {"info:srw/schema/1/marcxml-v1.1"}
    assert {answer.data(r).tag for r in answer.records} == {f"{{{MARC}}}record"}


def test_extensions_and_maxitem_are_tolerated(client: FlaskClient, shelf: dict[str, int]) -> None:
    """x- parameters are extensions we may ignore; maxitem is SLiMS's; any other name is diagnostic 8."""
    assert get(client, version="1.2", operation="searchRetrieve", query="dc.title=hamlet", **{"x-foo": "1"}).total == 2
    assert get(client, version="1.2", operation="searchRetrieve", query="dc.title=hamlet", maxitem="9").total == 2
    assert get(client, version="1.2", operation="searchRetrieve", query="dc.title=hamlet", foo="1").diagnostics == [
        ("info:srw/diagnostic/1/8", "foo")]


# --- what a search finds ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("dc.creator=shakespeare", ["hamlet"]),
    ("bath.name=saleh", ["kawan"]),
    ("dc.subject=sejarah", ["sejarah"]),
    ("dc.publisher=gramedia", ["kawan"]),
    (f"bath.isbn={ISBN}", ["hamlet"]),
    (f"dc.identifier={ISBN}", ["hamlet"]),
    (f"bath.issn={ISSN}", ["jurnal"]),
    ("dc.date=2019", ["kawan"]),
    ("dc.date>2000 and dc.date<2020", ["jurnal", "kawan"]),
    ('dc.date within "1990 2005"', ["hamlet", "jurnal"]),
    ("dc.date<>2019", ["hamlet", "jurnal", "sejarah"]),
    ("cql.anywhere=bontang", ["sejarah"]),
    ("cql.serverChoice=kalimantan", ["jurnal"]),
    ("sejar*", ["sejarah"]),
    ('dc.title any "sejarah jurnal"', ["jurnal", "sejarah"]),
    ("cql.allRecords=1", ["hamlet", "jurnal", "kawan", "sejarah"]),
    ("cql.allRecords=1 not dc.title=hamlet", ["jurnal", "sejarah"]),
    ("(dc.title=hamlet or dc.title=sejarah) and dc.date>=2019", ["kawan", "sejarah"]),
    ("dc.title=rahasia", []),  # held only privately: never served
])
def test_indexes_reach_the_right_records(client: FlaskClient, shelf: dict[str, int], query: str,
                                         expected: list[str]) -> None:
    """Each index searches its field through discovery, which serves public records only."""
    answer = get(client, version="1.2", operation="searchRetrieve", query=query, maximumRecords=10)
    assert answer.diagnostics == []
    found = [data.findtext(f"{{{MARC}}}controlfield[@tag='001']") for data in map(answer.data, answer.records)]
    assert sorted(found) == sorted(str(shelf[name]) for name in expected)
    assert answer.total == len(expected)


def test_rec_id_finds_public_records_only(client: FlaskClient, shelf: dict[str, int]) -> None:
    """rec.id names one record; a hidden one is not found even by its id."""
    assert get(client, version="1.2", operation="searchRetrieve", query=f"rec.id=={shelf['kawan']}").total == 1
    assert get(client, version="1.2", operation="searchRetrieve", query=f"rec.id=={shelf['hidden']}").total == 0


def test_equals_means_a_phrase_from_cql_1_2(client: FlaskClient, shelf: dict[str, int]) -> None:
    """SRU 1.1 reads = on two words as all words; 1.2 and 2.0 as the phrase."""
    query = 'dc.title="hamlet denmark"'
    assert get(client, version="1.1", operation="searchRetrieve", query=query).total == 1
    assert get(client, version="1.2", operation="searchRetrieve", query=query).total == 0
    assert get(client, version="2.0", operation="searchRetrieve", query=query).total == 0
    assert get(client, version="1.2", operation="searchRetrieve", query='dc.title="prince of denmark"').total == 1


# --- paging and counts ----------------------------------------------------------------------------------

def test_maximum_records_zero_counts_only(client: FlaskClient, shelf: dict[str, int]) -> None:
    """yaz-client's find sends maximumRecords=0: the count, no records (else yaz complains)."""
    answer = get(client, version="1.2", operation="searchRetrieve", query="cql.allRecords=1", maximumRecords=0)
    assert answer.total == 4 and answer.records == [] and answer.text("nextRecordPosition") is None
    assert answer.root.find(f"{{{SRW}}}records") is None


def test_paging_in_a_sorted_result(client: FlaskClient, shelf: dict[str, int]) -> None:
    """startRecord is 1-based; nextRecordPosition points past the page until the last one."""
    query = "cql.allRecords=1 sortBy dc.title"
    first = get(client, version="1.2", operation="searchRetrieve", query=query, startRecord=1, maximumRecords=3)
    assert first.positions == [1, 2, 3] and first.text("nextRecordPosition") == "4"
    assert first.titles == ["Hamlet dan kawan-kawan", "Hamlet, prince of Denmark", "Jurnal Pesisir Kalimantan"]
    last = get(client, version="1.2", operation="searchRetrieve", query=query, startRecord=4, maximumRecords=3)
    assert last.positions == [4] and last.titles == ["Sejarah Kota Bontang"]
    assert last.text("nextRecordPosition") is None
    newest = get(client, version="1.2", operation="searchRetrieve", query="dc.date>0 sortBy dc.date/sort.descending")
    assert newest.titles[:2] == ["Sejarah Kota Bontang", "Hamlet dan kawan-kawan"]


def test_start_beyond_the_result_is_diagnostic_61(client: FlaskClient, shelf: dict[str, int]) -> None:
    """startRecord past the hits: diagnostic 61 with the real count; an empty result at 1 is no error."""
    answer = get(client, version="1.2", operation="searchRetrieve", query="dc.title=hamlet", startRecord=3)
    assert answer.diagnostics == [("info:srw/diagnostic/1/61", "3")] and answer.total == 2
    assert answer.records == []
    empty = get(client, version="1.2", operation="searchRetrieve", query="dc.title=zzz", startRecord=1)
    assert empty.total == 0 and empty.diagnostics == []


def test_configured_page_sizes(app: Flask, client: FlaskClient, shelf: dict[str, int],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """No maximumRecords: CATALOG_SRU_DEFAULT_RECORDS; more than CATALOG_SRU_MAX_RECORDS: capped, with next."""
    monkeypatch.setitem(app.config, "CATALOG_SRU_DEFAULT_RECORDS", 1)
    monkeypatch.setitem(app.config, "CATALOG_SRU_MAX_RECORDS", 3)
    plain = get(client, version="1.2", operation="searchRetrieve", query="cql.allRecords=1")
    assert plain.positions == [1] and plain.text("nextRecordPosition") == "2"
    capped = get(client, version="1.2", operation="searchRetrieve", query="cql.allRecords=1", maximumRecords=1000)
    assert capped.positions == [1, 2, 3] and capped.text("nextRecordPosition") == "4"


# --- schemas and packing --------------------------------------------------------------------------------

@pytest.mark.parametrize(("schema", "uri"), [
    ("marcxml", "info:srw/schema/1/marcxml-v1.1"), ("info:srw/schema/1/marcxml-v1.1", "info:srw/schema/1/marcxml-v1.1"),
    ("MARC21-xml", "info:srw/schema/1/marcxml-v1.1"), ("marc21", "info:srw/schema/1/marcxml-v1.1"),
    ("dc", "info:srw/schema/1/dc-v1.1"), ("info:srw/schema/1/dc-v1.1", "info:srw/schema/1/dc-v1.1"),
])
def test_record_schemas(client: FlaskClient, shelf: dict[str, int], schema: str, uri: str) -> None:
    """MARCXML by its names and aliases, Dublin Core (the OAI-PMH crosswalk); the response names the URI."""
    answer = get(client, version="1.2", operation="searchRetrieve", query="dc.creator=shakespeare",
                 recordSchema=schema)
    record = answer.records[0]
    assert answer.field(record, "recordSchema") == uri
    if uri.endswith("dc-v1.1"):
        data = answer.data(record)
        assert data.findtext(f"{{{DC}}}title") == "Hamlet, prince of Denmark"
        assert data.findtext(f"{{{DC}}}creator") == "Shakespeare, William"
        assert f"URN:ISBN:{ISBN}" in [e.text for e in data.iterfind(f"{{{DC}}}identifier")]
    else:
        assert answer.titles == ["Hamlet, prince of Denmark"]


@pytest.mark.parametrize(("version", "name", "value"), [("1.2", "recordPacking", "string"),
                                                     ("1.1", "recordPacking", "String"),
                                                     ("2.0", "recordXMLEscaping", "string")])
def test_string_packing(client: FlaskClient, shelf: dict[str, int], version: str, name: str, value: str) -> None:
    """Records escaped as a string when asked (recordPacking in 1.x, recordXMLEscaping in 2.0)."""
    answer = get(client, version=version, operation="searchRetrieve", query="dc.creator=shakespeare",
                 **{name: value})
    record = answer.records[0]
    holder = record.find(f"{{{answer.ns}}}recordData")
    assert holder is not None and len(holder) == 0 and (holder.text or "").startswith("<record")
    assert answer.field(record, name) == "string" and answer.titles == ["Hamlet, prince of Denmark"]


def test_a_record_gone_between_search_and_fetch_is_a_surrogate(client: FlaskClient, shelf: dict[str, int],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """If discovery names a record the database no longer has, its place holds diagnostic 65."""
    monkeypatch.setattr(discovery, "find", lambda node, **kw: (2, [shelf["kawan"], 999_999]))
    answer = get(client, version="1.2", operation="searchRetrieve", query="x", maximumRecords=2)
    assert answer.positions == [1, 2]
    assert answer.field(answer.records[1], "recordSchema") == "info:srw/schema/1/diagnostics-v1.1"
    surrogate = answer.data(answer.records[1])
    assert surrogate.findtext(f"{{{protocol.SRW_DIAGNOSTIC_NS}}}uri") == "info:srw/diagnostic/1/65"
    assert surrogate.findtext(f"{{{protocol.SRW_DIAGNOSTIC_NS}}}details") == "999999"


# --- explain ---------------------------------------------------------------------------------------------

def zeerex(answer: Answer) -> ET.Element:
    """The ZeeRex record of an explain response."""
    assert answer.operation == "explainResponse" and answer.diagnostics == []
    record = answer.root.find(f"{{{answer.ns}}}record")
    assert record is not None and answer.field(record, "recordSchema") == "http://explain.z3950.org/dtd/2.0/"
    return answer.data(record)


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_explain(client: FlaskClient, version: str) -> None:
    """The ZeeRex record: server, every index with Indonesian and English titles, schemas, defaults."""
    record = zeerex(get(client, version=version, operation="explain"))
    z = f"{{{explain.ZEEREX_NS}}}"
    server = record.find(f"{z}serverInfo")
    assert server is not None and server.get("version") == version
    assert (server.findtext(f"{z}host"), server.findtext(f"{z}port"), server.findtext(f"{z}database")) == (
        "localhost", "80", "sru")
    names = {f"{n.get('set')}.{n.text}".lower() for n in record.iterfind(f"{z}indexInfo/{z}index/{z}map/{z}name")}
    assert names == set(cql.INDEXES)
    for index in record.iterfind(f"{z}indexInfo/{z}index"):
        assert {t.get("lang") for t in index.iterfind(f"{z}title")} == {"id", "en"}
    assert {s.get("identifier") for s in record.iterfind(f"{z}schemaInfo/{z}schema")} == {
        "info:srw/schema/1/marcxml-v1.1", "info:srw/schema/1/dc-v1.1"}
    config = {(e.tag.split("}")[1], e.get("type")): e.text for e in record.iterfind(f"{z}configInfo/*")}
    assert config[("default", "numberOfRecords")] == "10" and config[("setting", "maximumRecords")] == "100"
    assert {e.text for e in record.iterfind(f"{z}configInfo/{z}supports[@type='relationModifier']")} == {
        m for m in explain.RELATION_MODIFIERS}
    assert {m.lower() for m in explain.RELATION_MODIFIERS} == cql.MODIFIERS
    assert set(explain.RELATIONS) == cql.KNOWN_RELATIONS


def test_bare_url_explains_and_soap_explains(client: FlaskClient) -> None:
    """No operation and no query: explain (SRU 2.0 when no version either); SRW explain too."""
    answer = parse(client.get("/sru"))
    assert answer.ns == SRU2 and zeerex(answer) is not None
    for version in ("1.1", "1.2", "2.0"):
        over_soap = soap(client, "explain", version)
        assert over_soap.soap and over_soap.ns == RESPONSE_NS[version] and zeerex(over_soap) is not None


def test_explain_says_truly_which_indexes_scan(client: FlaskClient, shelf: dict[str, int]) -> None:
    """An index explain calls scannable scans; the others answer diagnostic 16."""
    for name, _id, _en, scannable in explain.INDEXES:
        answer = get(client, version="1.2", operation="scan", scanClause=f"{name}=a")
        assert (answer.codes == []) == scannable, name
        if not scannable:
            assert answer.diagnostics == [("info:srw/diagnostic/1/16", name)]


# --- scan ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
def test_scan_get_and_soap(client: FlaskClient, shelf: dict[str, int], version: str) -> None:
    """Terms from the scanClause's term on, with their number of (public) records."""
    answer = get(client, version=version, operation="scan", scanClause="dc.title=ham", maximumTerms=3)
    ns = protocol.SRU2_SCAN_NS if version == "2.0" else SRW
    assert answer.ns == ns and answer.operation == "scanResponse"
    terms = [(t.findtext(f"{{{ns}}}value"), t.findtext(f"{{{ns}}}numberOfRecords"))
             for t in answer.root.iterfind(f"{{{ns}}}terms/{{{ns}}}term")]
    assert terms[0] == ("hamlet", "2") and len(terms) == 3  # the private Hamlet is not counted
    over_soap = soap(client, "scan", version, scanClause="dc.title=ham", maximumTerms=3)
    assert over_soap.soap and over_soap.ns == ns
    assert len(list(over_soap.root.iterfind(f"{{{ns}}}terms/{{{ns}}}term"))) == 3


def test_scan_response_position(client: FlaskClient, shelf: dict[str, int]) -> None:
    """responsePosition 2 puts one term before the scanClause's term."""
    answer = get(client, version="1.2", operation="scan", scanClause="dc.title=kawan", responsePosition=2,
                 maximumTerms=2)
    values = [t.findtext(f"{{{SRW}}}value") for t in answer.root.iterfind(f"{{{SRW}}}terms/{{{SRW}}}term")]
    assert len(values) == 2 and values[0] < "kawan" <= values[1]


# --- diagnostics -----------------------------------------------------------------------------------------

SEARCH = {"version": "1.2", "operation": "searchRetrieve"}
SCAN = {"version": "1.2", "operation": "scan"}


@pytest.mark.parametrize(("params", "code", "details"), [
    ({"version": "1.2", "operation": "update"}, 4, "update"),
    ({"version": "3.0", "operation": "searchRetrieve", "query": "x"}, 5, "2.0"),
    ({**SEARCH, "query": "x", "startRecord": "0"}, 6, "startRecord"),
    ({**SEARCH, "query": "x", "startRecord": "eins"}, 6, "startRecord"),
    ({**SEARCH, "query": "x", "maximumRecords": "-1"}, 6, "maximumRecords"),
    ({"version": "2.0", "query": "x", "queryType": "pqf"}, 6, "queryType"),
    ({"version": "2.0", "query": "x", "httpAccept": "text/html"}, 6, "httpAccept"),
    ({"version": "2.0", "query": "x", "recordPacking": "unpacked"}, 6, "recordPacking"),
    ({"version": "2.0", "query": "x", "renderedBy": "server"}, 6, "renderedBy"),
    (SEARCH, 7, "query"),
    (SCAN, 7, "scanClause"),
    ({**SEARCH, "query": "x", "scanClause": "y"}, 8, "scanClause"),
    ({"version": "1.2", "operation": "explain", "queryType": "cql"}, 8, "queryType"),  # a 2.0 parameter
    ({**SEARCH, "query": "dc.title="}, 10, "9"),
    ({**SEARCH, "query": "x" * 2001}, 12, "2000"),
    ({**SEARCH, "query": "(x"}, 13, "2"),
    ({**SEARCH, "query": '"x'}, 14, "0"),
    ({**SEARCH, "query": "foo.title=x"}, 15, "foo"),
    ({**SEARCH, "query": "ti=hamlet"}, 16, "ti"),
    ({**SEARCH, "query": "dc.title encloses x"}, 19, "encloses"),
    ({**SEARCH, "query": "dc.title =/respectCase x"}, 20, "respectCase"),
    ({**SEARCH, "query": "dc.title < x"}, 22, "dc.title <"),
    ({**SEARCH, "query": "dc.title == x*"}, 24, "== x*"),
    ({**SEARCH, "query": 'dc.title=""'}, 27, ""),
    ({**SEARCH, "query": "dc.title=ha*let"}, 28, "ha*let"),
    ({**SEARCH, "query": "dc.title=^x"}, 31, "^x"),
    ({**SEARCH, "query": 'dc.title adj "a b*"'}, 33, "a b*"),
    ({**SEARCH, "query": "dc.date=abc"}, 36, "abc"),
    ({**SEARCH, "query": "a prox b"}, 37, "prox"),
    ({**SEARCH, "query": " or ".join(["a"] * 66)}, 38, "64"),  # the parser's limit
    ({**SEARCH, "query": "a and/rel.combine=sum b"}, 46, "rel.combine"),
    ({**SEARCH, "query": "x", "startRecord": "5"}, 61, "5"),
    ({**SEARCH, "query": "x", "recordSchema": "mods"}, 66, "mods"),
    ({**SEARCH, "query": "x", "recordPacking": "json"}, 71, "json"),
    ({"version": "1.2", "operation": "explain", "recordPacking": "json"}, 71, "json"),
    ({"version": "2.0", "query": "x", "recordXMLEscaping": "json"}, 71, "json"),
    ({**SEARCH, "query": "x", "recordXPath": "/record"}, 72, "/record"),
    ({**SEARCH, "query": "x", "sortKeys": "title"}, 80, "sortKeys"),
    ({**SEARCH, "query": "x sortBy dc.title/sort.descending"}, 90, "descending"),
    ({**SEARCH, "query": "x", "stylesheet": "/s.xsl"}, 110, "/s.xsl"),
    ({**SCAN, "scanClause": "dc.title=a", "responsePosition": "5", "maximumTerms": "3"}, 120, "5"),
    ({**SCAN, "scanClause": "dc.title=a and dc.title=b"}, 10, "dc.title=a and dc.title=b"),
    ({**SCAN, "scanClause": "dc.title any a"}, 19, "any"),
    ({**SCAN, "scanClause": "dc.title =/ignoreCase a"}, 20, "ignoreCase"),
    ({**SCAN, "scanClause": "dc.date=2000"}, 16, "dc.date"),
    ({**SCAN, "scanClause": "dc.title=a", "maximumTerms": "0"}, 6, "maximumTerms"),
])
def test_diagnostics(client: FlaskClient, params: dict[str, str], code: int, details: str) -> None:
    """Each problem gets its standard diagnostic, in the operation's response and the version's namespace."""
    answer = get(client, **params)
    assert answer.diagnostics == [(f"info:srw/diagnostic/1/{code}", details)]
    assert code in protocol.MESSAGES  # the standard message, for diagnostics sent without our own
    expected = {"searchRetrieve": "searchRetrieveResponse", "scan": "scanResponse"}.get(
        params.get("operation", "searchRetrieve" if "query" in params else "explain"), "explainResponse")
    assert answer.operation == expected
    if expected == "searchRetrieveResponse":
        assert answer.total == 0 and answer.records == []


def test_characters_xml_forbids_do_not_break_the_response(client: FlaskClient) -> None:
    """A control character a client sends comes back replaced, so the response stays well-formed XML."""
    answer = get(client, **SEARCH, query="dc.ti\x01tle=x")
    assert answer.diagnostics == [("info:srw/diagnostic/1/16", "dc.ti\ufffdtle")]


def test_discovery_limit_is_diagnostic_38(client: FlaskClient) -> None:
    """A query within the parser's limit but with more parts than discovery evaluates: 38 as well."""
    answer = get(client, **SEARCH, query=" or ".join(["a"] * (discovery.MAX_NODES + 1)))
    assert answer.diagnostics == [("info:srw/diagnostic/1/38", str(discovery.MAX_NODES))]


@pytest.mark.parametrize(("version", "answered_in"), [("3.0", "2.0"), ("1.5", "1.2"), ("1.0", "1.1"), ("x", "1.2")])
def test_unsupported_version(client: FlaskClient, version: str, answered_in: str) -> None:
    """Diagnostic 5 naming our highest version, answered in the highest version not above the one asked."""
    answer = get(client, version=version, operation="explain")
    assert answer.diagnostics == [("info:srw/diagnostic/1/5", "2.0")]
    assert answer.text("version") == answered_in and answer.ns == RESPONSE_NS[answered_in]


@pytest.mark.parametrize("body", [
    b"", b"not xml", b"<a><b></a>",
    b'<?xml version="1.0"?><x:Envelope xmlns:x="urn:other"><x:Body/></x:Envelope>',
    b'<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<SOAP-ENV:Body/></SOAP-ENV:Envelope>",
    b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
    b'<zs:searchRetrieveRequest xmlns:zs="http://www.loc.gov/zing/srw/"><zs:query>&b;</zs:query>'
    b"</zs:searchRetrieveRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>",
])
def test_unreadable_soap_is_a_fault(client: FlaskClient, body: bytes) -> None:
    """A body that is not an SRW request (or declares entities: defusedxml) gets a SOAP Client Fault."""
    response = client.post("/sru", data=body, headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    fault = ET.fromstring(response.data).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None and fault.findtext("faultcode") == "SOAP-ENV:Client"
    assert b"aaaaaaaaaa" not in response.data


def test_unknown_soap_operation_is_diagnostic_4(client: FlaskClient) -> None:
    """An SRW body with another request element: diagnostic 4 in an explain response."""
    answer = soap(client, "update", "1.2")
    assert answer.operation == "explainResponse" and answer.diagnostics == [
        ("info:srw/diagnostic/1/4", "updateRequest")]


def test_post_needs_no_csrf_token(app: Flask, session_dir: Path, shelf: dict[str, int]) -> None:
    """With CSRF protection on, SRU form and SOAP POSTs still work (a documented exemption in test_web)."""
    from tests.test_web import CSRF_EXEMPT

    assert ("catalog.sru_endpoint", "POST") in CSRF_EXEMPT
    strict = make_app(session_dir, WTF_CSRF_ENABLED=True)
    try:
        client = strict.test_client()
        form = parse(client.post("/sru", data={"version": "1.2", "operation": "searchRetrieve",
                                               "query": "dc.title=hamlet"}))
        assert form.status == 200 and form.total == 2
        assert soap(client, "searchRetrieve", "1.2", query="dc.title=hamlet").total == 2
        assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 400  # still on
    finally:
        dispose(strict)


# --- captured requests of real clients -------------------------------------------------------------------

def captured() -> list[tuple[str, str, str, dict[str, str], bytes]]:
    """(title, method, path, headers, body) of each request in the captures file."""
    out: list[tuple[str, str, str, dict[str, str], bytes]] = []
    title = ""
    for line in CAPTURES.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            title = line[4:]
        elif line.startswith(("GET ", "POST ")):
            request, _sep, header_text = line.partition("   [")
            method, path, _protocol = request.split()
            headers = dict(h.split(": ", 1) for h in header_text.rstrip("]").split("; "))
            out.append((title, method, path, {k: v for k, v in headers.items() if v != "None"}, b""))
        elif line.strip().startswith("body: "):
            title, method, path, headers, _body = out[-1]
            out[-1] = (title, method, path, headers, line.strip()[len("body: "):].encode())
    return out


# Hits the captured queries should find on the shelf fixture, and the diagnostics expected.
CAPTURED_HITS = {"dc.title=hamlet": 2, "dc.title=hamlet and dc.creator=shakespeare": 1}
CAPTURED_DIAGNOSTICS = {"ti=hamlet": [16], "": [7]}  # yaz's default ti index; zoomsh's PQF in x-pquery


def test_replay_captured_client_requests(client: FlaskClient, shelf: dict[str, int]) -> None:
    """Every request yaz-client, zoomsh, yaz-url and the node client sent is answered as they expect."""
    if not CAPTURES.exists():
        pytest.skip(f"{CAPTURES} is not there")
    requests = captured()
    assert len(requests) >= 10
    for title, method, path, headers, body in requests:
        response = client.open(path, method=method, headers=headers, data=body or None)
        answer = parse(response)
        assert answer.status == 200, title
        if body.startswith(b"<"):
            request = ET.fromstring(body)[0][0]
            fields = {child.tag.split("}")[1]: child.text or "" for child in request}
            operation = request.tag.split("}")[1].removesuffix("Request")
        else:
            fields = {k: v[0] for k, v in parse_qs(urlsplit(path).query or body.decode()).items()}
            operation = fields.get("operation", "")
        assert answer.operation == f"{operation}Response", title
        if operation != "searchRetrieve":
            assert answer.diagnostics == [], title
            continue
        query = fields.get("query", "")
        assert answer.codes == CAPTURED_DIAGNOSTICS.get(query, []), (title, query)
        if not answer.codes:
            assert answer.total == CAPTURED_HITS[query], (title, query)
        wanted = min(int(fields.get("maximumRecords", "10")), answer.total or 0)
        assert len(answer.records) == wanted, title


# --- real clients over HTTP ------------------------------------------------------------------------------

def need(tool: str) -> str:
    """A client program's path; skip without it unless ILS_REQUIRE_CLIENTS=1 (CI), then fail."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (make protocol-clients installs Debian's yaz)"
        if os.environ.get("ILS_REQUIRE_CLIENTS") == "1":
            pytest.fail(message + " but ILS_REQUIRE_CLIENTS=1")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def live_sru(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1, its /sru URL."""
    with serve(app) as base:
        yield f"{base}/sru"


def yaz(url: str, commands: str) -> str:
    """What yaz-client prints for commands piped to it."""
    done = subprocess.run([need("yaz-client"), url], input=commands, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "extra records" not in done.stdout
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["", "sru get 1.2\n", "sru post 1.1\n", "sru get 2.0\n", "sru post 2.0\n"])
def test_yaz_client_searches_and_shows(live_sru: str, shelf: dict[str, int], mode: str) -> None:
    """yaz-client in its default SOAP mode, GET, form POST and 2.0: hits, then records in both schemas."""
    out = yaz(live_sru, f"{mode}find dc.title=hamlet\nschema marcxml\nshow 1\nschema dc\nshow 2\n"
                        "find dc.creator=shakespeare\nquit\n")
    assert out.count("Number of hits: 2") == 3 and "Number of hits: 1" in out
    assert "pos=1 schema=info:srw/schema/1/marcxml-v1.1" in out and '<datafield ind1="1" ind2="0" tag="245">' in out
    assert "pos=2 schema=info:srw/schema/1/dc-v1.1" in out and "<dc:title>Hamlet" in out
    assert "SRW diagnostic" not in out


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["", "sru get 1.2\n", "sru get 2.0\n"])
def test_yaz_client_explain_scan_and_diagnostics(live_sru: str, shelf: dict[str, int], mode: str) -> None:
    """explain prints the ZeeRex record; scan lists terms with counts; a bad index shows diagnostic 16."""
    out = yaz(live_sru, f"{mode}explain\nscan dc.title=ham\nfind dc.foo=x\nquit\n")
    assert "schema=http://explain.z3950.org/dtd/2.0/" in out and '<name set="dc">title</name>' in out
    assert "Received SRW Scan Response" in out and "hamlet: 2" in out
    assert "SRW diagnostic info:srw/diagnostic/1/16" in out and "Details: dc.foo" in out


@pytest.mark.slow
def test_zoomsh_cql_search(live_sru: str, shelf: dict[str, int]) -> None:
    """zoomsh (ZOOM over SRU GET) runs a CQL search and shows the record."""
    done = subprocess.run([need("zoomsh"), "set sru get", "set schema marcxml", f"connect {live_sru}",
                           "search cql:dc.title=hamlet and dc.creator=shakespeare", "show 0 1", "quit"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{live_sru}: 1 hits" in done.stdout and "Hamlet, prince of Denmark" in done.stdout
