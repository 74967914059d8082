"""The desk pages and the circulation API through the test client."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from circulation.models import Fee, FeeTransaction, Loan
from ils.extensions import db
from ils.models import AuditEvent
from tests.factories import Network, add_circulation, login


def _setup(network: Network) -> dict:
    return add_circulation(network)


def test_checkout_page_lends_and_a_refusal_lists_the_failed_checks(client: FlaskClient, network: Network) -> None:
    sides = _setup(network)
    own, other = sides["own"], sides["other"]
    login(client, "u.circulation")
    page = client.get(f"/circulation/checkout?card={own.patron.card_number}").get_data(as_text=True)
    assert own.patron.name in page and own.loan_barcode in page
    key = page.split('name="request_key" type="hidden" value="')[1].split('"')[0]
    response = client.post("/circulation/checkout", data={"card": own.patron.card_number,
                                                          "barcode": own.free_barcode, "request_key": key})
    assert response.status_code == 302
    again = client.post("/circulation/checkout", data={"card": own.patron.card_number, "barcode": own.free_barcode,
                                                       "request_key": key}, follow_redirects=True)
    assert again.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))) == 3
    refused = client.post("/circulation/checkout", data={"card": other.patron.card_number,
                                                         "barcode": own.free_barcode, "request_key": "x2"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'class="text-danger fw-semibold"' in text
    assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))) == 3
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "patron.desk")) >= 3


def test_checkin_redirects_and_shows_where_the_item_goes(client: FlaskClient, network: Network) -> None:
    sides = _setup(network)
    login(client, "u.circulation")  # a desk of library A
    response = client.post("/circulation/checkin", data={"barcode": sides["other"].loan_barcode})
    assert response.status_code == 302
    page = client.get("/circulation/checkin").get_data(as_text=True)
    assert network.b.name in page  # B's copy returned at A goes home to B
    assert client.get("/circulation/checkin").status_code == 200


def test_explain_page_and_api_agree(client: FlaskClient, network: Network) -> None:
    sides = _setup(network)
    own = sides["own"]
    login(client, "u.circulation")
    page = client.get(f"/circulation/explain?card={own.patron.card_number}&barcode={own.free_barcode}")
    assert page.status_code == 200
    data = client.get(f"/api/v1/circulation/explain?card={own.patron.card_number}&barcode={own.free_barcode}").json
    assert data["allowed"] is True and data["rule"]["library_id"] is None
    assert [c["code"] for c in data["checks"]][:2] == ["patron_active", "card_valid"]


def test_api_checkout_is_idempotent_and_refusals_carry_the_checks(client: FlaskClient, network: Network) -> None:
    sides = _setup(network)
    own, other = sides["own"], sides["other"]
    login(client, "u.circulation")
    body = {"card": own.patron.card_number, "barcode": own.free_barcode, "request_key": "scan-1"}
    first = client.post("/api/v1/circulation/checkout", json=body)
    second = client.post("/api/v1/circulation/checkout", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json["id"] == second.json["id"] and second.json["created"] is False
    refused = client.post("/api/v1/circulation/checkout", json={"card": other.patron.card_number,
                                                                "barcode": own.free_barcode})
    assert refused.status_code == 422
    failed = [c for c in refused.json["checks"] if not c["passed"]]
    assert [c["code"] for c in failed] == ["item_available"] and failed[0]["hard"] is True
    bad = client.post("/api/v1/circulation/checkout", json={"card": own.patron.card_number})
    assert bad.status_code == 422 and "barcode" in bad.json["error"]
    returned = client.post("/api/v1/circulation/checkin", json={"barcode": own.free_barcode})
    assert returned.status_code == 200 and returned.json["action"] == "shelve"


def test_api_without_a_session_is_401(client: FlaskClient, network: Network) -> None:
    assert client.post("/api/v1/circulation/checkout", json={}).status_code == 401


def test_payment_page_prints_a_receipt_and_the_cash_report_counts_it(client: FlaskClient, network: Network) -> None:
    sides = _setup(network)
    own = sides["own"]
    login(client, "u.librarian")
    response = client.post(f"/circulation/patrons/{own.patron.id}/pay", data={"amount": 2500, "method": "cash"})
    assert response.status_code == 302 and "/circulation/receipts/" in response.headers["Location"]
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rp 2.500" in receipt
    fee = db.session.get(Fee, own.fee.id)
    assert fee.paid == 3500 and fee.balance == 1500
    report = client.get("/circulation/cash-report").get_data(as_text=True)
    assert "Rp 3.500" in report  # 1,000 at setup and 2,500 now
    too_much = client.post(f"/circulation/patrons/{own.patron.id}/pay", data={"amount": 999999, "method": "cash"})
    assert too_much.status_code == 200 and db.session.scalar(select(func.count()).select_from(FeeTransaction)) == 3


def test_network_staff_choose_a_desk_library(client: FlaskClient, network: Network, app: Flask) -> None:
    _setup(network)
    login(client, "u.dpk")
    assert "name=\"library_id\"" in client.get("/circulation").get_data(as_text=True)
    assert client.post("/circulation/desk-library", data={"library_id": network.b.id}).status_code == 302
    assert network.b.name in client.get("/circulation/holds").get_data(as_text=True)


def test_the_desk_works_with_redis_down(client: FlaskClient, network: Network, app: Flask,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """R15: checkout, renewal and check-in through the pages and the API with nothing on the Redis port."""
    sides = _setup(network)
    own = sides["own"]
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    login(client, "u.circulation")
    lent = client.post("/api/v1/circulation/checkout", json={"card": own.patron.card_number,
                                                             "barcode": own.free_barcode})
    assert lent.status_code == 201
    renewed = client.post("/api/v1/circulation/renew", json={"barcode": own.free_barcode})
    assert renewed.status_code == 200 and renewed.json["renewals"] == 1
    assert client.post("/circulation/checkin", data={"barcode": own.free_barcode}).status_code == 302
    loan = db.session.get(Loan, lent.json["id"])
    assert loan.returned_at is not None
