"""The circulation JSON API for patrons: registering (and refusing bad input in Indonesian), the list
without contact details, the audited detail with the NIK masked.

Permission status codes per role and library are in test_matrix.py; the desk operations' payloads
are in test_circulation_api.py.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from flask.testing import FlaskClient

from circulation.models import Patron, PatronCategory
from circulation.services import patrons as patron_services
from ils.extensions import db
from ils.mixins import utcnow
from tests.factories import SYSTEM, Network, add_circulation, audit_rows, count_rows, login, make_patron

API = "/api/v1/circulation"
NIK = "6474011505900003"  # a valid NIK of Kota Bontang (6474), born 15-05-1990
PERSONAL_KEYS = {"birth_date", "phone", "email", "address", "kelurahan", "institution", "school_class", "nik",
                 "history_opt_in"}
LIST_KEYS = {"id", "card_number", "name", "category", "home_library_id", "status", "block_reason", "expiry_date"}


def test_register_patron_answers_201_with_the_stored_fields_and_the_actors_library(
        client: FlaskClient, network: Network) -> None:
    login(client, "u.circulation")  # a desk of library A
    today = utcnow().date()
    response = client.post(f"{API}/patrons", json={
        "name": "  Siti   Aminah ", "email": "siti@example.id", "phone": "0812-3456-7890",
        "birth_date": "1990-05-15", "address": "Jl. Ahmad Yani 5", "nik": NIK, "pin": "4821"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    patron = db.session.get(Patron, body["id"])
    assert patron is not None
    assert body["home_library_id"] == network.a.id == patron.home_library_id
    assert body["name"] == "Siti Aminah" == patron.name
    assert body["card_number"] == patron.card_number and not body["card_number"].startswith("tmp-")
    assert patron_services.luhn_digit(body["card_number"][:-1]) == body["card_number"][-1]
    assert body["category"] == "umum" and body["status"] == "active" and body["block_reason"] == ""
    months = db.session.get(PatronCategory, "umum").card_months
    assert body["expiry_date"] == (today + relativedelta(months=months)).isoformat()
    assert body["phone"] == "+6281234567890" == patron.phone
    assert body["email"] == "siti@example.id" and body["birth_date"] == "1990-05-15"
    assert body["address"] == "Jl. Ahmad Yani 5"
    assert body["nik"] == "************0003" and NIK not in response.get_data(as_text=True)
    assert patron.nik_last4 == "0003" and patron.nik_cipher and NIK not in patron.nik_cipher
    assert patron.pin_hash and "4821" not in patron.pin_hash
    (event,) = audit_rows("patron.create", patron.id)
    assert event.library_id == network.a.id and event.actor_id == network.users["circulation"].id
    assert event.details["channel"] == "desk"


def test_register_patron_by_network_staff_needs_a_home_library(client: FlaskClient, network: Network) -> None:
    login(client, "u.dpk")  # no library of their own to default to
    before = count_rows(Patron)
    refused = client.post(f"{API}/patrons", json={"name": "Tanpa Perpustakaan"})
    assert refused.status_code == 422
    assert refused.get_json() == {"error": "Pilih perpustakaan asal anggota.", "status": 422}
    assert count_rows(Patron) == before
    made = client.post(f"{API}/patrons", json={"name": "Anggota B", "home_library_id": network.b.id})
    assert made.status_code == 201 and made.get_json()["home_library_id"] == network.b.id


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Nama wajib diisi."),
    ({"name": "   "}, "Nama wajib diisi."),
    ({"name": "Budi", "email": "bukan-email"}, "Alamat email tidak valid."),
    ({"name": "Budi", "category_code": "tidak-ada"}, "Kategori anggota tidak dikenal."),
    ({"name": "Budi", "birth_date": "15-05-1990"}, "Tanggal ditulis dengan format YYYY-MM-DD."),
    ({"name": "Budi", "birth_date": "2999-01-01"}, "Tanggal lahir tidak masuk akal."),
    ({"name": "Budi", "nik": "12345"}, "NIK harus 16 angka sesuai yang tertera di KTP atau KK."),
    ({"name": "Budi", "phone": "12"}, "Nomor telepon tidak valid."),
    ({"name": "Budi", "pin": "12"}, "PIN harus 4 sampai 8 angka."),
    ({"name": "Budi", "gender": "X"}, "Jenis kelamin harus L atau P."),
    ({"name": "Budi", "home_library_id": 999999}, "Perpustakaan tidak dikenal."),
    ({"name": "Budi", "home_library_id": "abc"}, None),
    ({"name": 12345}, None),
], ids=["no-name", "blank-name", "email", "category", "date-format", "future-birth", "nik", "phone", "pin",
        "gender", "unknown-library", "library-not-a-number", "name-not-text"])
def test_register_patron_with_invalid_input_is_422_in_indonesian_and_stores_nothing(
        client: FlaskClient, network: Network, body: dict[str, Any], message: str | None) -> None:
    from ils.models import AuditEvent

    login(client, "u.circulation")
    patrons, events = count_rows(Patron), count_rows(AuditEvent)
    response = client.post(f"{API}/patrons", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    data = response.get_json()
    assert data["status"] == 422 and data["error"]
    if message is not None:
        assert data["error"] == message
    assert count_rows(Patron) == patrons and count_rows(AuditEvent) == events


def test_register_patron_refuses_a_body_that_is_not_an_object_and_a_duplicate_nik(
        client: FlaskClient, network: Network) -> None:
    login(client, "u.circulation")
    not_object = client.post(f"{API}/patrons", json=[{"name": "Budi"}])
    assert not_object.status_code == 422 and not_object.get_json()["error"] == "Kirim objek JSON."
    assert client.post(f"{API}/patrons", json={"name": "Pertama", "nik": NIK}).status_code == 201
    before = count_rows(Patron)
    again = client.post(f"{API}/patrons", json={"name": "Kedua", "nik": NIK})
    assert again.status_code == 409
    assert again.get_json()["error"] == "Sudah ada anggota lain yang terdaftar dengan NIK ini."
    assert count_rows(Patron) == before and not count_rows(Patron, Patron.name == "Kedua")


def test_patron_list_carries_no_personal_fields(client: FlaskClient, network: Network) -> None:
    sides = add_circulation(network)
    own = make_patron("Rahmat Hidayat", network.a, phone="081234567890", email="rahmat@example.id",
                      address="Jl. Bhayangkara 9", birth_date=datetime(1985, 2, 1).date(), kelurahan="Api-Api")
    patron_services.update(actor=SYSTEM, patron_id=own.id, data={}, now=utcnow(), today=utcnow().date(), nik=NIK)
    db.session.commit()
    login(client, "u.librarian")  # home library of Rahmat: may see his details on the detail page
    response = client.get(f"{API}/patrons?q=rahmat")
    assert response.status_code == 200
    data = response.get_json()
    assert data["total"] == 1 and data["page"] == 1 and data["pages"] == 1
    (item,) = data["items"]
    assert set(item) == LIST_KEYS
    assert item["id"] == own.id and item["card_number"] == own.card_number and item["name"] == "Rahmat Hidayat"
    assert item["category"] == "umum" and item["home_library_id"] == network.a.id and item["status"] == "active"
    assert item["expiry_date"] == own.expiry_date.isoformat()
    text = response.get_data(as_text=True)
    for secret in ("rahmat@example.id", "+6281234567890", "Bhayangkara", "1985-02-01", "Api-Api", "*0003", NIK):
        assert secret not in text
    for key in ("phone", "email", "address", "birth_date", "nik"):
        assert key not in item

    # A full card number finds a patron of another library: the same short row.
    other = sides["other"].patron
    found = client.get(f"{API}/patrons?q={other.card_number}").get_json()
    assert found["total"] == 1 and [p["id"] for p in found["items"]] == [other.id]
    assert set(found["items"][0]) == LIST_KEYS
    # A name search stays in the actor's libraries.
    named = client.get(f"{API}/patrons?q=Anggota").get_json()
    assert [p["id"] for p in named["items"]] == [sides["own"].patron.id]
    assert set(named["items"][0]) == LIST_KEYS


def test_patron_detail_shows_personal_fields_with_the_nik_masked_and_is_audited(
        client: FlaskClient, network: Network) -> None:
    sides = add_circulation(network)
    own = sides["own"]
    patron_services.update(actor=SYSTEM, patron_id=own.patron.id, data={"email": "anggota@example.id"},
                           now=utcnow(), today=utcnow().date(), nik=NIK)
    db.session.commit()
    login(client, "u.librarian")
    response = client.get(f"{API}/patrons/{own.patron.id}")
    assert response.status_code == 200
    data = response.get_json()
    assert PERSONAL_KEYS <= set(data)
    assert data["nik"] == "************0003" and data["email"] == "anggota@example.id"
    assert data["school_class"] == "7A"
    assert NIK not in response.get_data(as_text=True)
    assert [loan["barcode"] for loan in data["loans"]] == [own.loan_barcode]
    assert [hold["id"] for hold in data["holds"]] == [own.hold.id]
    assert [fee["id"] for fee in data["fees"]] == [own.fee.id] and data["balance"] == 4000
    (event,) = audit_rows("patron.api", own.patron.id)
    assert event.object_type == "patron" and event.library_id == network.a.id
    assert event.actor_id == network.users["librarian"].id
    assert NIK not in str(event.details)

    # Another library's desk sees the card, not the person; the look is audited all the same.
    other = sides["other"].patron
    foreign = client.get(f"{API}/patrons/{other.id}").get_json()
    assert not PERSONAL_KEYS & set(foreign) and foreign["card_number"] == other.card_number
    assert len(audit_rows("patron.api", other.id)) == 1
