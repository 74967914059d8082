"""UU PDP rights: a patron's data export (Pasal 32) and erasure (Pasal 43) that leaves no personal data behind."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from flask.testing import FlaskClient
from sqlalchemy import JSON, String, Text, cast, func, select

from circulation.services import nik
from circulation.models import (Fee, FeeKind, Hold, HoldStatus, Loan, Notice, NoticeKind,
                                NoticeStatus, Patron, PatronConsent, PatronPhoto, PatronStatus)
from circulation.services import desk, fees, holds, privacy
from circulation.services import patrons as patron_services
from circulation.services.common import PatronNotFound
from ils.authz import Actor
from ils.errors import Forbidden, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, Role
from ils.services.staff import actor_for
from tests.factories import Network, make_staff
from tests.test_circulation_patrons import NIK, NOW, TODAY, adult, child, login_en

NAME, PHONE, LOCAL_PHONE = "Budi Santoso", "+6281255501234", "0812-5550-1234"


@pytest.fixture
def net(network: Network) -> Network:
    """The network; the member categories and the city-wide loan rule come from the migration."""
    return network


def staff(net: Network, role: str = "librarian") -> Actor:
    """A staff member of library A (the patron's home library)."""
    return actor_for(net.users[role])


def budi(net: Network) -> Patron:
    """An adult of library A with a NIK, a PIN, a photo, a reading history and a child he is guardian of."""
    actor = staff(net, "circulation")
    patron = patron_services.register(actor=actor, data=adult(history_opt_in=True), now=NOW, today=TODAY, nik=NIK,
                                      pin="4821")
    db.session.add(PatronPhoto(patron_id=patron.id, content_type="image/jpeg", data=b"\xff\xd8 photo of Budi"))
    # The child's own record (its own address) stays; only the link to Budi goes with him.
    patron_services.register(actor=actor, data=child(guardian_id=patron.id, address="Jl. Letjen S. Parman 4"),
                             now=NOW, today=TODAY, guardian_consent=True)
    db.session.commit()
    return patron


def lend_and_return(net: Network, patron: Patron) -> Loan:
    """A loan of A's copy, returned a month late (kept: the patron opted into a history)."""
    actor = staff(net, "circulation")
    loan = desk.checkout(actor=actor, card_number=patron.card_number, barcode="A0001", library_id=net.a.id,
                         now=NOW).loan
    desk.checkin(actor=actor, barcode="A0001", library_id=net.a.id, now=NOW + timedelta(days=30))
    db.session.commit()
    return loan


def charge_and_pay(net: Network, patron: Patron, *, pay: bool = True) -> Fee:
    """A replacement-card fee at library A, paid in cash (or left open)."""
    actor = staff(net, "circulation")
    fee = fees.charge(actor=actor, patron_id=patron.id, library_id=net.a.id, kind=FeeKind.CARD, amount=5000,
                      description="Kartu pengganti", now=NOW)
    if pay:
        fees.pay(actor=actor, patron_id=patron.id, amount=fees.balance(patron.id), library_id=net.a.id, now=NOW)
    db.session.commit()
    return fee


def notice(net: Network, patron: Patron) -> Notice:
    """A notice as the outbox keeps it: the name and phone are in its text."""
    row = Notice(dedupe_key=f"test:{patron.id}", kind=NoticeKind.HOLD_READY, channel="webhook", patron_id=patron.id,
                 library_id=net.a.id, subject="Buku siap diambil", body=f"Halo {NAME} ({LOCAL_PHONE}), buku siap.",
                 status=NoticeStatus.SENT, created_at=NOW, sent_at=NOW)
    db.session.add(row)
    db.session.commit()
    return row


def occurrences(needle: str) -> list[str]:
    """Every text column of the circulation tables and the audit details that contains ``needle``."""
    found = []
    for table in db.metadata.sorted_tables:
        if not table.name.startswith("circ_") and table.name != "audit_event":
            continue
        for column in table.columns:
            if table.name == "audit_event" and column.name != "details":
                continue
            if not isinstance(column.type, (String, Text, JSON)):
                continue
            count = db.session.scalar(select(func.count()).select_from(table).where(
                func.lower(cast(column, Text)).contains(needle.lower())))
            if count:
                found.append(f"{table.name}.{column.name}: {count}")
    return found


# --- erasure ------------------------------------------------------------------------------------

def test_erasure_leaves_the_name_nik_and_phone_nowhere(net: Network) -> None:
    """After the erasure the personal values are in 0 rows; loans, holds and fees remain for statistics."""
    patron = budi(net)
    loan = lend_and_return(net, patron)
    fee = charge_and_pay(net, patron)
    hold = holds.place(actor=staff(net, "circulation"), patron=patron, record_id=net.record_b.id,
                       pickup_library_id=net.a.id, now=NOW)
    notice(net, patron)
    # Staff typed the name and the phone into a block reason; the audit trail kept it.
    patron_services.set_block(actor=staff(net), patron_id=patron.id, blocked=True,
                              reason=f"{NAME} minta kartu diblokir, hp {LOCAL_PHONE}", now=NOW)
    patron_services.set_block(actor=staff(net), patron_id=patron.id, blocked=False, reason="", now=NOW)
    patron_services.get_patron(actor=staff(net), patron_id=patron.id, now=NOW)
    db.session.commit()
    for needle in (NAME, PHONE, LOCAL_PHONE):  # the NIK never shows in clear: it is encrypted at rest
        assert occurrences(needle), f"the test data should contain {needle} before the erasure"
    assert nik.reveal_nik(patron) == NIK
    patron_id, kid = patron.id, db.session.scalar(select(Patron).where(Patron.guardian_id == patron.id))

    privacy.erase(actor=staff(net), patron_id=patron_id, now=NOW + timedelta(days=31),
                  reason=f"Permintaan tertulis {NAME}")
    db.session.commit()
    db.session.expire_all()

    for needle in (NAME, NIK, NIK[:12], PHONE, LOCAL_PHONE, "budi@example.org", "Ahmad Yani"):
        assert occurrences(needle) == [], needle
    erased = db.session.get(Patron, patron_id)
    assert erased.name == "Anggota terhapus" and erased.status == PatronStatus.ERASED
    assert erased.erased_at == NOW + timedelta(days=31)
    assert (erased.nik_cipher, erased.nik_hash, erased.nik_last4, erased.pin_hash) == (None, None, "", None)
    assert (erased.birth_date, erased.phone, erased.email, erased.address, erased.import_key) == (None, "", "", "",
                                                                                                  None)
    assert db.session.get(PatronPhoto, patron_id) is None
    assert db.session.scalar(select(func.count()).where(PatronConsent.patron_id == patron_id)) == 0
    assert db.session.scalar(select(func.count()).where(Notice.patron_id == patron_id)) == 0
    assert kid.guardian_id is None
    # Statistics survive without the person.
    loan, fee, hold = db.session.get(Loan, loan.id), db.session.get(Fee, fee.id), db.session.get(Hold, hold.id)
    assert (loan.patron_id, loan.patron_category, loan.patron_home_library_id, loan.library_id) == (
        None, "umum", net.a.id, net.a.id)
    assert loan.anonymised and (fee.patron_id, fee.library_id, fee.amount, fee.paid) == (None, net.a.id, 5000, 5000)
    assert (hold.patron_id, hold.patron_category, hold.status) == (None, "umum", HoldStatus.CANCELLED)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patron.erase"))
    assert event.object_id == str(patron_id) and event.details["loans_unlinked"] == 1
    assert event.details["holds_cancelled"] == 1 and "Budi" not in json.dumps(event.details)
    with pytest.raises(PatronNotFound):
        patron_services.require_by_card(erased.card_number)
    assert patron_services.search_patrons(actor=staff(net), query="Anggota") == ([], 0)
    with pytest.raises(PatronNotFound):
        privacy.erase(actor=staff(net), patron_id=patron_id, now=NOW, reason="lagi")


def test_erasure_is_refused_while_an_item_is_on_loan(net: Network) -> None:
    """An item still out keeps the record: the message says so and nothing changes."""
    patron = budi(net)
    desk.checkout(actor=staff(net, "circulation"), card_number=patron.card_number, barcode="A0001",
                  library_id=net.a.id, now=NOW)
    db.session.commit()
    with force_locale("en"):
        assert privacy.erasure_blockers(patron.id) == ["1 item(s) on loan"]
        with pytest.raises(privacy.ErasureRefused, match="on loan"):
            privacy.erase(actor=staff(net), patron_id=patron.id, now=NOW, reason="Permintaan anggota")
    db.session.rollback()
    assert db.session.get(Patron, patron.id).name == NAME


def test_erasure_is_refused_while_fees_are_unpaid(net: Network) -> None:
    """Money owed keeps the record until it is paid or waived."""
    patron = budi(net)
    charge_and_pay(net, patron, pay=False)
    with pytest.raises(privacy.ErasureRefused, match="Rp 5.000"):
        privacy.erase(actor=staff(net), patron_id=patron.id, now=NOW, reason="Permintaan anggota")
    db.session.rollback()
    fees.pay(actor=staff(net), patron_id=patron.id, amount=5000, library_id=net.a.id, now=NOW)
    privacy.erase(actor=staff(net), patron_id=patron.id, now=NOW, reason="Permintaan anggota")
    db.session.commit()
    assert db.session.get(Patron, patron.id).status == PatronStatus.ERASED


def test_erasure_needs_the_permission_at_the_home_library_and_a_reason(net: Network) -> None:
    """A desk clerk may not erase; nor may another library's head librarian; a reason is required."""
    patron = budi(net)
    other_head = actor_for(make_staff("head.b", Role.LIBRARIAN, net.b))
    for actor in (staff(net, "circulation"), other_head):
        with pytest.raises(Forbidden):
            privacy.erase(actor=actor, patron_id=patron.id, now=NOW, reason="Permintaan anggota")
        db.session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        privacy.erase(actor=staff(net), patron_id=patron.id, now=NOW, reason="   ")
    assert caught.value.field == "reason"
    db.session.rollback()
    assert db.session.get(Patron, patron.id).status == PatronStatus.ACTIVE


def test_erase_screen(client: FlaskClient, net: Network) -> None:
    """The erase button needs the confirmation tick; then the data is gone and the list opens."""
    patron = budi(net)
    login_en(client, "u.librarian")
    response = client.post(f"/circulation/patrons/{patron.id}/erase", data={"reason": "Permintaan anggota"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/patrons/{patron.id}")
    db.session.expire_all()
    assert patron.status == PatronStatus.ACTIVE
    response = client.post(f"/circulation/patrons/{patron.id}/erase",
                           data={"reason": "Permintaan anggota", "confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/circulation/patrons")
    db.session.expire_all()
    assert patron.status == PatronStatus.ERASED and patron.name == "Anggota terhapus"
    page = client.get(f"/circulation/patrons/{patron.id}").get_data(as_text=True)
    assert "Budi" not in page and "Anggota terhapus" in page


def test_erase_screen_refusal_and_scope(client: FlaskClient, net: Network) -> None:
    """With an item on loan the page explains why; a desk clerk gets 403."""
    patron = budi(net)
    desk.checkout(actor=staff(net, "circulation"), card_number=patron.card_number, barcode="A0001",
                  library_id=net.a.id, now=NOW)
    db.session.commit()
    login_en(client, "u.librarian")
    page = client.get(f"/circulation/patrons/{patron.id}").get_data(as_text=True)
    assert "1 item(s) on loan" in page
    response = client.post(f"/circulation/patrons/{patron.id}/erase",
                           data={"reason": "Permintaan anggota", "confirm": "y"}, follow_redirects=True)
    assert "still has 1 item(s) on loan" in response.get_data(as_text=True)
    clerk = client.application.test_client()
    login_en(clerk, "u.circulation")
    assert clerk.post(f"/circulation/patrons/{patron.id}/erase",
                      data={"reason": "x", "confirm": "y"}).status_code == 403


# --- export ---------------------------------------------------------------------------------------

def test_export_holds_everything_we_keep(net: Network) -> None:
    """Profile (NIK masked), consents, loans and history, holds, fees and payments, notices, who looked."""
    patron = budi(net)
    lend_and_return(net, patron)
    desk.checkout(actor=staff(net, "circulation"), card_number=patron.card_number, barcode="A0001",
                  library_id=net.a.id, now=NOW + timedelta(days=31))
    charge_and_pay(net, patron)
    holds.place(actor=staff(net, "circulation"), patron=patron, record_id=net.record_b.id,
                pickup_library_id=net.a.id, now=NOW)
    notice(net, patron)
    patron_services.get_patron(actor=staff(net), patron_id=patron.id, now=NOW)
    db.session.commit()

    data = privacy.export_data(patron_id=patron.id, now=NOW + timedelta(days=32))
    db.session.commit()
    assert json.loads(json.dumps(data)) == data  # plain JSON values only
    profile = data["profile"]
    assert (profile["name"], profile["phone"]) == (NAME, PHONE)
    assert profile["nik"] == patron.nik_masked and profile["nik"].endswith(NIK[-4:]) and NIK not in json.dumps(data)
    assert profile["pin_set"] is True and "4821" not in json.dumps(data) and "argon" not in json.dumps(data)
    assert profile["photo"]["content_type"] == "image/jpeg"
    assert [w["name"] for w in profile["guardian_of"]] == ["Siti Aminah"]
    assert data["category"]["code"] == "umum"
    assert [(c["purpose"], c["granted"], c["channel"]) for c in data["consents"]] == [("history", True, "desk")]
    assert [loan["title"] for loan in data["loans"]] == ["Hikayat Pesisir Bontang"]
    assert len(data["history"]) == 1 and data["history"][0]["returned_at"] is not None
    assert [h["status"] for h in data["holds"]] == ["waiting"]
    card_fee = next(f for f in data["fees"] if f["kind"] == "card")
    assert card_fee["balance"] == 0 and [t["kind"] for t in card_fee["transactions"]] == ["payment"]
    assert data["notices"][0]["body"].startswith("Halo Budi")
    log: list[dict[str, Any]] = data["processing_log"]
    assert {"patron.create", "patron.view", "loan.checkout", "fee.pay", "hold.place"} <= {e["action"] for e in log}
    assert any(e["action"] == "patron.view" and e["by"] == "u.librarian" for e in log)
    exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patron.export"))
    assert exported.object_id == str(patron.id) and exported.details == {}


def test_export_of_an_erased_or_unknown_patron_is_not_found(net: Network) -> None:
    """Nothing is left to export after an erasure."""
    patron = budi(net)
    privacy.erase(actor=staff(net), patron_id=patron.id, now=NOW, reason="Permintaan anggota")
    db.session.commit()
    for patron_id in (patron.id, patron.id + 1000):
        with pytest.raises(PatronNotFound):
            privacy.export_data(patron_id=patron_id, now=NOW)


def test_export_writes_no_personal_data_to_the_audit_trail(net: Network) -> None:
    """The export's own audit row names only the patron id."""
    patron = budi(net)
    privacy.export_data(patron_id=patron.id, now=NOW)
    db.session.commit()
    details = [json.dumps(d) for d in db.session.scalars(select(AuditEvent.details))]
    assert details and not [d for d in details if NIK in d or NAME in d or PHONE in d]
