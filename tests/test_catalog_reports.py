"""Accession register, labels and collection statistics: right rows, real PDFs, library scope."""
from __future__ import annotations

import io
from datetime import date

import pytest
from flask import Flask
from pypdf import PdfReader

from catalog.services import items as item_services
from catalog.services import reports
from ils.errors import Forbidden
from ils.extensions import db
from tests.factories import SYSTEM, Network, login, make_record


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_accession_register_lists_the_years_copies_and_marks_withdrawn(ctx: None, network: Network) -> None:
    record, _item = make_record("Kamus Bahasa Kutai", network.a, barcode="A-2025", ddc="499.2")
    old = item_services.add_item(record_id=record.id, library_id=network.a.id, actor=SYSTEM, today=date(2025, 5, 2),
                                 data=item_services.ItemInput(barcode="A-OLD", price=75000,
                                                              acquired_on=date(2025, 5, 2)))
    item_services.withdraw(item_id=old.id, reason="Hilang halaman", actor=SYSTEM, today=date(2026, 2, 1))
    db.session.commit()
    rows_2025 = reports.accession_register(library_id=network.a.id, year=2025, actor=SYSTEM)
    assert [r.accession_number for r in rows_2025] == [old.accession_number]
    assert rows_2025[0].price == "75.000" and "Hilang halaman" in rows_2025[0].remark
    rows_2026 = reports.accession_register(library_id=network.a.id, year=2026, actor=SYSTEM)
    assert {r.title.split(" /")[0].rstrip(".") for r in rows_2026} == {"Hikayat Pesisir Bontang", "Kamus Bahasa Kutai"}
    assert reports.register_years(library_id=network.a.id, actor=SYSTEM) == [2026, 2025]


def test_register_and_labels_are_scoped_to_the_library(ctx: None, network: Network) -> None:
    from catalog.services.records import org_code  # noqa: F401  (app context needed below)
    from ils.services.staff import actor_for

    librarian = actor_for(network.users["librarian"])
    reports.accession_register(library_id=network.a.id, year=2026, actor=librarian)
    with pytest.raises(Forbidden):
        reports.accession_register(library_id=network.b.id, year=2026, actor=librarian)
    with pytest.raises(Forbidden):
        reports.label_items(library_id=network.b.id, actor=librarian, barcodes=["B0001"])
    # A barcode of another library is simply not one of mine.
    assert reports.label_items(library_id=network.a.id, actor=librarian, barcodes=["B0001", "A0001"])[0].barcode \
        == "A0001"


def test_label_and_register_pdfs_carry_the_call_numbers(app: Flask, ctx: None, network: Network) -> None:
    client = app.test_client()
    login(client, network.users["cataloguer"].username)
    spine = client.get(f"/catalog/labels.pdf?kind=spine&barcodes=A0001&item={network.item_a.id}")
    text = _pdf_text(spine.get_data())
    assert spine.mimetype == "application/pdf" and network.item_a.call_author in text
    barcode = client.get("/catalog/labels.pdf?kind=barcode&barcodes=A0001&skip=2")
    assert "A0001" in _pdf_text(barcode.get_data())
    register = client.get("/catalog/accession-register.pdf?year=2026")
    assert network.item_a.accession_number in _pdf_text(register.get_data())
    page = client.get("/catalog/accession-register?year=2026").get_data(as_text=True)
    assert network.item_a.accession_number in page


def test_collection_statistics_count_classes_languages_and_recent_share(ctx: None, network: Network) -> None:
    make_record("Dasar Pemrograman Python", network.a, barcode="A-PY", ddc="005.133", year=2024, language="ind")
    make_record("Old Mariners", network.a, barcode="A-OM", ddc="823.8", year=1990, language="eng")
    db.session.commit()
    stats = reports.collection_stats(library_id=network.a.id, actor=SYSTEM, today=date(2026, 11, 22))
    assert (stats.titles, stats.copies) == (3, 3)
    assert stats.recent_titles == 1 and stats.recent_share == pytest.approx(33.3)
    classes = {label[:3]: (t, c) for label, t, c in stats.by_class}
    assert classes["000"] == (1, 1) and classes["800"] == (1, 1)
    assert dict(stats.by_language) == {"ind": 2, "eng": 1}
    network_wide = reports.collection_stats(library_id=None, actor=SYSTEM, today=date(2026, 11, 22))
    assert network_wide.copies == 4
