"""The circulation JSON API (/api/v1/circulation): what it answers and what it changes in the database.

Permission status codes per role and library are in test_matrix.py; these tests look at the payloads,
the stored rows and the audit trail.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalog.models import Item, ItemStatus
from circulation.models import (Fee, FeeTransaction, Hold, HoldStatus, Loan, Patron, PatronCategory,
                                TransactionKind)
from circulation.services import holds as hold_services
from circulation.services import patrons as patron_services
from ils.extensions import db
from ils.mixins import utcnow
from tests.factories import SYSTEM, Network, add_circulation, login, make_patron

API = "/api/v1/circulation"
NIK = "6474011505900003"  # a valid NIK of Kota Bontang (6474), born 15-05-1990
PERSONAL_KEYS = {"birth_date", "phone", "email", "address", "kelurahan", "institution", "school_class", "nik",
                 "history_opt_in"}
LIST_KEYS = {"id", "card_number", "name", "category", "home_library_id", "status", "block_reason", "expiry_date"}


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _audits(action: str, object_id: Any | None = None) -> list[Any]:
    from ils.models import AuditEvent

    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def _failed(response: Any) -> list[str]:
    return [c["code"] for c in response.get_json()["checks"] if not c["passed"]]


def _item(barcode: str) -> Item:
    item = db.session.scalar(select(Item).where(Item.barcode == barcode))
    assert item is not None
    return item


# --- patrons ---------------------------------------------------------------------------------------

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
    (event,) = _audits("patron.create", patron.id)
    assert event.library_id == network.a.id and event.actor_id == network.users["circulation"].id
    assert event.details["channel"] == "desk"


def test_register_patron_by_network_staff_needs_a_home_library(client: FlaskClient, network: Network) -> None:
    login(client, "u.dpk")  # no library of their own to default to
    before = _count(Patron)
    refused = client.post(f"{API}/patrons", json={"name": "Tanpa Perpustakaan"})
    assert refused.status_code == 422
    assert refused.get_json() == {"error": "Pilih perpustakaan asal anggota.", "status": 422}
    assert _count(Patron) == before
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
    patrons, events = _count(Patron), _count(AuditEvent)
    response = client.post(f"{API}/patrons", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    data = response.get_json()
    assert data["status"] == 422 and data["error"]
    if message is not None:
        assert data["error"] == message
    assert _count(Patron) == patrons and _count(AuditEvent) == events


def test_register_patron_refuses_a_body_that_is_not_an_object_and_a_duplicate_nik(
        client: FlaskClient, network: Network) -> None:
    login(client, "u.circulation")
    not_object = client.post(f"{API}/patrons", json=[{"name": "Budi"}])
    assert not_object.status_code == 422 and not_object.get_json()["error"] == "Kirim objek JSON."
    assert client.post(f"{API}/patrons", json={"name": "Pertama", "nik": NIK}).status_code == 201
    before = _count(Patron)
    again = client.post(f"{API}/patrons", json={"name": "Kedua", "nik": NIK})
    assert again.status_code == 409
    assert again.get_json()["error"] == "Sudah ada anggota lain yang terdaftar dengan NIK ini."
    assert _count(Patron) == before and not _count(Patron, Patron.name == "Kedua")


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
    (event,) = _audits("patron.api", own.patron.id)
    assert event.object_type == "patron" and event.library_id == network.a.id
    assert event.actor_id == network.users["librarian"].id
    assert NIK not in str(event.details)

    # Another library's desk sees the card, not the person; the look is audited all the same.
    other = sides["other"].patron
    foreign = client.get(f"{API}/patrons/{other.id}").get_json()
    assert not PERSONAL_KEYS & set(foreign) and foreign["card_number"] == other.card_number
    assert len(_audits("patron.api", other.id)) == 1


# --- explainer -------------------------------------------------------------------------------------

def test_explain_answers_the_rule_and_checks_and_audits_the_look(client: FlaskClient, network: Network) -> None:
    sides = add_circulation(network)
    own, other = sides["own"], sides["other"]
    loans = _count(Loan)
    login(client, "u.circulation")
    response = client.get(f"{API}/explain?card={own.patron.card_number}&barcode={own.free_barcode}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["allowed"] is True and all(c["passed"] for c in data["checks"])
    assert {"patron_active", "card_valid", "item_available"} <= {c["code"] for c in data["checks"]}
    rule = data["rule"]
    assert rule["library_id"] is None and rule["category"] == "*" and rule["item_type"] == "*"
    assert rule["why"] and isinstance(rule["shadowed"], list)
    assert datetime.fromisoformat(data["due_at"]) > utcnow()
    (event,) = _audits("patron.explain", own.patron.id)
    assert event.object_type == "patron" and event.library_id == network.a.id
    assert event.actor_id == network.users["circulation"].id

    # Another patron and a copy on loan: not allowed, the failed check named; still nothing lent.
    refused = client.get(f"{API}/explain?card={other.patron.card_number}&barcode={own.loan_barcode}")
    assert refused.status_code == 200 and refused.get_json()["allowed"] is False
    assert "item_available" in _failed(refused)
    assert len(_audits("patron.explain", other.patron.id)) == 1
    assert _count(Loan) == loans
    missing = client.get(f"{API}/explain?card={own.patron.card_number}")
    assert missing.status_code == 422 and missing.get_json()["error"] == "Sebutkan kartu dan barkod."


# --- checkout, check-in, renewal -------------------------------------------------------------------

def test_checkout_and_checkin_store_the_api_channel(client: FlaskClient, network: Network) -> None:
    own = add_circulation(network)["own"]
    login(client, "u.circulation")
    lent = client.post(f"{API}/checkout", json={"card": own.patron.card_number, "barcode": own.free_barcode})
    assert lent.status_code == 201
    body = lent.get_json()
    loan = db.session.get(Loan, body["id"])
    assert loan.channel == "api" == body["channel"] and loan.patron_id == own.patron.id
    assert body["barcode"] == own.free_barcode and body["library_id"] == network.a.id and body["renewals"] == 0
    assert datetime.fromisoformat(body["due_at"]) == loan.due_at
    assert _item(own.free_barcode).status == ItemStatus.ON_LOAN
    (checkout,) = _audits("loan.checkout", loan.id)
    assert checkout.details["channel"] == "api"

    back = client.post(f"{API}/checkin", json={"barcode": own.free_barcode})
    assert back.status_code == 200
    answer = back.get_json()
    assert answer["action"] == "shelve" and answer["loan"]["id"] == loan.id and answer["fee"] is None
    assert answer["loan"]["returned_at"] is not None
    loan = db.session.get(Loan, loan.id)
    assert loan.returned_at is not None and loan.return_library_id == network.a.id
    assert _item(own.free_barcode).status == ItemStatus.AVAILABLE
    (checkin,) = _audits("loan.checkin", _item(own.free_barcode).id)
    assert checkin.details["channel"] == "api" and checkin.details["loan"] == loan.id


def test_renew_extends_the_loan_and_records_the_api_channel(client: FlaskClient, network: Network) -> None:
    own = add_circulation(network)["own"]
    loan = db.session.get(Loan, own.loan.id)
    loan.due_at = utcnow() + timedelta(days=1)  # renewing now then moves the due date
    db.session.commit()
    old_due = db.session.get(Loan, own.loan.id).due_at
    login(client, "u.circulation")
    response = client.post(f"{API}/renew", json={"barcode": own.loan_barcode})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    loan = db.session.get(Loan, own.loan.id)
    assert body["id"] == loan.id and body["renewals"] == 1 == loan.renewals
    assert loan.due_at > old_due and datetime.fromisoformat(body["due_at"]) == loan.due_at
    assert loan.last_renewed_at is not None
    (event,) = _audits("loan.renew", loan.id)
    assert event.details["channel"] == "api"
    assert datetime.fromisoformat(event.details["from"]) == old_due
    assert datetime.fromisoformat(event.details["to"]) == loan.due_at
    assert event.actor_id == network.users["circulation"].id

    # The rule allows one renewal: the second is refused with the check named, nothing changes.
    again = client.post(f"{API}/renew", json={"barcode": own.loan_barcode})
    assert again.status_code == 422 and _failed(again) == ["renewals_left"]
    loan = db.session.get(Loan, own.loan.id)
    assert loan.renewals == 1 and len(_audits("loan.renew", loan.id)) == 1


def test_renew_is_refused_when_another_patron_holds_the_title(client: FlaskClient, network: Network) -> None:
    sides = add_circulation(network)
    own, other = sides["own"], sides["other"]
    hold_services.place(actor=SYSTEM, patron=other.patron, record_id=network.record_a.id,
                        pickup_library_id=network.b.id, now=utcnow())
    loan = db.session.get(Loan, own.loan.id)
    loan.due_at = utcnow() + timedelta(days=1)
    db.session.commit()
    old_due = db.session.get(Loan, own.loan.id).due_at
    login(client, "u.circulation")
    response = client.post(f"{API}/renew", json={"barcode": own.loan_barcode})
    assert response.status_code in (409, 422)
    data = response.get_json()
    assert data["status"] == response.status_code and _failed(response) == ["no_holds"]
    (check,) = [c for c in data["checks"] if c["code"] == "no_holds"]
    assert check["message"] == "Anggota lain sudah memesan judul ini" and check["message"] in data["error"]
    loan = db.session.get(Loan, own.loan.id)
    assert loan.renewals == 0 and loan.due_at == old_due and loan.last_renewed_at is None
    assert not _audits("loan.renew", loan.id)


# --- holds -----------------------------------------------------------------------------------------

def test_holds_title_and_copy_level_with_queue_then_cancel(client: FlaskClient, network: Network) -> None:
    sides = add_circulation(network)
    own = sides["own"]
    second = make_patron("Citra Lestari", network.a)
    db.session.commit()
    login(client, "u.circulation")

    title = client.post(f"{API}/holds", json={"card": own.patron.card_number, "record_id": network.record_b.id})
    assert title.status_code == 201, title.get_json()
    first = title.get_json()
    assert first["record_id"] == network.record_b.id and first["item_id"] is None
    assert first["status"] == "waiting" and first["pickup_library_id"] == network.a.id  # the actor's desk
    assert first["queue_position"] == 1 and first["captured_item_id"] is None
    stored = db.session.get(Hold, first["id"])
    assert stored.patron_id == own.patron.id and stored.status == HoldStatus.WAITING and stored.channel == "api"
    assert _audits("hold.place", stored.id)[0].details["channel"] == "api"

    behind = client.post(f"{API}/holds", json={"card": second.card_number, "record_id": network.record_b.id,
                                               "pickup_library_id": network.b.id})
    assert behind.status_code == 201
    assert behind.get_json()["queue_position"] == 2 and behind.get_json()["pickup_library_id"] == network.b.id

    copy = client.post(f"{API}/holds", json={"card": own.patron.card_number, "barcode": "LIB-A-RET"})
    assert copy.status_code == 201
    copy_hold = copy.get_json()
    assert copy_hold["item_id"] == _item("LIB-A-RET").id and copy_hold["record_id"] == own.record.id
    assert copy_hold["status"] == "waiting" and copy_hold["queue_position"] == 1
    assert db.session.get(Hold, copy_hold["id"]).item_id == _item("LIB-A-RET").id

    duplicate = client.post(f"{API}/holds", json={"card": own.patron.card_number, "record_id": network.record_b.id})
    assert duplicate.status_code == 422 and _failed(duplicate) == ["no_duplicate"]
    assert _count(Hold, Hold.patron_id == own.patron.id, Hold.record_id == network.record_b.id) == 1

    cancelled = client.post(f"{API}/holds/{first['id']}/cancel", json={"reason": "Sudah beli sendiri"})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled" and cancelled.get_json()["queue_position"] == 0
    stored = db.session.get(Hold, first["id"])
    assert stored.status == HoldStatus.CANCELLED and stored.closed_at is not None
    assert stored.close_reason == "Sudah beli sendiri"
    assert len(_audits("hold.cancel", stored.id)) == 1
    assert hold_services.queue_position(db.session.get(Hold, behind.get_json()["id"])) == 1  # moved up

    twice = client.post(f"{API}/holds/{first['id']}/cancel", json={})
    assert twice.status_code == 422 and twice.get_json()["error"] == "Pemesanan ini sudah ditutup."
    assert len(_audits("hold.cancel", stored.id)) == 1


# --- fees ------------------------------------------------------------------------------------------

def test_fees_list_and_partial_payment(client: FlaskClient, network: Network) -> None:
    own = add_circulation(network)["own"]
    fee_id, patron_id = own.fee.id, own.patron.id
    login(client, "u.circulation")
    listed = client.get(f"{API}/patrons/{patron_id}/fees")
    assert listed.status_code == 200
    data = listed.get_json()
    assert data["balance"] == 4000
    (fee,) = data["items"]
    assert fee["id"] == fee_id and fee["kind"] == "card" and fee["library_id"] == network.a.id
    assert (fee["amount"], fee["paid"], fee["waived"], fee["balance"]) == (5000, 1000, 0, 4000)
    assert len(_audits("patron.api", patron_id)) == 1

    paid = client.post(f"{API}/patrons/{patron_id}/payments", json={"amount": 1500, "method": "qris"})
    assert paid.status_code == 201, paid.get_json()
    receipt = paid.get_json()
    assert receipt["total"] == 1500 and receipt["balance"] == 2500
    assert receipt["lines"] == [{"fee_id": fee_id, "amount": 1500}]
    assert receipt["receipt"].startswith("LIB-A-") and receipt["receipt"] != own.receipt
    lines = list(db.session.scalars(select(FeeTransaction).where(FeeTransaction.receipt_no == receipt["receipt"])))
    assert [(line.fee_id, line.amount, line.kind, line.method) for line in lines] == [
        (fee_id, 1500, TransactionKind.PAYMENT, "qris")]
    assert db.session.get(Fee, fee_id).paid == 2500 and db.session.get(Fee, fee_id).balance == 2500
    (event,) = [e for e in _audits("fee.pay", patron_id) if e.details.get("receipt") == receipt["receipt"]]
    assert event.details == {"amount": 1500, "receipt": receipt["receipt"], "method": "qris"}
    assert event.library_id == network.a.id
    assert client.get(f"{API}/patrons/{patron_id}/fees").get_json()["balance"] == 2500


@pytest.mark.parametrize(("amount", "message"), [
    (0, "Nilai kolom amount di luar rentang yang diizinkan."),
    (-500, "Nilai kolom amount di luar rentang yang diizinkan."),
    ("seribu", "Kolom amount harus berupa angka."),
    ("10.5", "Kolom amount harus berupa angka."),
    (1500.7, "Kolom amount harus berupa angka."),
    (True, "Kolom amount harus berupa angka."),
    (None, "Kolom amount wajib diisi."),
    (4001, "Jumlah melebihi tagihan (Rp 4.000)."),
], ids=["zero", "negative", "text", "decimal-text", "decimal", "boolean", "missing", "above-balance"])
def test_payment_with_a_bad_amount_is_422_and_stores_nothing(client: FlaskClient, network: Network,
                                                             amount: Any, message: str) -> None:
    own = add_circulation(network)["own"]
    fee_id, patron_id = own.fee.id, own.patron.id
    lines, payments = _count(FeeTransaction), len(_audits("fee.pay", patron_id))  # the setup's payment
    login(client, "u.circulation")
    response = client.post(f"{API}/patrons/{patron_id}/payments", json={"amount": amount})
    assert response.status_code == 422
    assert response.get_json() == {"error": message, "status": 422}
    assert _count(FeeTransaction) == lines and db.session.get(Fee, fee_id).paid == 1000
    assert len(_audits("fee.pay", patron_id)) == payments


def test_payment_with_an_unknown_method_is_422(client: FlaskClient, network: Network) -> None:
    own = add_circulation(network)["own"]
    lines = _count(FeeTransaction)
    login(client, "u.circulation")
    response = client.post(f"{API}/patrons/{own.patron.id}/payments", json={"amount": 100, "method": "bitcoin"})
    assert response.status_code == 422 and response.get_json()["error"] == "Cara pembayaran tidak dikenal."
    assert _count(FeeTransaction) == lines and db.session.get(Fee, own.fee.id).paid == 1000


def test_waiver_with_a_reason_lowers_the_fee_and_without_one_is_refused(client: FlaskClient,
                                                                        network: Network) -> None:
    own = add_circulation(network)["own"]
    fee_id, patron_id = own.fee.id, own.patron.id
    login(client, "u.librarian")  # fees.waive
    lines = _count(FeeTransaction)
    for body, message in (
            ({"amount": 1000}, "Kolom reason wajib diisi."),
            ({"amount": 1000, "reason": "   "}, "Sebutkan alasan penghapusan denda."),
            ({"amount": 4001, "reason": "Terlalu banyak"}, "Jumlah penghapusan harus antara Rp 1 dan sisa tagihan."),
            ({"amount": 0, "reason": "Nol"}, "Nilai kolom amount di luar rentang yang diizinkan."),
            ({"amount": -1, "reason": "Negatif"}, "Nilai kolom amount di luar rentang yang diizinkan."),
            ({"amount": "banyak", "reason": "Teks"}, "Kolom amount harus berupa angka.")):
        refused = client.post(f"{API}/fees/{fee_id}/waive", json=body)
        assert refused.status_code == 422, body
        assert refused.get_json() == {"error": message, "status": 422}, body
    assert _count(FeeTransaction) == lines and db.session.get(Fee, fee_id).waived == 0
    assert not _audits("fee.waive", fee_id)

    waived = client.post(f"{API}/fees/{fee_id}/waive", json={"amount": 1000, "reason": "Kartu rusak dari pabrik"})
    assert waived.status_code == 200, waived.get_json()
    data = waived.get_json()
    assert data["waived"] == 1000 and data["fee"]["id"] == fee_id
    assert (data["fee"]["waived"], data["fee"]["balance"]) == (1000, 3000)
    fee = db.session.get(Fee, fee_id)
    assert (fee.waived, fee.balance, fee.settled_at) == (1000, 3000, None)
    (line,) = db.session.scalars(select(FeeTransaction).where(FeeTransaction.kind == TransactionKind.WAIVER))
    assert (line.fee_id, line.amount, line.reason, line.method) == (fee_id, 1000, "Kartu rusak dari pabrik", "waiver")
    (event,) = _audits("fee.waive", fee_id)
    assert event.details == {"amount": 1000, "reason": "Kartu rusak dari pabrik"}

    rest = client.post(f"{API}/fees/{fee_id}/waive", json={"amount": 3000, "reason": "Sisa dihapus"})
    assert rest.status_code == 200 and rest.get_json()["fee"]["balance"] == 0
    assert db.session.get(Fee, fee_id).settled_at is not None
    assert client.get(f"{API}/patrons/{patron_id}/fees").get_json() == {"items": [], "balance": 0}
