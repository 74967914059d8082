"""The circulation JSON API (/api/v1/circulation) at the desk: the explainer, checkout, check-in,
renewal, holds, fees, payments and waivers; what it answers and what it changes in the database.
The patron endpoints are in test_circulation_api_patrons.py.

Permission status codes per role and library are in test_matrix.py; these tests look at the payloads,
the stored rows and the audit trail.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from catalog.models import Item, ItemStatus
from circulation.models import Fee, FeeTransaction, Hold, HoldStatus, Loan, TransactionKind
from circulation.services import holds as hold_services
from ils.extensions import db
from ils.mixins import utcnow
from tests.factories import SYSTEM, Network, add_circulation, audit_rows, count_rows, login, make_patron

API = "/api/v1/circulation"


def _failed(response: Any) -> list[str]:
    return [c["code"] for c in response.get_json()["checks"] if not c["passed"]]


def _item(barcode: str) -> Item:
    item = db.session.scalar(select(Item).where(Item.barcode == barcode))
    assert item is not None
    return item


# --- explainer -------------------------------------------------------------------------------------

def test_explain_answers_the_rule_and_checks_and_audits_the_look(client: FlaskClient, network: Network) -> None:
    sides = add_circulation(network)
    own, other = sides["own"], sides["other"]
    loans = count_rows(Loan)
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
    (event,) = audit_rows("patron.explain", own.patron.id)
    assert event.object_type == "patron" and event.library_id == network.a.id
    assert event.actor_id == network.users["circulation"].id

    # Another patron and a copy on loan: not allowed, the failed check named; still nothing lent.
    refused = client.get(f"{API}/explain?card={other.patron.card_number}&barcode={own.loan_barcode}")
    assert refused.status_code == 200 and refused.get_json()["allowed"] is False
    assert "item_available" in _failed(refused)
    assert len(audit_rows("patron.explain", other.patron.id)) == 1
    assert count_rows(Loan) == loans
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
    (checkout,) = audit_rows("loan.checkout", loan.id)
    assert checkout.details["channel"] == "api"

    back = client.post(f"{API}/checkin", json={"barcode": own.free_barcode})
    assert back.status_code == 200
    answer = back.get_json()
    assert answer["action"] == "shelve" and answer["loan"]["id"] == loan.id and answer["fee"] is None
    assert answer["loan"]["returned_at"] is not None
    loan = db.session.get(Loan, loan.id)
    assert loan.returned_at is not None and loan.return_library_id == network.a.id
    assert _item(own.free_barcode).status == ItemStatus.AVAILABLE
    (checkin,) = audit_rows("loan.checkin", _item(own.free_barcode).id)
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
    (event,) = audit_rows("loan.renew", loan.id)
    assert event.details["channel"] == "api"
    assert datetime.fromisoformat(event.details["from"]) == old_due
    assert datetime.fromisoformat(event.details["to"]) == loan.due_at
    assert event.actor_id == network.users["circulation"].id

    # The rule allows one renewal: the second is refused with the check named, nothing changes.
    again = client.post(f"{API}/renew", json={"barcode": own.loan_barcode})
    assert again.status_code == 422 and _failed(again) == ["renewals_left"]
    loan = db.session.get(Loan, own.loan.id)
    assert loan.renewals == 1 and len(audit_rows("loan.renew", loan.id)) == 1


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
    assert not audit_rows("loan.renew", loan.id)


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
    assert audit_rows("hold.place", stored.id)[0].details["channel"] == "api"

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
    assert count_rows(Hold, Hold.patron_id == own.patron.id, Hold.record_id == network.record_b.id) == 1

    cancelled = client.post(f"{API}/holds/{first['id']}/cancel", json={"reason": "Sudah beli sendiri"})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled" and cancelled.get_json()["queue_position"] == 0
    stored = db.session.get(Hold, first["id"])
    assert stored.status == HoldStatus.CANCELLED and stored.closed_at is not None
    assert stored.close_reason == "Sudah beli sendiri"
    assert len(audit_rows("hold.cancel", stored.id)) == 1
    assert hold_services.queue_position(db.session.get(Hold, behind.get_json()["id"])) == 1  # moved up

    twice = client.post(f"{API}/holds/{first['id']}/cancel", json={})
    assert twice.status_code == 422 and twice.get_json()["error"] == "Pemesanan ini sudah ditutup."
    assert len(audit_rows("hold.cancel", stored.id)) == 1


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
    assert len(audit_rows("patron.api", patron_id)) == 1

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
    (event,) = [e for e in audit_rows("fee.pay", patron_id) if e.details.get("receipt") == receipt["receipt"]]
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
    lines, payments = count_rows(FeeTransaction), len(audit_rows("fee.pay", patron_id))  # the setup's payment
    login(client, "u.circulation")
    response = client.post(f"{API}/patrons/{patron_id}/payments", json={"amount": amount})
    assert response.status_code == 422
    assert response.get_json() == {"error": message, "status": 422}
    assert count_rows(FeeTransaction) == lines and db.session.get(Fee, fee_id).paid == 1000
    assert len(audit_rows("fee.pay", patron_id)) == payments


def test_payment_with_an_unknown_method_is_422(client: FlaskClient, network: Network) -> None:
    own = add_circulation(network)["own"]
    lines = count_rows(FeeTransaction)
    login(client, "u.circulation")
    response = client.post(f"{API}/patrons/{own.patron.id}/payments", json={"amount": 100, "method": "bitcoin"})
    assert response.status_code == 422 and response.get_json()["error"] == "Cara pembayaran tidak dikenal."
    assert count_rows(FeeTransaction) == lines and db.session.get(Fee, own.fee.id).paid == 1000


def test_waiver_with_a_reason_lowers_the_fee_and_without_one_is_refused(client: FlaskClient,
                                                                        network: Network) -> None:
    own = add_circulation(network)["own"]
    fee_id, patron_id = own.fee.id, own.patron.id
    login(client, "u.librarian")  # fees.waive
    lines = count_rows(FeeTransaction)
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
    assert count_rows(FeeTransaction) == lines and db.session.get(Fee, fee_id).waived == 0
    assert not audit_rows("fee.waive", fee_id)

    waived = client.post(f"{API}/fees/{fee_id}/waive", json={"amount": 1000, "reason": "Kartu rusak dari pabrik"})
    assert waived.status_code == 200, waived.get_json()
    data = waived.get_json()
    assert data["waived"] == 1000 and data["fee"]["id"] == fee_id
    assert (data["fee"]["waived"], data["fee"]["balance"]) == (1000, 3000)
    fee = db.session.get(Fee, fee_id)
    assert (fee.waived, fee.balance, fee.settled_at) == (1000, 3000, None)
    (line,) = db.session.scalars(select(FeeTransaction).where(FeeTransaction.kind == TransactionKind.WAIVER))
    assert (line.fee_id, line.amount, line.reason, line.method) == (fee_id, 1000, "Kartu rusak dari pabrik", "waiver")
    (event,) = audit_rows("fee.waive", fee_id)
    assert event.details == {"amount": 1000, "reason": "Kartu rusak dari pabrik"}

    rest = client.post(f"{API}/fees/{fee_id}/waive", json={"amount": 3000, "reason": "Sisa dihapus"})
    assert rest.status_code == 200 and rest.get_json()["fee"]["balance"] == 0
    assert db.session.get(Fee, fee_id).settled_at is not None
    assert client.get(f"{API}/patrons/{patron_id}/fees").get_json() == {"items": [], "balance": 0}
