"""OPAC self-service: patron login and lockout, own loans/holds only, renewals, holds, consent, data, registration."""
from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from catalog.views.opac import RECORD_ACTIONS
from circulation.auth import PATRON_KEY
from circulation.models import (CirculationSettings, Hold, HoldStatus, Loan, Patron, PatronConsent, PatronPhoto,
                                PatronStatus)
from circulation.services import desk, holds, selfservice
from circulation.services import patrons as patron_services
from circulation.views import opac as opac_views
from ils.errors import ValidationFailed
from ils.extensions import db, limiter
from ils.mixins import utcnow
from ils.models import AuditEvent
from tests.conftest import dispose, make_app
from tests.factories import SYSTEM, Network, build_network, login, make_record

PIN_ALICE = "2580"
PIN_BUDI = "1470"


@dataclass
class Opac:
    """The two-library network with two adult members and a few copies (categories and rules: the seeds)."""

    net: Network
    alice: Patron
    budi: Patron
    record_c: Any  # a second title with one copy at A
    item_c: Any


def make_patron(name: str, library_id: int, pin: str, **data: Any) -> Patron:
    """An active adult member registered at a desk."""
    values = {"name": name, "home_library_id": library_id, "category_code": "umum",
              "birth_date": date(1990, 5, 17), **data}
    return patron_services.register(actor=SYSTEM, data=values, now=utcnow(), today=date.today(), pin=pin)


@pytest.fixture
def opac(network: Network) -> Opac:
    """Members Alice (home A) and Budi (home B), committed."""
    alice = make_patron("Alice Rahayu", network.a.id, PIN_ALICE)
    budi = make_patron("Budi Santoso", network.b.id, PIN_BUDI)
    record_c, item_c = make_record("Lamin Dayak Kenyah", network.a, barcode="A0002")
    db.session.commit()
    return Opac(net=network, alice=alice, budi=budi, record_c=record_c, item_c=item_c)


def english(client: FlaskClient) -> None:
    """Messages in the English source language, whatever the lead has translated since."""
    assert client.post("/language", data={"lang": "en"}).status_code == 302


def patron_login(client: FlaskClient, card: str, pin: str, next_url: str = "") -> Any:
    """Log a member in through the OPAC form."""
    url = "/opac/account/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"card_number": card, "pin": pin})


def lend(card: str, barcode: str, library_id: int, *, days_ago: int = 0) -> Loan:
    """A desk checkout (committed)."""
    loan = desk.checkout(actor=SYSTEM, card_number=card, barcode=barcode, library_id=library_id,
                         now=utcnow() - timedelta(days=days_ago)).loan
    db.session.commit()
    return loan


def text(response: Any) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


# --- login, logout, lockout, sessions ----------------------------------------------------------------------

def test_login_account_and_logout(client: FlaskClient, opac: Opac) -> None:
    """Card number + PIN opens the account; logout is a POST and voids a copied cookie too."""
    english(client)
    assert client.get("/opac/account").headers["Location"].startswith("/opac/account/login")
    page = client.get("/opac/account/login")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    response = patron_login(client, opac.alice.card_number, PIN_ALICE)
    assert response.status_code == 302 and response.headers["Location"] == "/opac/account"
    account = client.get("/opac/account")
    assert account.status_code == 200 and account.headers["Cache-Control"] == "no-store"
    assert "Alice Rahayu" in text(account) and opac.alice.card_number in text(account)
    with client.session_transaction() as state:
        copied = dict(state)
    assert client.post("/opac/account/logout").status_code == 302
    assert client.get("/opac/account").status_code == 302
    with client.session_transaction() as state:  # someone replays the cookie taken before logout
        state.update(copied)
    assert client.get("/opac/account").status_code == 302
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(opac.alice.id))).all()
    assert "patron.login" in actions and "patron.logout" in actions


def test_wrong_pin_locks_the_card_for_a_while(client: FlaskClient, opac: Opac, app: Flask) -> None:
    """Five wrong PINs lock the PIN: even the right one is refused until the lock ends; same message throughout."""
    english(client)
    threshold = app.config["CIRCULATION_PIN_LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        page = patron_login(client, opac.alice.card_number, "9999")
        assert page.status_code == 200 and "Wrong card number or PIN" in text(page)
    locked = patron_login(client, opac.alice.card_number, PIN_ALICE)
    assert locked.status_code == 200 and "Wrong card number or PIN" in text(locked)
    alice = db.session.get(Patron, opac.alice.id)
    db.session.refresh(alice)
    assert alice.locked_until is not None and alice.locked_until > utcnow()
    reasons = [d["reason"] for d in db.session.scalars(select(AuditEvent.details).where(
        AuditEvent.action == "patron.login_failed", AuditEvent.object_id == str(alice.id)))]
    assert reasons.count("bad_pin") == threshold - 1 and "locked_now" in reasons and "locked" in reasons
    unknown = patron_login(client, "0000000000", PIN_ALICE)
    assert "Wrong card number or PIN" in text(unknown)  # an unknown card gets the same answer
    alice.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302


def test_pending_and_erased_cannot_log_in_blocked_and_expired_can(client: FlaskClient, opac: Opac) -> None:
    """Pending: told to wait (only with the right PIN). Erased: refused. Blocked or expired: in, and told why."""
    english(client)
    alice = db.session.get(Patron, opac.alice.id)
    alice.status = PatronStatus.PENDING
    db.session.commit()
    page = text(patron_login(client, alice.card_number, PIN_ALICE))
    assert "waits for approval at Perpustakaan LIB-A" in page
    assert "waits for approval" not in text(patron_login(client, alice.card_number, "9999"))
    alice.status = PatronStatus.ERASED
    db.session.commit()
    assert patron_login(client, alice.card_number, PIN_ALICE).status_code == 200
    patron_services.set_block(actor=SYSTEM, patron_id=opac.budi.id, blocked=True, reason="Buku rusak belum diganti",
                              now=utcnow())
    budi = db.session.get(Patron, opac.budi.id)
    budi.expiry_date = date.today() - timedelta(days=3)
    db.session.commit()
    assert patron_login(client, budi.card_number, PIN_BUDI).status_code == 302
    account = text(client.get("/opac/account"))
    assert "Buku rusak belum diganti" in account and "Card expired on" in account


def test_a_session_ends_when_the_patron_is_erased_or_the_pin_changes_elsewhere(client: FlaskClient,
                                                                                 opac: Opac) -> None:
    """The session version in the cookie must match the patron row on every request."""
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    assert client.get("/opac/account").status_code == 200
    patron_services.change_pin(actor=SYSTEM, patron_id=opac.alice.id, pin="3691", now=utcnow())
    db.session.commit()
    assert client.get("/opac/account").status_code == 302


def test_idle_and_absolute_timeouts(client: FlaskClient, opac: Opac, app: Flask) -> None:
    """15 idle minutes or the absolute lifetime end a patron session."""
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    with client.session_transaction() as state:
        state[PATRON_KEY] = {**state[PATRON_KEY], "seen": utcnow().timestamp() - 16 * 60}
    assert client.get("/opac/account").status_code == 302
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    hours = app.config["ILS_SESSION_ABSOLUTE_HOURS"]
    with client.session_transaction() as state:
        state[PATRON_KEY] = {**state[PATRON_KEY], "at": utcnow().timestamp() - hours * 3600 - 1}
    assert client.get("/opac/account").status_code == 302


def test_patron_and_staff_sessions_coexist(client: FlaskClient, opac: Opac) -> None:
    """A patron login keeps a staff login in the same browser, and a patron logout leaves it alone."""
    login(client, "u.librarian")
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    assert client.get("/staff/").status_code == 200
    assert client.get("/opac/account").status_code == 200
    assert client.post("/opac/account/logout").status_code == 302
    assert client.get("/staff/").status_code == 200
    assert client.get("/opac/account").status_code == 302


def test_login_follows_only_local_next(client: FlaskClient, opac: Opac) -> None:
    """After login the member returns to the page they came from, never to another site."""
    back = patron_login(client, opac.alice.card_number, PIN_ALICE, next_url=f"/opac/records/{opac.record_c.id}/hold")
    assert back.headers["Location"] == f"/opac/records/{opac.record_c.id}/hold"
    client.post("/opac/account/logout")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert patron_login(client, opac.alice.card_number, PIN_ALICE, next_url=target).headers["Location"] == \
            "/opac/account"
        client.post("/opac/account/logout")


# --- loans: isolation and renewal ----------------------------------------------------------------------------

def test_another_patrons_loans_and_holds_are_404(client: FlaskClient, opac: Opac) -> None:
    """Alice's session can neither see nor renew, cancel or move Budi's loans and holds."""
    net = opac.net
    budi_loan = lend(opac.budi.card_number, net.item_b.barcode, net.b.id)
    budi_hold = holds.place(actor=SYSTEM, patron=db.session.get(Patron, opac.budi.id), record_id=opac.record_c.id,
                            pickup_library_id=net.b.id, now=utcnow())
    db.session.commit()
    loan_id, hold_id = budi_loan.id, budi_hold.id
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    account = text(client.get("/opac/account"))
    assert "Mangrove Kalimantan Timur" not in account and "Lamin Dayak Kenyah" not in account
    assert client.post(f"/opac/account/loans/{loan_id}/renew").status_code == 404
    assert client.post(f"/opac/account/holds/{hold_id}/cancel").status_code == 404
    assert client.post(f"/opac/account/holds/{hold_id}/pickup", data={"pickup_library_id": net.a.id}).status_code == 404
    db.session.expire_all()
    loan, hold = db.session.get(Loan, loan_id), db.session.get(Hold, hold_id)
    assert loan.renewals == 0 and hold.status == HoldStatus.WAITING and hold.pickup_library_id == net.b.id


def test_account_shows_due_dates_overdue_and_fees(client: FlaskClient, opac: Opac) -> None:
    """Due dates in the lending library's zone (WITA), an overdue mark, and the balance owed."""
    english(client)
    net = opac.net
    lend(opac.alice.card_number, net.item_a.barcode, net.a.id, days_ago=30)
    db.session.get(type(net.a), net.a.id).timezone = "Asia/Jakarta"  # a library on WIB shows WIB
    returned_late = lend(opac.alice.card_number, opac.item_c.barcode, net.a.id, days_ago=20)
    desk.checkin(actor=SYSTEM, barcode=opac.item_c.barcode, library_id=net.a.id, now=utcnow())
    db.session.commit()
    assert returned_late.returned_at is not None
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    account = text(client.get("/opac/account"))
    assert "Hikayat Pesisir Bontang" in account and "Overdue" in account and " WIB" in account
    assert "Overdue fine" in account and "Rp " in account


def test_renew_ok_then_refused_with_the_rules_message(client: FlaskClient, opac: Opac) -> None:
    """One renewal is allowed; the second is refused and the member reads why; a waiting hold refuses too."""
    english(client)
    net = opac.net
    loan = lend(opac.alice.card_number, net.item_a.barcode, net.a.id)
    loan_id, due_before = loan.id, loan.due_at
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    page = text(client.post(f"/opac/account/loans/{loan_id}/renew", follow_redirects=True))
    assert "Renewed. Now due" in page
    db.session.expire_all()
    loan = db.session.get(Loan, loan_id)
    assert loan.renewals == 1 and loan.due_at >= due_before
    details = db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "loan.renew"))
    assert details["channel"] == "opac"
    page = text(client.post(f"/opac/account/loans/{loan_id}/renew", follow_redirects=True))
    assert "No renewals left (1 of 1 used)" in page
    loan.renewals = 0
    holds.place(actor=SYSTEM, patron=db.session.get(Patron, opac.budi.id), record_id=net.record_a.id,
                pickup_library_id=net.b.id, now=utcnow())
    db.session.commit()
    page = text(client.post(f"/opac/account/loans/{loan_id}/renew", follow_redirects=True))
    assert "Another patron has placed a hold on this title" in page
    db.session.expire_all()
    assert db.session.get(Loan, loan_id).renewals == 0


# --- holds --------------------------------------------------------------------------------------------------

def test_record_page_button_and_login_first(client: FlaskClient, opac: Opac) -> None:
    """The record page offers a hold; anonymous visitors are sent to log in and come back."""
    english(client)
    hold_url = f"/opac/records/{opac.record_c.id}/hold"
    assert sum(getattr(f, "__qualname__", "") == "hold_action" for f in RECORD_ACTIONS) == 1
    opac_views._register_record_action(opac_views.hold_action)  # a second import adds no second button
    assert sum(getattr(f, "__qualname__", "") == "hold_action" for f in RECORD_ACTIONS) == 1
    page = text(client.get(f"/opac/record/{opac.record_c.id}"))
    assert "Log in to place a hold" in page and hold_url in page
    response = client.get(hold_url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/opac/account/login?next=")
    assert patron_login(client, opac.alice.card_number, PIN_ALICE, next_url=hold_url).headers["Location"] == hold_url
    assert "Place a hold" in text(client.get(f"/opac/record/{opac.record_c.id}"))
    page = client.get(hold_url)
    assert page.status_code == 200 and "Lamin Dayak Kenyah" in text(page) and "Any copy" in text(page)
    assert client.get("/opac/records/999999/hold").status_code == 404


def test_place_hold_change_pickup_and_cancel(client: FlaskClient, opac: Opac) -> None:
    """Place (channel opac) with a queue place, move the pickup while waiting, cancel."""
    english(client)
    net = opac.net
    lend(opac.budi.card_number, opac.item_c.barcode, net.a.id)  # the only copy is out: the hold waits
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    page = text(client.post(f"/opac/records/{opac.record_c.id}/hold",
                            data={"pickup_library_id": net.b.id, "item_id": 0}, follow_redirects=True))
    assert "You are number 1 in the queue" in page and "Number 1 in the queue" in page
    hold = db.session.scalar(select(Hold).where(Hold.patron_id == opac.alice.id))
    assert hold.channel == "opac" and hold.pickup_library_id == net.b.id and hold.item_id is None
    assert holds.queue_position(hold) == 1
    again = text(client.post(f"/opac/records/{opac.record_c.id}/hold", data={"pickup_library_id": net.b.id,
                                                                            "item_id": 0}))
    assert "This member already has a hold on this title" in again
    response = client.post(f"/opac/account/holds/{hold.id}/pickup", data={"pickup_library_id": net.a.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Hold, hold.id).pickup_library_id == net.a.id
    assert client.post(f"/opac/account/holds/{hold.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Hold, hold.id).status == HoldStatus.CANCELLED
    # A copy-level hold names the copy.
    client.post(f"/opac/records/{opac.record_c.id}/hold", data={"pickup_library_id": net.a.id,
                                                               "item_id": opac.item_c.id})
    copy_hold = db.session.scalar(select(Hold).where(Hold.patron_id == opac.alice.id,
                                                     Hold.status == HoldStatus.WAITING))
    assert copy_hold.item_id == opac.item_c.id


def test_pickup_cannot_change_once_a_copy_is_set_aside(ctx: Flask, opac: Opac) -> None:
    """The service refuses a new pickup library for a hold in transit or on the shelf."""
    hold = holds.place(actor=SYSTEM, patron=db.session.get(Patron, opac.alice.id), record_id=opac.record_c.id,
                       pickup_library_id=opac.net.a.id, now=utcnow())
    hold.status = HoldStatus.READY
    db.session.flush()
    with pytest.raises(ValidationFailed):
        selfservice.change_pickup(actor=SYSTEM, patron_id=opac.alice.id, hold_id=hold.id,
                                  pickup_library_id=opac.net.b.id, now=utcnow())


# --- consent, PIN, data ---------------------------------------------------------------------------------------

def test_history_toggle_writes_consent_rows(client: FlaskClient, opac: Opac) -> None:
    """Opt in and out each add a ledger row; withdrawal unlinks the returned loans at once."""
    english(client)
    net = opac.net
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    assert client.post("/opac/account/history", data={"opt_in": "1"}).status_code == 302
    client.post("/opac/account/history", data={"opt_in": "1"})  # no change: no second row
    lend(opac.alice.card_number, net.item_a.barcode, net.a.id)
    desk.checkin(actor=SYSTEM, barcode=net.item_a.barcode, library_id=net.a.id, now=utcnow())
    db.session.commit()
    assert "Hikayat Pesisir Bontang" in text(client.get("/opac/account"))
    assert client.post("/opac/account/history", data={"opt_in": "0"}).status_code == 302
    rows = db.session.scalars(select(PatronConsent).where(PatronConsent.patron_id == opac.alice.id)
                              .order_by(PatronConsent.id)).all()
    assert [(r.purpose, r.granted, r.channel) for r in rows] == [("history", True, "opac"), ("history", False, "opac")]
    db.session.expire_all()
    assert db.session.get(Patron, opac.alice.id).history_opt_in is False
    assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.patron_id == opac.alice.id)) == 0
    assert "Hikayat Pesisir Bontang" not in text(client.get("/opac/account"))


def test_change_pin(client: FlaskClient, app: Flask, opac: Opac) -> None:
    """The current PIN is asked (wrong ones count), easy PINs are refused, other browsers are logged out."""
    english(client)
    other = app.test_client()
    assert patron_login(other, opac.alice.card_number, PIN_ALICE).status_code == 302
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    assert client.get("/opac/account/pin").status_code == 200
    wrong = client.post("/opac/account/pin", data={"current_pin": "0000", "new_pin": "3691", "confirm": "3691"})
    assert wrong.status_code == 200 and "The current PIN is wrong" in text(wrong)
    db.session.expire_all()
    assert db.session.get(Patron, opac.alice.id).failed_logins == 1
    easy = client.post("/opac/account/pin", data={"current_pin": PIN_ALICE, "new_pin": "1234", "confirm": "1234"})
    assert "too easy to guess" in text(easy)
    done = client.post("/opac/account/pin", data={"current_pin": PIN_ALICE, "new_pin": "3691", "confirm": "3691"})
    assert done.status_code == 302
    assert client.get("/opac/account").status_code == 200
    assert other.get("/opac/account").status_code == 302
    client.post("/opac/account/logout")
    assert patron_login(client, opac.alice.card_number, "3691").status_code == 302


def test_pin_strength_rules() -> None:
    """Repeated digits, runs and the birth date are refused; an ordinary PIN passes."""
    born = date(2001, 8, 17)
    for pin in ("0000", "1234", "98765", "170801", "17082001", "2001", "1708"):
        with pytest.raises(ValidationFailed):
            selfservice.check_pin_strength(pin, birth_date=born)
    selfservice.check_pin_strength("2580", birth_date=born)


def test_data_download_json_and_pdf(client: FlaskClient, opac: Opac) -> None:
    """"Unduh data saya": the JSON lists the member's loans and holds; the PDF is readable; both audited."""
    english(client)
    net = opac.net
    lend(opac.alice.card_number, net.item_a.barcode, net.a.id)
    holds.place(actor=SYSTEM, patron=db.session.get(Patron, opac.alice.id), record_id=opac.record_c.id,
                pickup_library_id=net.a.id, now=utcnow())
    db.session.add(PatronPhoto(patron_id=opac.alice.id, content_type="image/jpeg", data=b"\xff\xd8" + b"x" * 6000))
    db.session.commit()
    assert patron_login(client, opac.alice.card_number, PIN_ALICE).status_code == 302
    response = client.post("/opac/account/data", data={"format": "json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="data-saya-')
    data = json.loads(response.get_data())
    assert [loan["title"] for loan in data["loans"]] == ["Hikayat Pesisir Bontang"]
    assert [hold["title"] for hold in data["holds"]] == ["Lamin Dayak Kenyah"]
    assert data["profile"]["name"] == "Alice Rahayu"
    pdf = client.post("/opac/account/data", data={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    pages = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "Alice Rahayu" in pages and "Hikayat Pesisir Bontang" in pages and "Lamin Dayak Kenyah" in pages
    assert "image/jpeg image: included in the JSON download" in pages
    exports = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "patron.export", AuditEvent.object_id == str(opac.alice.id)))
    assert exports == 2
    assert client.post("/opac/account/data", data={"format": "xml"}).status_code == 400


# --- self-registration ----------------------------------------------------------------------------------------

def registration(library_id: int, **changes: Any) -> dict[str, Any]:
    """A complete adult registration form."""
    form = {"name": "Citra Lestari", "category_code": "umum", "birth_date": "1995-02-11", "phone": "0812 5555 1234",
            "whatsapp": "y", "email": "citra@example.org", "address": "Jl. Awang Long 12", "kelurahan": "Bontang Baru",
            "home_library_id": library_id, "pin": "2580", "pin_confirm": "2580", "notice": "y"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_self_registration_creates_a_pending_patron(client: FlaskClient, opac: Opac) -> None:
    """The member waits for approval at the chosen library and cannot log in before."""
    english(client)
    assert client.get("/opac/register").status_code == 200
    response = client.post("/opac/register", data=registration(opac.net.a.id, history="y"))
    assert response.status_code == 302 and response.headers["Location"] == "/opac/register/done"
    patron = db.session.scalar(select(Patron).where(Patron.name == "Citra Lestari"))
    assert patron.status == PatronStatus.PENDING and patron.self_registered and patron.history_opt_in
    assert patron.phone == "+6281255551234" and patron.home_library_id == opac.net.a.id
    done = text(client.get("/opac/register/done"))
    assert "waits for approval at Perpustakaan LIB-A" in done and patron.card_number in done
    assert client.get("/opac/register/done").status_code == 302  # shown once
    consents = db.session.scalars(select(PatronConsent.purpose).where(PatronConsent.patron_id == patron.id)).all()
    assert consents == ["history"]
    assert "waits for approval" in text(patron_login(client, patron.card_number, "2580"))
    assert client.get("/opac/account").status_code == 302


def test_minor_needs_guardian_and_consent(client: FlaskClient, opac: Opac) -> None:
    """Under 18 without the guardian's consent is refused; with it, the consent is in the ledger."""
    english(client)
    child = registration(opac.net.a.id, name="Dimas Kecil", category_code="anak", birth_date="2016-04-02",
                         guardian_name="Ratna Kecil", guardian_phone="0813 4444 2222")
    refused = client.post("/opac/register", data=child)
    assert refused.status_code == 200 and "needs the guardian&#39;s consent" in text(refused)
    no_guardian = client.post("/opac/register", data={**child, "guardian_name": "", "guardian_consent": "y"})
    assert "needs a parent or guardian" in text(no_guardian)
    assert db.session.scalar(select(Patron.id).where(Patron.name == "Dimas Kecil")) is None
    assert client.post("/opac/register", data={**child, "guardian_consent": "y"}).status_code == 302
    patron = db.session.scalar(select(Patron).where(Patron.name == "Dimas Kecil"))
    assert patron.status == PatronStatus.PENDING and patron.guardian_consent_at is not None
    assert patron.guardian_phone == "+6281344442222"
    assert db.session.scalars(select(PatronConsent.purpose).where(PatronConsent.patron_id == patron.id)).all() == \
        ["guardian"]


def test_registration_only_where_the_library_allows_it(client: FlaskClient, opac: Opac) -> None:
    """A library with self-registration off is not offered and a forged POST creates nobody."""
    db.session.add(CirculationSettings(library_id=opac.net.b.id, self_registration=False))
    db.session.commit()
    page = text(client.get("/opac/register"))
    assert "Perpustakaan LIB-A" in page and "Perpustakaan LIB-B" not in page
    assert client.post("/opac/register", data=registration(opac.net.b.id)).status_code == 200
    assert client.post("/opac/register", data=registration(opac.net.a.id, notice=None)).status_code == 200
    assert db.session.scalar(select(Patron.id).where(Patron.name == "Citra Lestari")) is None


# --- CSRF and rate limits -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def strict_app(app: Flask, session_dir: Path) -> Iterator[Flask]:
    """The same database with CSRF protection and rate limits on."""
    application = make_app(session_dir, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True,
                           CIRCULATION_OPAC_LOGIN_RATE_LIMIT="4 per minute",
                           CIRCULATION_OPAC_REGISTER_RATE_LIMIT="2 per minute")
    yield application
    dispose(application)


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form on a page."""
    page = text(client.get(url))
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_posts_without_a_csrf_token_are_refused(strict_app: Flask) -> None:
    """Every OPAC POST needs the form token, also for a logged-in member; nothing changes without it."""
    with strict_app.app_context():
        net = build_network()
        alice = make_patron("Alice Rahayu", net.a.id, PIN_ALICE)
        loan = desk.checkout(actor=SYSTEM, card_number=alice.card_number, barcode=net.item_a.barcode,
                             library_id=net.a.id, now=utcnow()).loan
        hold = holds.place(actor=SYSTEM, patron=alice, record_id=net.record_b.id, pickup_library_id=net.a.id,
                           now=utcnow())
        db.session.commit()
        card, loan_id, hold_id, record_id, library_id = alice.card_number, loan.id, hold.id, net.record_a.id, net.a.id
    client = strict_app.test_client()
    assert client.post("/opac/account/login", data={"card_number": card, "pin": PIN_ALICE}).status_code == 400
    token = csrf_token(client, "/opac/account/login")
    assert client.post("/opac/account/login", data={"card_number": card, "pin": PIN_ALICE,
                                                    "csrf_token": token}).status_code == 302
    posts = [("/opac/account/logout", {}), (f"/opac/account/loans/{loan_id}/renew", {}),
             (f"/opac/account/holds/{hold_id}/cancel", {}),
             (f"/opac/account/holds/{hold_id}/pickup", {"pickup_library_id": library_id}),
             ("/opac/account/history", {"opt_in": "1"}), ("/opac/account/data", {"format": "json"}),
             ("/opac/account/pin", {"current_pin": PIN_ALICE, "new_pin": "3691", "confirm": "3691"}),
             (f"/opac/records/{record_id}/hold", {"pickup_library_id": library_id, "item_id": 0}),
             ("/opac/register", registration(library_id))]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
    assert client.get("/opac/account").status_code == 200  # still logged in: the logout was refused too
    with strict_app.app_context():
        assert db.session.get(Loan, loan_id).renewals == 0
        assert db.session.get(Hold, hold_id).status == HoldStatus.WAITING
        assert db.session.scalar(select(func.count()).select_from(Hold)) == 1
        assert db.session.scalar(select(func.count()).select_from(PatronConsent)) == 0
        assert db.session.scalar(select(func.count()).select_from(Patron)) == 1
        db.session.remove()


def test_login_and_registration_are_rate_limited(strict_app: Flask) -> None:
    """Too many OPAC logins or registrations from one address get 429."""
    with strict_app.app_context():
        build_network()
        db.session.commit()
        db.session.remove()
        limiter.reset()  # the CSRF test above already spent some of this address's logins
    client = strict_app.test_client()
    statuses = []
    for _ in range(6):
        token = csrf_token(client, "/opac/account/login")
        statuses.append(client.post("/opac/account/login", data={"card_number": "64740000000", "pin": "9999",
                                                                 "csrf_token": token}).status_code)
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429, 429]
    registrations = []
    for _ in range(3):
        token = csrf_token(client, "/opac/register")
        registrations.append(client.post("/opac/register", data={"csrf_token": token, "name": ""}).status_code)
    assert registrations == [200, 200, 429]
