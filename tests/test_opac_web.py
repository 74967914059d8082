"""OPAC pages: results with facets and live availability, direct hits, suggestions, the record page."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from catalog.models import ItemStatus
from ils.models import Library
from ils import jobs
from ils.extensions import db
from tests.factories import make_library, make_record
from tests.test_search import PUSTAKA_ISBN, _copy


def _catalog() -> dict[str, Any]:
    city = make_library("PUKB", name="Perpustakaan Umum Kota Bontang")
    company = make_library("KH-PT", opac_public=False)  # a company library: its collection is private
    baca, _ = make_record("Membaca bacaan anak", authors=["Sari, Dewi"], year=2019, subjects=["Literasi"])
    pustaka, _ = make_record("Pengelolaan perpustakaan", year=2012, isbn=PUSTAKA_ISBN)
    secret, _ = make_record("Laporan pabrik amonia", year=2021)
    _copy(baca, city)
    _copy(baca, city, status=ItemStatus.ON_LOAN)
    _copy(pustaka, city)
    _copy(secret, company, public=False)
    db.session.commit()
    out = {"baca": baca.id, "pustaka": pustaka.id, "secret": secret.id}
    jobs.run_burst()
    return out


def test_results_show_availability_and_facets(ctx: Flask, client: FlaskClient) -> None:
    ids = _catalog()
    page = client.get("/opac/search?q=pembaca").get_data(as_text=True)
    assert f"/opac/record/{ids['baca']}" in page and "1 tersedia" in page
    assert "Perpustakaan Umum Kota Bontang" in page and "Literasi" in page  # library and subject facets
    assert "1 judul" in page
    narrowed = client.get("/opac/search?q=&library=PUKB&year=2010-2019").get_data(as_text=True)
    assert f"/opac/record/{ids['pustaka']}" in narrowed and f"/opac/record/{ids['baca']}" in narrowed
    hidden = client.get("/opac/search?q=amonia").get_data(as_text=True)
    assert f"/opac/record/{ids['secret']}" not in hidden and "0 judul" in hidden


def test_an_isbn_or_barcode_goes_straight_to_the_record(ctx: Flask, client: FlaskClient) -> None:
    ids = _catalog()
    response = client.get(f"/opac/search?q={PUSTAKA_ISBN}")
    assert response.status_code == 302 and response.location.endswith(f"/opac/record/{ids['pustaka']}")


def test_a_typo_offers_the_catalogs_own_words(ctx: Flask, client: FlaskClient) -> None:
    _catalog()
    page = client.get("/opac/search?q=pengelolan").get_data(as_text=True)
    assert "Mungkin maksud Anda" in page and "q=pengelolaan" in page


def test_record_page_lists_copies_and_hides_private_titles(ctx: Flask, client: FlaskClient) -> None:
    ids = _catalog()
    page = client.get(f"/opac/record/{ids['baca']}").get_data(as_text=True)
    assert "Membaca bacaan anak" in page and "1 dipinjam" in page and "=245" in page
    assert client.get(f"/opac/record/{ids['secret']}").status_code == 404
    english = client.get(f"/opac/record/{ids['baca']}", headers={"Accept-Language": "en"})
    assert english.status_code == 200


def test_json_search_api_has_the_pages_features(ctx: Flask, client: FlaskClient) -> None:
    ids = _catalog()
    data = client.get("/api/v1/search?q=bacaan&library=PUKB").get_json()
    assert data["total"] == 1 and data["items"][0]["id"] == ids["baca"]
    item = data["items"][0]
    assert item["available"] == 1 and item["holdings"][0]["on_loan"] == 1 and item["holdings"][0]["copies"] == 2
    assert {"value": "PUKB", "count": 1} in data["facets"]["library"]
    assert client.get("/api/v1/search?q=pengelolan").get_json()["suggestion"] == "pengelolaan"
    assert client.get(f"/api/v1/search?q={PUSTAKA_ISBN}").get_json()["direct_hit"] == ids["pustaka"]
    assert client.get("/api/v1/search?q=amonia").get_json()["total"] == 0
    everything = client.get("/api/v1/search?sort=title&per_page=1").get_json()
    assert everything["pages"] == 2 and everything["per_page"] == 1


def test_record_exports_for_reference_managers(ctx: Flask, client: FlaskClient) -> None:
    ids = _catalog()
    ris = client.get(f"/opac/record/{ids['baca']}/export/ris")
    assert ris.status_code == 200 and "attachment" in ris.headers["Content-Disposition"]
    text = ris.get_data(as_text=True)
    assert text.startswith("TY  - BOOK\r\n") and "TI  - Membaca bacaan anak\r\n" in text and "AU  - Sari, Dewi" in text
    assert text.rstrip().endswith("ER  -")
    bibtex = client.get(f"/opac/record/{ids['baca']}/export/bibtex").get_data(as_text=True)
    assert bibtex.startswith(f"@book{{sari2019r{ids['baca']},") and "title = {Membaca bacaan anak}" in bibtex
    xml = client.get(f"/opac/record/{ids['baca']}/export/marcxml").get_data(as_text=True)
    assert "<record" in xml and "Membaca bacaan anak" in xml
    assert client.get(f"/opac/record/{ids['baca']}/export/pdf").status_code == 404
    assert client.get(f"/opac/record/{ids['secret']}/export/ris").status_code == 404


def test_new_arrivals_page_and_feeds(ctx: Flask, client: FlaskClient) -> None:
    import xml.etree.ElementTree as ET

    ids = _catalog()
    home = client.get("/opac/").get_data(as_text=True)
    assert f"/opac/record/{ids['pustaka']}" in home and "Laporan pabrik amonia" not in home
    page = client.get("/opac/new?library=PUKB").get_data(as_text=True)
    assert "Pengelolaan perpustakaan" in page and "new.atom?library=PUKB" in page
    atom = ET.fromstring(client.get("/opac/new.atom?library=PUKB").get_data())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in atom.findall("a:entry", ns)]
    assert set(titles) == {"Membaca bacaan anak", "Pengelolaan perpustakaan"}
    rss = ET.fromstring(client.get("/opac/new.rss").get_data())
    assert {i.findtext("title") for i in rss.iter("item")} == {"Membaca bacaan anak", "Pengelolaan perpustakaan"}
    assert client.get("/opac/new.atom?library=KH-PT").status_code == 404  # not a public catalogue
    assert client.get("/opac/new?library=NOPE").status_code == 404
    directory = client.get("/opac/libraries").get_data(as_text=True)
    assert "Perpustakaan Umum Kota Bontang" in directory and "/opac/new?library=PUKB" in directory


def test_staff_filters_only_for_staff(app: Flask, ctx: Flask, client: FlaskClient) -> None:
    from tests.factories import login, make_staff
    from ils.models import Role

    ids = _catalog()
    make_staff("pukb.kat", Role.CATALOGUER, db.session.scalars(select(Library).where(Library.code == "PUKB")).one())
    db.session.commit()
    public = client.get("/opac/search?q=&status=on_loan").get_data(as_text=True)
    assert "Filter staf" not in public and f"/opac/record/{ids['pustaka']}" in public  # ignored for the public
    login(client, "pukb.kat")
    staff = client.get("/opac/search?q=&status=on_loan").get_data(as_text=True)
    assert "Filter staf" in staff and f"/opac/record/{ids['baca']}" in staff
    assert f"/opac/record/{ids['pustaka']}" not in staff
    dated = client.get("/opac/search?q=&acquired_from=2026-03-01&acquired_to=2026-03-01").get_data(as_text=True)
    assert "2 judul" in dated  # the factory copies were acquired on 2026-03-01 (private one hidden from PUKB)


def test_record_page_lists_every_copy_with_call_number_and_due_date(ctx: Flask, client: FlaskClient,
                                                                   monkeypatch: Any) -> None:
    from datetime import date

    from catalog.models import Item
    from catalog.services import discovery

    ids = _catalog()
    loaned = db.session.scalars(select(Item.id).where(Item.record_id == ids["baca"],
                                                     Item.status == ItemStatus.ON_LOAN)).one()
    # Circulation registers where due dates come from; here a stand-in with one loan.
    monkeypatch.setattr(discovery, "DUE_DATE_SOURCES", [lambda item_ids: {i: date(2026, 4, 2) for i in item_ids
                                                                           if i == loaned}])
    page = client.get(f"/opac/record/{ids['baca']}").get_data(as_text=True)
    table = page[page.index('id="copies"'):]
    assert table.count("<tr>") == 3 and "Dipinjam" in table and "2 Apr 2026" in table
    assert "Umum" in table
    holdings = client.get("/api/v1/search?q=membaca").get_json()["items"][0]["holdings"]
    assert [(h["library"], h["on_loan"], h["next_due"]) for h in holdings] == [("PUKB", 1, "2026-04-02")]


def test_staff_api_filters_refuse_nothing_and_break_nothing(ctx: Flask, client: FlaskClient) -> None:
    from tests.factories import login, make_staff
    from ils.models import Role

    _catalog()
    make_staff("pukb.api", Role.CATALOGUER, db.session.scalars(select(Library).where(Library.code == "PUKB")).one())
    db.session.commit()
    login(client, "pukb.api")
    for value in ("abc..def", "..", "2026-03-01..", "..2026-02-28", "2026-13-45..x"):
        response = client.get(f"/api/v1/search?acquired={value}")
        assert response.status_code == 200, value
    assert client.get("/api/v1/search?acquired=..2026-02-28").get_json()["total"] == 0
    assert client.get("/api/v1/search?acquired=2026-03-01..").get_json()["total"] == 2  # KH-PT keeps its copy private
