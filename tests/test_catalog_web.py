"""Catalog screens end to end: quick form, ISBN scan, MARC editor, history, merge, copies, import, export."""
from __future__ import annotations

import io
import json
from datetime import date

from flask import Flask
from sqlalchemy import func, select

from catalog import marc
from catalog.build import QuickEntry, build
from catalog.models import (BatchStatus, DeletedRecord, ImportBatch, IndexChange, Item, ItemStatus, Record,
                            RecordVersion)
from catalog.services import items as item_services
from catalog.services import records as record_services
from ils import jobs, metrics
from ils.extensions import db
from ils.models import JobRecord
from tests.factories import SYSTEM, Network, login, make_record


def _client(app: Flask, net: Network, role: str = "cataloguer"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, net.users[role].username)
    return client


def test_quick_form_makes_a_valid_record_and_a_numbered_copy(app: Flask, ctx: None, network: Network) -> None:
    """A teacher fills in the quick form; the record is valid MARC and the copy gets the next numbers."""
    client = _client(app, network)
    response = client.post("/catalog/records/new", data={
        "title": "The Sea Around Us", "authors": "Carson, Rachel", "publisher": "Gramedia", "place": "Jakarta",
        "year": "2019", "isbn": "0-19-506997-8", "pages": "230", "language": "eng", "subjects": "Laut\nOseanografi",
        "ddc": "551.46", "item_type": "buku", "source": "hadiah", "add_item": "y", "lendable_network": "y"})
    assert response.status_code == 302
    record = db.session.scalar(select(Record).where(Record.title.like("The Sea Around Us%")))
    assert record is not None and record.isbns.split()[0] == "9780195069976"
    data = record_services.marc_of(record)
    title = next(v for f in data["fields"] for t, v in f.items() if t == "245")
    assert (title["ind1"], title["ind2"]) == ("1", "4")  # "The " does not file
    item = db.session.scalar(select(Item).where(Item.record_id == record.id))
    assert item.library_id == network.a.id and item.barcode.startswith("LIBA")
    assert item.accession_number.endswith(f"/{network.a.code}/{date.today().year}")
    assert (item.call_class, item.call_author, item.call_title) == ("551.46", "CAR", "s")
    page = client.get(f"/catalog/records/{record.id}").get_data(as_text=True)
    assert item.barcode in page and "551.46 CAR s" in page


def test_scanning_a_known_isbn_adds_a_copy_in_one_step(app: Flask, ctx: None, network: Network) -> None:
    """Copy cataloguing inside the network: the record is found and my copy is attached to it."""
    record, _copy = make_record("Ikan Pesisir Bontang", network.b, barcode="B-777", isbn="9786020331256")
    db.session.commit()
    client = _client(app, network)
    page = client.get("/catalog/scan?q=602-03-3125-3").get_data(as_text=True)  # the ISBN-10 form
    assert "Ikan Pesisir Bontang" in page
    response = client.post(f"/catalog/records/{record.id}/items/new", data={
        "barcode": "A-555", "item_type": "buku", "source": "pembelian", "lendable_network": "y", "public": "y"})
    assert response.status_code == 302
    owners = sorted(i.library_id for i in db.session.scalars(select(Item).where(Item.record_id == record.id)))
    assert owners == sorted([network.a.id, network.b.id])
    assert db.session.scalar(select(func.count()).select_from(Record)) == 3  # no second record


def test_scanning_an_unknown_isbn_opens_the_quick_form_prefilled(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network)
    response = client.get("/catalog/scan?q=978-602-8519-93-9")
    assert response.status_code == 302 and "isbn=9786028519939" in response.headers["Location"]
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="9786028519939"' in form


def test_marc_editor_saves_a_version_and_refuses_a_stale_one(app: Flask, ctx: None, network: Network) -> None:
    """Two cataloguers edit the same record: the second save is refused, nothing is overwritten."""
    record = network.record_a
    text = "\n".join(record_services.mnemonic(record_services.marc_of(record)))
    client = _client(app, network)
    edited = text.replace("Hikayat Pesisir Bontang", "Hikayat Pesisir Kota Bontang")
    ok = client.post(f"/catalog/records/{record.id}/marc", data={"marc": edited, "version": "1", "note": "judul"})
    assert ok.status_code == 302
    stale = client.post(f"/catalog/records/{record.id}/marc", data={"marc": text, "version": "1"})
    assert stale.status_code == 200 and "(now version 2)" in stale.get_data(as_text=True).replace(
        "(sekarang versi 2)", "(now version 2)")
    db.session.expire_all()
    assert db.session.get(Record, record.id).title.startswith("Hikayat Pesisir Kota Bontang")
    history = client.get(f"/catalog/records/{record.id}/history?a=1&b=2").get_data(as_text=True)
    assert "Hikayat Pesisir Kota Bontang" in history and "diff-add" in history and "diff-del" in history


def test_marc_editor_refuses_blocking_errors_with_a_message(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network)
    response = client.post("/catalog/records/new/marc", data={"marc": "=LDR  00000nam\\a2200000\\i\\4500\n"
                                                                      "=100  9\\$aTanpa judul."})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "245" in page
    assert db.session.scalar(select(func.count()).select_from(Record)) == 2


def test_merge_moves_copies_and_remembers_the_duplicate(app: Flask, ctx: None, network: Network) -> None:
    keep, remove = network.record_a, network.record_b
    client = _client(app, network)
    response = client.post(f"/catalog/records/{keep.id}/merge", data={"other_id": remove.id, "confirm": "y"})
    assert response.status_code == 302
    assert {i.record_id for i in db.session.scalars(select(Item))} == {keep.id}
    tomb = db.session.get(DeletedRecord, remove.id)
    assert tomb is not None and tomb.merged_into_id == keep.id
    assert client.get(f"/catalog/records/{remove.id}").headers["Location"].endswith(f"/catalog/records/{keep.id}")
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)
                             .where(RecordVersion.record_id == remove.id)) == 1  # its history stays


def test_a_record_with_copies_cannot_be_deleted_one_without_can(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network)
    client.post(f"/catalog/records/{network.record_a.id}/delete")
    assert db.session.get(Record, network.record_a.id) is not None
    bare, _none = make_record("Cantuman Tanpa Eksemplar")
    db.session.commit()
    client.post(f"/catalog/records/{bare.id}/delete")
    assert db.session.get(Record, bare.id) is None and db.session.get(DeletedRecord, bare.id) is not None
    assert db.session.get(IndexChange, bare.id) is not None  # the index is told


def test_withdraw_needs_a_reason_and_keeps_the_copy_counted(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network)
    client.post(f"/catalog/items/{network.item_a.id}/withdraw", data={"reason": ""})
    assert db.session.get(Item, network.item_a.id).status == ItemStatus.AVAILABLE
    client.post(f"/catalog/items/{network.item_a.id}/withdraw", data={"reason": "Rusak terkena banjir"})
    db.session.expire_all()
    item = db.session.get(Item, network.item_a.id)
    assert item.status == ItemStatus.WITHDRAWN and item.withdrawn_reason == "Rusak terkena banjir"
    assert metrics.value("catalog.copies", library_id=network.a.id) == 0
    assert metrics.value("catalog.copies", library_id=network.b.id) == 1


def test_accession_pattern_is_checked_and_used(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network, "librarian")
    bad = client.post(f"/catalog/settings?library={network.a.id}", data={
        "accession_pattern": "{nomor}", "barcode_prefix": "KB", "default_collection": "Umum"})
    assert bad.status_code == 200
    client.post(f"/catalog/settings?library={network.a.id}", data={
        "accession_pattern": "{seq:04d}/{code}/{yy}", "barcode_prefix": "kb", "default_collection": "Anak"})
    item = item_services.add_item(record_id=network.record_a.id, library_id=network.a.id,
                                  data=item_services.ItemInput(), actor=SYSTEM, today=date(2026, 3, 1))
    # The 2026 counter is shared by every pattern of the year: the network's first copy took 1.
    assert item.accession_number == f"0002/{network.a.code}/26" and item.barcode.startswith("KB")
    assert item.collection == "Anak"


def test_upload_runs_as_a_job_and_the_report_and_revert_work(app: Flask, ctx: None, network: Network) -> None:
    """The browser path: upload, the import job runs on the queue, the report lists each record."""
    good = marc.iso2709(build(QuickEntry(title="Buku Impor Satu", isbn="9786020331256"), org_code="X",
                              today=date(2026, 1, 1)))
    data = good + b"00050nam  2200025   4500garbage\x1d"
    client = _client(app, network)
    response = client.post("/catalog/imports/", data={"file": (io.BytesIO(data), "campur.mrc"), "format": "auto",
                                                      "encoding": "auto", "on_match": "items"})
    assert response.status_code == 302
    batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    batch_id, job_id = batch.id, batch.job_id
    jobs.run_burst()
    assert db.session.get(JobRecord, job_id).status.value == "finished"
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.status == BatchStatus.DONE and batch.counts["new"] == 1 and batch.counts["rejected"] == 1
    report = client.get(f"/catalog/imports/{batch.id}/report.csv").get_data(as_text=True)
    assert "Buku Impor Satu" in report and "rejected" in report
    client.post(f"/catalog/imports/{batch.id}/revert")
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == BatchStatus.REVERTED
    assert db.session.scalar(select(func.count()).select_from(Record).where(Record.title.like("Buku Impor%"))) == 0


def test_upload_over_the_limit_is_refused_clearly(app: Flask, ctx: None, network: Network) -> None:
    app.config["CATALOG_IMPORT_MAX_BYTES"] = 1000
    try:
        client = _client(app, network)
        response = client.post("/catalog/imports/", data={"file": (io.BytesIO(b"0" * 5000), "besar.mrc")})
    finally:
        app.config["CATALOG_IMPORT_MAX_BYTES"] = 60 * 1024 * 1024
    assert response.status_code == 200 and "MB" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 2  # only the network's


def test_library_export_streams_its_copies_as_952(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network, "librarian")
    body = client.get("/catalog/export?scope=library").get_data()
    read = [r.record for r in marc.read(io.BytesIO(body), fmt="iso2709")]
    assert len(read) == 1
    f952 = [v for f in read[0]["fields"] for t, v in f.items() if t == "952"]
    assert [s["p"] for s in f952[0]["subfields"] if "p" in s] == ["A0001"]
    xml = client.get("/catalog/export?format=marcxml").get_data()
    assert xml.startswith(b"<?xml") and xml.count(b"<record") == 2


def test_catalog_changes_reach_the_index_through_the_job(app: Flask, ctx: None, network: Network) -> None:
    """Every change is noted in the outbox with the transaction; the search job drains it."""
    from catalog import search

    record_a, record_b = network.record_a.id, network.record_b.id
    assert db.session.scalar(select(func.count()).select_from(IndexChange)) >= 2
    jobs.run_burst()
    assert db.session.scalar(select(func.count()).select_from(IndexChange)) == 0
    assert search.search_ids("hikayat") == [record_a]
    assert search.search_ids("B0001") == [record_b]
    text = db.session.get(Record, record_a).marc.replace("Hikayat Pesisir Bontang", "Syair Nelayan")
    record_services.update_record(record_id=record_a, actor=SYSTEM, marc=json.loads(text))
    db.session.commit()
    jobs.run_burst()
    assert search.search_ids("hikayat") == [] and search.search_ids("syair") == [record_a]
