"""OAI-PMH 2.0 at /oai: every verb and error code over GET and POST, sets, dates, deletions, privacy,
resumption while records change, every response validated against an XML Schema of the protocol (and
its metadata against its format's schema), and three real harvesters (Sickle, pyoai, Debian's oai_pmh)
over HTTP.

Schemas: no PyPI or Debian package installs OAI-PMH.xsd or MARC21slim.xsd, and other projects' files
are not copied here, so tests/data holds schemas of our own written from the specifications:
oai-pmh-2.0.xsd (the protocol's sections 2.4-2.6, 3.2-3.6 and 4) for the envelope, its metadata
checked laxly, and marc21-slim.xsd (LoC's MARCXML documentation) for each marc21 record in a second
pass. oai_dc.xsd is installed by eulxml; the DCMI element schema it imports is replaced by a
declaration of the fifteen elements written here. ``check_response`` adds the protocol's rules that
XML Schema 1.0 cannot state.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select, update

from catalog import bib
from catalog.models import DeletedRecord, ImportBatch, Record
from catalog.services import items, records
from catalog.services import oai as services
from catalog.services.visibility import held_by_clause, public_record_clause
from ils.extensions import db
from ils.models import LibraryType
from tests.conftest import dispose, make_app, serve
from tests.factories import SYSTEM, Network, build_network, make_library, make_record

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "m": "http://www.loc.gov/MARC21/slim",
      "dc": "http://purl.org/dc/elements/1.1/", "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/"}
O = "{http://www.openarchives.org/OAI/2.0/}"
REPO_ID = "sipus.bontang.go.id"
UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
OAI_ID = re.compile(r"oai:[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+:\S+")
DATA = Path(__file__).parent / "data"
DC_NAMES = ("title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
            "identifier", "source", "language", "relation", "coverage", "rights")
T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=timezone.utc)


# --- checking responses ---------------------------------------------------------------------------

class _DublinCoreElements(etree.Resolver):
    """oai_dc.xsd imports the DCMI element schema from the web: answer with the fifteen elements."""

    def resolve(self, url: str, pubid: str, context: Any) -> Any:
        if url.endswith("simpledc20021212.xsd"):
            elements = "".join(f'<xs:element name="{n}" type="xs:string"/>' for n in DC_NAMES)
            return self.resolve_string(
                '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified" '
                f'targetNamespace="{NS["dc"]}">{elements}</xs:schema>', context)
        return None


def load_schema(path: Path | str) -> etree.XMLSchema:
    """An XML Schema from a file, never fetching anything from the network."""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_DublinCoreElements())
    return etree.XMLSchema(etree.parse(str(path), parser))


OAI_PMH = load_schema(DATA / "oai-pmh-2.0.xsd")
FORMAT_SCHEMAS = {NS["m"]: load_schema(DATA / "marc21-slim.xsd"),  # ours, from LoC's MARCXML documentation
                  NS["oai_dc"]: load_schema(distribution("eulxml").locate_file("eulxml/schema_data/oai_dc.xsd"))}


def assert_schema_valid(root: Any) -> None:
    """The envelope against oai-pmh-2.0.xsd, then each <metadata> element's record against its format's schema."""
    OAI_PMH.assertValid(root)
    for metadata in root.iterfind(".//o:metadata", NS):
        inner = metadata[0]
        schema = FORMAT_SCHEMAS.get(etree.QName(inner).namespace)
        assert schema is not None, inner.tag
        schema.assertValid(inner)


def check_response(data: bytes) -> Any:
    """Parse a response, validate it, and check the rules no XML Schema 1.0 can; returns the root element."""
    root = etree.fromstring(data)
    assert_schema_valid(root)
    request = root[1]
    assert request.text.endswith("/oai")
    body = root[2]
    if body.tag != O + "error":  # the verb's element is the one the request names (section 3.2)
        assert etree.QName(body).localname == request.get("verb")
    # Our granularity (Identify) is seconds: every datestamp has it; identifiers follow the oai-identifier scheme.
    stamps = [*root.iterfind(".//o:datestamp", NS), *root.iterfind(".//o:earliestDatestamp", NS)]
    assert all(UTC_SECOND.fullmatch(stamp.text) for stamp in stamps)
    assert all(OAI_ID.fullmatch(i.text) for i in root.iterfind(".//o:header/o:identifier", NS))
    for record in root.iterfind(".//o:record", NS):  # section 2.5.1: metadata exactly when not deleted
        assert (record[0].get("status") == "deleted") == (record.find("o:metadata", NS) is None)
    token = body.find("o:resumptionToken", NS)
    if token is not None:  # section 3.5: the cursor counts the entries sent before this page
        page = len(body) - 1
        assert int(token.get("cursor")) + page <= int(token.get("completeListSize"))
    return root


# --- helpers ------------------------------------------------------------------------------------

def ask(client: FlaskClient, method: str = "GET", **args: str) -> Any:
    """One request (GET query string or POST form body), checked; the root element."""
    response = client.get("/oai", query_string=args) if method == "GET" else client.post("/oai", data=args)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    return check_response(response.data)


def error(root: Any) -> str:
    """The error code of a response ("" if none)."""
    found = root.find("o:error", NS)
    return found.get("code") if found is not None else ""


def ident(record_id: int) -> str:
    """The OAI identifier of a record."""
    return f"oai:{REPO_ID}:{record_id}"


def ids_of(root: Any) -> list[str]:
    """The identifiers of every header in a response."""
    return [e.text for e in root.iterfind(".//o:header/o:identifier", NS)]


def edit(record_id: int) -> None:
    """Save a record with one more note (a new version)."""
    marc = records.marc_of(db.session.get(Record, record_id))
    marc["fields"].append({"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": "Catatan baru."}]}})
    records.update_record(record_id=record_id, marc=marc, actor=SYSTEM)


def stamp(record_id: int, when: datetime) -> None:
    """Give a record a known datestamp."""
    db.session.execute(update(Record).where(Record.id == record_id).values(updated_at=when))


@pytest.fixture
def cat(ctx: Flask) -> dict[str, Any]:
    """Two libraries' catalog with every visibility case; datestamps T0 + 1 minute per record."""
    net: Network = build_network()  # record_a at LIB-A, record_b at LIB-B (public copies)
    induk = make_library("DPK", LibraryType.INDUK)
    closed = make_library("TUTUP", active=False)
    out: dict[str, Any] = {"net": net, "a": net.record_a.id, "b": net.record_b.id}
    out["private"] = make_record("Arsip Internal Perusahaan", net.b, barcode="B0002")[0].id
    items.update_item(item_id=items.item_by_barcode("B0002").id, changes={"public": False}, actor=SYSTEM)
    out["mixed"] = make_record("Peta Wisata Bontang", net.a, barcode="A0002")[0].id
    items.add_item(record_id=out["mixed"], library_id=net.b.id, data=items.ItemInput(barcode="B0003", public=False),
                   actor=SYSTEM, today=date(2026, 1, 5))
    out["bare"] = make_record("Katalog Tanpa Eksemplar")[0].id
    out["weeded"] = make_record("Buku Lama Sekali", net.a, barcode="A0003")[0].id
    items.withdraw(item_id=items.item_by_barcode("A0003").id, reason="rusak", actor=SYSTEM, today=date(2026, 1, 6))
    out["dinas"] = make_record("Dokumen Dinas", induk, barcode="D0001")[0].id
    items.add_item(record_id=out["dinas"], library_id=closed.id, data=items.ItemInput(barcode="T0001"),
                   actor=SYSTEM, today=date(2026, 1, 5))
    out["serial"] = make_record("Majalah Pesisir", net.a, barcode="A0004", serial=True)[0].id
    out["authority"] = records.create_record(marc={"leader": "00000nz  a2200000n  4500", "fields": [
        {"001": "au1"}, {"100": {"ind1": "1", "ind2": " ", "subfields": [{"a": "Hirata, Andrea"}]}}]}, actor=SYSTEM).id
    out["gone"] = make_record("Salah Entri")[0].id
    records.delete_record(record_id=out["gone"], actor=SYSTEM)
    live = ["a", "b", "private", "mixed", "bare", "weeded", "dinas", "serial"]
    for minute, name in enumerate(live):
        stamp(out[name], T0 + timedelta(minutes=minute))
    stamp(out["authority"], T0 - timedelta(days=1))
    db.session.execute(update(DeletedRecord).values(deleted_at=T0 + timedelta(minutes=len(live))))
    db.session.commit()
    return out


def harvest(client: FlaskClient, method: str = "GET", **args: str) -> tuple[list[Any], list[Any]]:
    """Follow resumption tokens to the end: (every header or record, every resumptionToken element)."""
    verb = args["verb"]
    found: list[Any] = []
    tokens: list[Any] = []
    root = ask(client, method, **args)
    while True:
        assert not error(root), error(root)
        body = root.find(f"o:{verb}", NS)
        found += [e for e in body if etree.QName(e).localname != "resumptionToken"]
        token = body.find("o:resumptionToken", NS)
        if token is None or not token.text:
            tokens += [token] if token is not None else []
            return found, tokens
        tokens.append(token)
        root = ask(client, method, verb=verb, resumptionToken=token.text)


def header_of(entry: Any) -> Any:
    """A header, or the header of a record."""
    return entry if etree.QName(entry).localname == "header" else entry[0]


def split(entries: list[Any]) -> tuple[list[str], list[str]]:
    """(identifiers of live records, identifiers of deletions)."""
    live, deleted = [], []
    for entry in entries:
        head = header_of(entry)
        (deleted if head.get("status") == "deleted" else live).append(head[0].text)
    return live, deleted


# --- the verbs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_identify(client: FlaskClient, cat: dict[str, Any], method: str) -> None:
    """Identify names us, the earliest datestamp of a bibliographic record or tombstone, persistent deletions."""
    root = ask(client, method, verb="Identify")
    body = root.find("o:Identify", NS)
    assert body.findtext("o:repositoryName", namespaces=NS) == "SIPUS Bontang - Katalog Induk Kota Bontang"
    assert body.findtext("o:baseURL", namespaces=NS) == "http://localhost/oai" == root[1].text
    assert body.findtext("o:adminEmail", namespaces=NS) == "perpustakaan@bontangkota.go.id"
    assert body.findtext("o:earliestDatestamp", namespaces=NS) == "2025-03-01T08:00:00Z"  # not the authority's
    assert body.findtext("o:deletedRecord", namespaces=NS) == "persistent"
    assert body.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert root[1].attrib == {"verb": "Identify"}


def test_identify_without_admin_email_is_refused(app: Flask, client: FlaskClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Identify must name a contact: unset in production, /oai says so instead of inventing one."""
    monkeypatch.setitem(app.config, "CATALOG_OAI_ADMIN_EMAIL", None)
    response = client.get("/oai?verb=Identify")
    assert response.status_code == 503 and b"CATALOG_OAI_ADMIN_EMAIL" in response.data


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_list_metadata_formats(client: FlaskClient, cat: dict[str, Any], method: str) -> None:
    """oai_dc and marc21 for the repository and for a live record; a deleted record has none."""
    for args in ({}, {"identifier": ident(cat["a"])}):
        root = ask(client, method, verb="ListMetadataFormats", **args)
        formats = {f.findtext("o:metadataPrefix", namespaces=NS): (f.findtext("o:schema", namespaces=NS),
                   f.findtext("o:metadataNamespace", namespaces=NS)) for f in root.iterfind(".//o:metadataFormat", NS)}
        assert formats == {
            "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/"),
            "marc21": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", "http://www.loc.gov/MARC21/slim")}
    for hidden in ("gone", "private"):
        root = ask(client, method, verb="ListMetadataFormats", identifier=ident(cat[hidden]))
        assert error(root) == "noMetadataFormats" and root[1].get("identifier") == ident(cat[hidden])
    assert error(ask(client, method, verb="ListMetadataFormats", identifier=ident(cat["authority"]))) == "idDoesNotExist"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_list_sets(client: FlaskClient, cat: dict[str, Any], method: str) -> None:
    """One set per active service point (no DPK, no closed library) and per material type present."""
    root = ask(client, method, verb="ListSets")
    specs = {s.findtext("o:setSpec", namespaces=NS): s.findtext("o:setName", namespaces=NS)
             for s in root.iterfind(".//o:set", NS)}
    assert specs == {"library:LIB-A": "Perpustakaan LIB-A", "library:LIB-B": "Perpustakaan LIB-B",
                     "type:book": "Material type: book", "type:serial": "Material type: serial"}


def test_get_record_in_both_formats(client: FlaskClient, cat: dict[str, Any]) -> None:
    """GetRecord: the header with its sets, Dublin Core from the crosswalk, the MARC as MARCXML."""
    root = ask(client, verb="GetRecord", identifier=ident(cat["mixed"]), metadataPrefix="oai_dc")
    head = root.find(".//o:header", NS)
    assert head.findtext("o:datestamp", namespaces=NS) == "2025-03-01T08:03:00Z"
    assert [s.text for s in head.iterfind("o:setSpec", NS)] == ["type:book", "library:LIB-A"]  # B's copy is private
    assert root.findtext(".//dc:title", namespaces=NS) == "Peta Wisata Bontang"
    root = ask(client, "POST", verb="GetRecord", identifier=ident(cat["mixed"]), metadataPrefix="marc21")
    marc = root.find(".//o:metadata/m:record", NS)
    assert marc.findtext("m:datafield[@tag='245']/m:subfield[@code='a']", namespaces=NS).startswith("Peta Wisata")
    assert root[1].attrib == {"verb": "GetRecord", "identifier": ident(cat["mixed"]), "metadataPrefix": "marc21"}


def test_deleted_and_hidden_records_are_deleted_headers(client: FlaskClient, cat: dict[str, Any]) -> None:
    """A tombstone and a record with only private copies: status="deleted", no metadata, no sets."""
    for name in ("gone", "private"):
        root = ask(client, verb="GetRecord", identifier=ident(cat[name]), metadataPrefix="oai_dc")
        head = root.find(".//o:header", NS)
        assert head.get("status") == "deleted" and head.find("o:setSpec", NS) is None
        assert root.find(".//o:metadata", NS) is None
    assert "Arsip Internal" not in "".join(ask(client, verb="ListRecords", metadataPrefix="marc21").itertext())


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
def test_full_harvest_is_the_public_records_plus_deletions(client: FlaskClient, cat: dict[str, Any], method: str,
                                                         verb: str) -> None:
    """Every public bibliographic record once, in datestamp order; deletions flagged; no authority."""
    entries, tokens = harvest(client, method, verb=verb, metadataPrefix="oai_dc")
    live, deleted = split(entries)
    public = [ident(cat[n]) for n in ("a", "b", "mixed", "bare", "weeded", "dinas", "serial")]
    assert live == public and deleted == [ident(cat["private"]), ident(cat["gone"])]
    assert tokens == []  # nine entries fit in one page of 500


def test_visibility_clauses(ctx: Flask, cat: dict[str, Any]) -> None:
    """Public: no copies, or any copy flagged public (withdrawn too); held: public and not withdrawn."""
    public = set(db.session.scalars(select(Record.id).where(public_record_clause())))
    assert public == {cat[n] for n in ("a", "b", "mixed", "bare", "weeded", "dinas", "serial")}
    held = set(db.session.scalars(select(Record.id).where(held_by_clause(cat["net"].a.id))))
    assert held == {cat["a"], cat["mixed"], cat["serial"]}


def test_resumption_pages_and_counts(app: Flask, client: FlaskClient, cat: dict[str, Any],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 2: cursor counts what came before, completeListSize the whole list, last token empty."""
    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 2)
    entries, tokens = harvest(client, "POST", verb="ListRecords", metadataPrefix="marc21")
    assert len(entries) == 9 and len(set(ids_of_entries(entries))) == 9
    assert [(t.get("cursor"), t.get("completeListSize")) for t in tokens] == [
        ("0", "9"), ("2", "9"), ("4", "9"), ("6", "9"), ("8", "9")]
    assert tokens[-1].text is None
    again = ask(client, verb="ListRecords", resumptionToken=tokens[1].text)  # idempotent
    assert ids_of(again) == ids_of_entries(entries[4:6])


def ids_of_entries(entries: list[Any]) -> list[str]:
    """The identifiers of harvested headers or records."""
    return [header_of(e)[0].text for e in entries]


def test_records_changing_during_a_harvest(app: Flask, ctx: Flask, cat: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Changed or deleted mid-harvest: nothing unchanged is lost or repeated, the token stays valid, and
    the next harvest from this one's responseDate brings the changes (OAI-PMH 2.0 section 3.5.1)."""
    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 2)
    first_at = T0 + timedelta(days=1)

    def call(at: datetime, **args: str) -> Any:
        return check_response(services.answer(pairs=list(args.items()), base_url="http://h/oai", now=at))

    root = call(first_at, verb="ListIdentifiers", metadataPrefix="oai_dc")
    got = ids_of(root)
    assert got == [ident(cat["a"]), ident(cat["b"])]
    # Already sent: a is edited. Not yet sent: bare is deleted, mixed loses its public copy, serial is edited.
    edit(cat["a"])
    records.delete_record(record_id=cat["bare"], actor=SYSTEM)
    items.update_item(item_id=items.item_by_barcode("A0002").id, changes={"public": False}, actor=SYSTEM)
    edit(cat["serial"])
    db.session.commit()
    token = root.find(".//o:resumptionToken", NS)
    while token is not None and token.text:
        root = call(first_at + timedelta(minutes=5), verb="ListIdentifiers", resumptionToken=token.text)
        assert not error(root) and int(token.get("cursor")) <= int(token.get("completeListSize")) == 9
        got += ids_of(root)
        token = root.find(".//o:resumptionToken", NS)
    unchanged = [ident(cat[n]) for n in ("a", "b", "private", "weeded", "dinas", "gone")]
    assert got == unchanged and len(set(got)) == len(got)
    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 10)
    later = call(datetime.now(timezone.utc), verb="ListIdentifiers", metadataPrefix="oai_dc",
                 **{"from": "2025-03-02T08:00:00Z"})
    live, deleted = split(list(later.find("o:ListIdentifiers", NS)))
    assert sorted(live) == sorted([ident(cat["a"]), ident(cat["serial"])])
    assert sorted(deleted) == sorted([ident(cat["bare"]), ident(cat["mixed"])])


@pytest.mark.parametrize(("spec", "live", "deleted"), [
    ("library:LIB-A", ["a", "mixed", "serial"], ["gone"]),
    ("library:LIB-B", ["b"], ["gone"]),
    ("type:serial", ["serial"], ["gone"]),
    ("type:book", ["a", "b", "mixed", "bare", "weeded", "dinas"], ["private", "gone"]),
])
def test_sets(client: FlaskClient, cat: dict[str, Any], spec: str, live: list[str], deleted: list[str]) -> None:
    """A library's set holds the records it has a public, not withdrawn copy of; a type set its type.

    Deletions: every tombstone in every set (its sets are unknown after the fact), hidden records in
    their type's set.
    """
    entries, _tokens = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
    assert split(entries) == ([ident(cat[n]) for n in live], [ident(cat[n]) for n in deleted])
    for entry in entries:
        head = header_of(entry)
        assert head.get("status") == "deleted" or spec in [s.text for s in head.iterfind("o:setSpec", NS)]


@pytest.mark.parametrize(("args", "expected"), [
    ({"from": "2025-03-01T08:02:00Z", "until": "2025-03-01T08:04:00Z"}, ["private", "mixed", "bare"]),
    ({"from": "2025-03-01T08:07:00Z"}, ["serial", "gone"]),
    ({"until": "2025-03-01T08:00:59Z"}, ["a"]),
    ({"from": "2025-03-01", "until": "2025-03-01"}, ["a", "b", "private", "mixed", "bare", "weeded", "dinas",
                                                   "serial", "gone"]),
    ({"until": "2025-02-28"}, []),
])
def test_from_and_until(client: FlaskClient, cat: dict[str, Any], args: dict[str, str], expected: list[str]) -> None:
    """Both bounds inclusive, at seconds or days; an empty range is noRecordsMatch."""
    root = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc", **args)
    if expected:
        assert ids_of(root) == [ident(cat[n]) for n in expected]
    else:
        assert error(root) == "noRecordsMatch" and root[1].get("until") == args["until"]


def test_item_changes_bump_the_datestamp(ctx: Flask, cat: dict[str, Any]) -> None:
    """Adding, hiding, withdrawing and deleting a copy changes set membership: the record's datestamp moves."""
    net = cat["net"]

    def moved(action: Any) -> bool:
        stamp(cat["b"], T0)
        action()
        db.session.flush()
        return db.session.get(Record, cat["b"]).updated_at > T0 + timedelta(days=1)

    today = date(2026, 1, 7)
    assert moved(lambda: items.add_item(record_id=cat["b"], library_id=net.a.id,
                                        data=items.ItemInput(barcode="A0099"), actor=SYSTEM, today=today))
    copy = items.item_by_barcode("A0099")
    assert moved(lambda: items.update_item(item_id=copy.id, changes={"public": False}, actor=SYSTEM))
    assert not moved(lambda: items.update_item(item_id=copy.id, changes={"notes": "rak 3"}, actor=SYSTEM))
    assert moved(lambda: items.withdraw(item_id=copy.id, reason="hilang", actor=SYSTEM, today=today))
    assert moved(lambda: items.delete_item(item_id=copy.id, actor=SYSTEM))
    db.session.rollback()


def test_an_import_that_adds_copies_bumps_the_datestamp_and_its_revert_too(ctx: Flask, cat: dict[str, Any]) -> None:
    """A matched record that gains (or, on revert, loses) a library's copies gets a new datestamp."""
    import io

    from catalog import marc
    from catalog.services import imports

    net = cat["net"]
    stamp(cat["b"], T0)
    db.session.commit()
    record = records.marc_of(db.session.get(Record, cat["b"]))
    record["fields"].append({"952": {"ind1": " ", "ind2": " ", "subfields": [{"p": "IMP-0001"}]}})
    batch = imports.start_import(stream=io.BytesIO(marc.iso2709(record)), filename="x.mrc", library_id=net.a.id,
                                 actor=SYSTEM, enqueue=False, max_bytes=None)
    db.session.commit()
    imports.run_import(batch.id, actor=SYSTEM, checkpoint=lambda *_: db.session.commit(), today=date(2026, 1, 7))
    db.session.commit()
    assert db.session.get(ImportBatch, batch.id).counts == {"matched": 1, "items": 1}
    after_import = db.session.get(Record, cat["b"]).updated_at
    assert after_import > T0 + timedelta(days=1)
    assert db.session.scalar(select(Record.id).where(Record.id == cat["b"], held_by_clause(net.a.id))) == cat["b"]
    stamp(cat["b"], T0)
    db.session.commit()
    imports.revert_batch(batch_id=batch.id, actor=SYSTEM)
    db.session.commit()
    assert db.session.get(Record, cat["b"]).updated_at > T0 + timedelta(days=1)


# --- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "code"), [
    ({}, "badVerb"),
    ({"verb": "ListAll"}, "badVerb"),
    ({"verb": ["Identify", "Identify"]}, "badVerb"),
    ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "marc21"]}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "identifier": "x"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-03-01T08:00:00"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-02-30"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-03-01", "until": "2025-03-02T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-03-02", "until": "2025-03-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "library:LIB A"}, "badArgument"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords", "resumptionToken": "bm90IG91cnM.AAAA"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
    ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "metadataPrefix": "mods", "identifier": "oai:sipus.bontang.go.id:1"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:sipus.bontang.go.id:999999"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:elsewhere.org:1"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:sipus.bontang.go.id:01"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "library:NOPE"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "library:DPK"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "type:map"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"}, "noRecordsMatch"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_errors(client: FlaskClient, cat: dict[str, Any], args: dict[str, Any], code: str, method: str) -> None:
    """Each error code where the protocol calls for it; badVerb and badArgument echo no arguments."""
    root = ask(client, method, **args)
    assert error(root) == code
    echoed = root[1].attrib
    if code in ("badVerb", "badArgument"):
        assert echoed == {}
    else:
        assert echoed == {k: v for k, v in args.items()}


def test_no_set_hierarchy_while_the_catalog_is_empty(client: FlaskClient) -> None:
    """No library and no record: there is no set to list."""
    assert error(ask(client, verb="ListSets")) == "noSetHierarchy"


def test_tokens_are_tamper_evident(app: Flask, client: FlaskClient, cat: dict[str, Any],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed character, another verb's token or another key: badResumptionToken."""
    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 2)
    token = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc").findtext(".//o:resumptionToken", namespaces=NS)
    assert not error(ask(client, verb="ListIdentifiers", resumptionToken=token))
    payload, _dot, signature = token.partition(".")
    flipped = ("B" if payload[5] == "A" else "A").join((payload[:5], payload[6:]))
    for bad in (f"{flipped}.{signature}", token[:-1], payload, f"{token}x"):
        assert error(ask(client, verb="ListIdentifiers", resumptionToken=bad)) == "badResumptionToken", bad
    assert error(ask(client, verb="ListRecords", resumptionToken=token)) == "badResumptionToken"
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-key-" * 4)
    assert error(ask(client, verb="ListIdentifiers", resumptionToken=token)) == "badResumptionToken"


def test_control_characters_never_reach_the_xml(ctx: Flask, client: FlaskClient, cat: dict[str, Any]) -> None:
    """Raw MARC delimiters in a record still give well-formed XML in both formats."""
    record = db.session.get(Record, cat["a"])
    marc = records.marc_of(record)
    marc["fields"].append({"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": "Catatan\x1f rusak \x0b<&>"}]}})
    record.marc = bib.dumps(marc)
    db.session.commit()
    for prefix in ("oai_dc", "marc21"):
        root = ask(client, verb="GetRecord", identifier=ident(cat["a"]), metadataPrefix=prefix)
        assert "<&>" in "".join(root.itertext())


def test_post_needs_no_csrf_token(app: Flask, session_dir: Path) -> None:
    """With CSRF protection on (as in production), a harvester's form POST is still answered."""
    strict = make_app(session_dir, WTF_CSRF_ENABLED=True)
    try:
        response = strict.test_client().post("/oai", data={"verb": "Identify"})
        assert response.status_code == 200
        assert check_response(response.data).find("o:Identify", NS) is not None
    finally:
        dispose(strict)


# --- the schemas ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_verb_format_set_and_page_validates(app: Flask, client: FlaskClient, cat: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Identify, the formats of the repository and of each record, the sets, both lists in both formats for
    the whole catalog and for each set in pages of 2, and GetRecord of each record in each format: every
    response passes check_response (through ``ask``), each record's marc21 or oai_dc included."""
    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 2)
    ask(client, method, verb="Identify")
    specs = [spec.text for spec in ask(client, method, verb="ListSets").iterfind(".//o:setSpec", NS)]
    names = ("a", "b", "private", "mixed", "bare", "weeded", "dinas", "serial", "gone")
    for identifier in [None, *(ident(cat[n]) for n in names)]:
        ask(client, method, verb="ListMetadataFormats", **({"identifier": identifier} if identifier else {}))
    for prefix in ("oai_dc", "marc21"):
        for spec in [None, *specs]:
            for verb in ("ListIdentifiers", "ListRecords"):
                entries, _tokens = harvest(client, method, verb=verb, metadataPrefix=prefix,
                                           **({"set": spec} if spec else {}))
                assert spec or len(entries) == 9  # the whole catalog: 7 public records, 2 deletions
        answers = [ask(client, method, verb="GetRecord", identifier=ident(cat[n]), metadataPrefix=prefix)
                   for n in names]
        assert sum(root.find(".//o:metadata", NS) is not None for root in answers) == 7


@pytest.mark.parametrize("args", [
    {"verb": "ListRecords", "metadataPrefix": "a/b"},
    {"verb": "GetRecord", "metadataPrefix": "oai dc", "identifier": "oai:sipus.bontang.go.id:1"},
    {"verb": "ListMetadataFormats", "identifier": ""},
    {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:sipus.bontang.go.id:%zz"},
])
def test_arguments_of_illegal_syntax_are_bad_arguments(client: FlaskClient, cat: dict[str, Any],
                                                       args: dict[str, str]) -> None:
    """A value that breaks its argument's syntax is badArgument, so the response never echoes it."""
    assert error(ask(client, **args)) == "badArgument"


def _to_oai_1_1(root: Any) -> None:
    """Move every OAI-PMH 2.0 element to another namespace."""
    for element in root.iter(O + "*"):
        element.tag = "{http://www.openarchives.org/OAI/1.1/}" + etree.QName(element).localname


def _set(path: str, name: str, value: str) -> Any:
    """Set an attribute of the first element at ``path``."""
    return lambda root: root.find(path, NS).set(name, value)


def _text(path: str, value: str) -> Any:
    """Replace the text of the first element at ``path``."""
    return lambda root: setattr(root.find(path, NS), "text", value)


def _drop(path: str) -> Any:
    """Remove the first element at ``path``."""
    return lambda root: root.find(path, NS).getparent().remove(root.find(path, NS))


MARC21 = {"verb": "ListRecords", "metadataPrefix": "marc21"}  # two records a page, so a resumptionToken too
IDENTIFY = {"verb": "Identify"}


@pytest.mark.parametrize(("args", "breakage", "complaint"), [
    pytest.param(IDENTIFY, _to_oai_1_1, "No matching global declaration", id="wrong-namespace"),
    pytest.param({"verb": "ListAll"}, _set("o:error", "code", "badRequest"), "'badRequest'", id="unknown-error-code"),
    pytest.param(MARC21, _drop(".//o:header/o:datestamp"), "Expected is .*datestamp", id="header-without-datestamp"),
    pytest.param(MARC21, _set(".//o:resumptionToken", "cursor", "two"), "'cursor'", id="non-integer-cursor"),
    pytest.param(MARC21, _set(".//m:datafield", "tag", "2450"), "'2450'", id="marc-tag-of-four-characters"),
    pytest.param(MARC21, _set(".//m:subfield", "code", "ab"), "'ab'", id="marc-code-of-two-characters"),
    pytest.param(MARC21, _drop(".//m:leader"), "Expected is .*leader", id="marc-without-leader"),
    pytest.param(MARC21, _text("o:responseDate", "2025-03-01T15:00:00+07:00"), "responseDate", id="not-utc"),
    pytest.param(MARC21, _text(".//o:datestamp", "2025-02-30"), "'2025-02-30'", id="no-such-day"),
    pytest.param(MARC21, _set(".//o:header", "status", "hidden"), "'hidden'", id="unknown-status"),
    pytest.param(MARC21, _text(".//o:setSpec", "library:LIB A"), "'library:LIB A'", id="set-spec-with-space"),
    pytest.param(IDENTIFY, _text(".//o:protocolVersion", "1.1"), "'1.1'", id="protocol-version-1.1"),
    pytest.param(IDENTIFY, lambda root: root.append(etree.Element(O + "error", code="badVerb")),
                 "error': This element is not expected", id="verb-and-error"),
])
def test_the_schemas_reject_broken_responses(app: Flask, client: FlaskClient, cat: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch, args: dict[str, str], breakage: Any,
                                             complaint: str) -> None:
    """A valid response broken in one place fails the schemas (a MARC record in the second pass), for that place."""
    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 2)
    root = ask(client, **args)  # valid as sent
    breakage(root)
    with pytest.raises(etree.DocumentInvalid, match=complaint):
        assert_schema_valid(root)


# --- real harvesters over HTTP --------------------------------------------------------------------

@pytest.fixture
def base_url(app: Flask, cat: dict[str, Any]) -> Iterator[str]:
    """The endpoint's URL on a real HTTP server (tests.conftest.serve)."""
    with serve(app) as root:
        yield f"{root}/oai"


def public_ids(cat: dict[str, Any]) -> set[str]:
    """Identifiers of the public records of the ``cat`` fixture."""
    return {ident(cat[n]) for n in ("a", "b", "mixed", "bare", "weeded", "dinas", "serial")}


@pytest.mark.slow
@pytest.mark.parametrize("http_method", ["GET", "POST"])
def test_sickle_harvests_everything(app: Flask, base_url: str, cat: dict[str, Any], http_method: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Sickle (GET and POST): Identify, formats, sets, a paged harvest of exactly the public records."""
    from sickle import Sickle

    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 3)
    sickle = Sickle(base_url, http_method=http_method)
    assert sickle.Identify().repositoryName == "SIPUS Bontang - Katalog Induk Kota Bontang"
    assert {f.metadataPrefix for f in sickle.ListMetadataFormats()} == {"oai_dc", "marc21"}
    assert "library:LIB-A" in {s.setSpec for s in sickle.ListSets()}
    harvested = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=True))
    assert {r.header.identifier for r in harvested} == public_ids(cat) and len(harvested) == 7
    assert "Peta Wisata Bontang" in [r.metadata["title"][0] for r in harvested]
    headers = list(sickle.ListIdentifiers(metadataPrefix="marc21"))
    assert {h.identifier for h in headers if h.deleted} == {ident(cat["private"]), ident(cat["gone"])}
    record = sickle.GetRecord(identifier=ident(cat["serial"]), metadataPrefix="marc21")
    assert "Majalah Pesisir" in record.raw


@pytest.mark.slow
def test_pyoai_harvests_with_post(base_url: str, cat: dict[str, Any]) -> None:
    """pyoai (POSTs every verb): identify, listRecords in oai_dc, getRecord."""
    from oaipmh.client import Client
    from oaipmh.metadata import MetadataRegistry, oai_dc_reader

    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    client = Client(base_url, registry)
    assert client.identify().repositoryName() == "SIPUS Bontang - Katalog Induk Kota Bontang"
    harvested = [(h.identifier(), h.isDeleted(), md) for h, md, _about in client.listRecords(metadataPrefix="oai_dc")]
    assert {i for i, deleted, _md in harvested if not deleted} == public_ids(cat)
    header, md, _about = client.getRecord(identifier=ident(cat["mixed"]), metadataPrefix="oai_dc")
    assert md.getField("title") == ["Peta Wisata Bontang"] and header.setSpec() == ["type:book", "library:LIB-A"]


@pytest.mark.slow
def test_debian_oai_pmh_cli(app: Flask, base_url: str, cat: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Perl HTTP::OAI's oai_pmh: Identify, a full ListRecords in marc21, GetRecord."""
    if shutil.which("oai_pmh") is None:
        if os.environ.get("ILS_REQUIRE_CLIENTS") == "1":
            pytest.fail("oai_pmh (Debian libhttp-oai-perl) is not installed but ILS_REQUIRE_CLIENTS=1")
        pytest.skip("oai_pmh is not installed (apt-get install libhttp-oai-perl)")

    def run(*args: str, ok: bool = True) -> str:
        done = subprocess.run(["oai_pmh", *args, base_url], capture_output=True, text=True, timeout=120, check=False)
        assert (done.returncode == 0) == ok, done.stderr[-2000:]
        return done.stdout + done.stderr

    monkeypatch.setitem(app.config, "CATALOG_OAI_PAGE_SIZE", 3)  # it must follow the resumption tokens
    run("-X", "Identify")  # prints nothing; exits non-zero on an unreadable response or an OAI error
    assert "metadataPrefix: marc21" in run("-X", "ListMetadataFormats")
    blocks = [b for b in run("-X", "ListRecords", "--metadataPrefix", "marc21").split("\f") if b.strip()]
    status = {re.search(r"^identifier: (\S+)$", b, re.M).group(1): re.search(r"^status: (\S*)$", b, re.M).group(1)
              for b in blocks}
    assert status == {**{i: "" for i in public_ids(cat)}, ident(cat["private"]): "deleted", ident(cat["gone"]): "deleted"}
    assert sum("<leader>" in b for b in blocks) == 7 and "Arsip Internal" not in "".join(blocks)
    assert "Majalah Pesisir" in run("-X", "GetRecord", "--identifier", ident(cat["serial"]), "--metadataPrefix", "oai_dc")
    assert "idDoesNotExist" in run("-X", "GetRecord", "--identifier", ident(999999), "--metadataPrefix", "oai_dc",
                                   ok=False)
