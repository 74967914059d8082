"""OPAC pages: results with facets and live availability, direct hits, suggestions, the record page."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from catalog.models import ItemStatus
from ils import jobs
from ils.extensions import db
from tests.factories import make_library, make_record
from tests.test_search import PUSTAKA_ISBN, _copy


def _catalog() -> dict[str, Any]:
    city, company = make_library("PUKB", name="Perpustakaan Umum Kota Bontang"), make_library("KH-PT")
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
