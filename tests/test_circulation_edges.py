"""Circulation edges: floating collections, rules without holds, the active-loan index, audited
overrides, the return receipt, and a cancelled hold passing its copy on."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from catalog.models import ItemStatus
from circulation.models import CirculationRule, FeeKind, Hold, HoldStatus, Loan, Notice, Transit
from circulation.services import desk, fees, holds
from circulation.services import settings as setting_services
from circulation.services.common import CheckFailed
from ils.authz import Actor
from ils.extensions import db
from ils.models import AuditEvent, Role
from tests.factories import count_rows, login, make_patron, make_record, make_staff
from tests.test_circulation_desk import MONDAY, city, lend  # noqa: F401 - the desk tests' two-library city

# Returned on Sunday 5 April 2026, 10:00 WITA: 8 late open days of a loan due on 25 March (see
# test_circulation_desk.test_checkin_charges_fines_on_open_days_only_and_anonymises), Rp 500 each.
LATE_RETURN = datetime(2026, 4, 5, 2, 0, tzinfo=timezone.utc)



def _floating(city: dict, library: str) -> None:
    """Turn the floating collection on for one library of the city, through the settings service."""
    head = Actor(label=f"head.{library}", role=Role.LIBRARIAN, library_id=city[library].id)
    setting_services.update_settings(actor=head, library_id=city[library].id,
                                     data=setting_services.SettingsInput(floating=True), now=MONDAY)
    db.session.commit()


def _lent_then_returned_at_b(city: dict) -> tuple[Any, Any]:
    """Lend A's copy at A, return it at B two days later: the check-in result and the fresh item."""
    lend(city)
    result = desk.checkin(actor=city["desk_b"], barcode="A-0001", library_id=city["b"].id,
                          now=MONDAY + timedelta(days=2))
    db.session.commit()
    item = city["item"]
    db.session.refresh(item)
    return result, item


# --- 1. floating collections ----------------------------------------------------------------------------

def test_floating_item_returned_elsewhere_stays_where_it_was_returned(city: dict) -> None:
    _floating(city, "a")  # the item's home library floats its collection
    result, item = _lent_then_returned_at_b(city)
    assert result.action == "shelve" and result.destination is None
    assert item.status == ItemStatus.AVAILABLE
    assert item.location_library_id == city["b"].id and item.library_id == city["a"].id  # owner unchanged
    assert count_rows(Transit) == 0
    assert result.loan is not None and result.loan.return_library_id == city["b"].id


@pytest.mark.parametrize("floating_at", [None, "b"], ids=["floating-off", "floating-only-at-return-library"])
def test_non_floating_item_returned_elsewhere_goes_home_in_transit(city: dict, floating_at: str | None) -> None:
    """The setting is read from the item's home library: floating at the returning library does not count."""
    if floating_at:
        _floating(city, floating_at)
    result, item = _lent_then_returned_at_b(city)
    assert result.action == "transit_home" and result.destination.id == city["a"].id
    assert item.status == ItemStatus.IN_TRANSIT and item.location_library_id != city["b"].id
    transits = db.session.scalars(select(Transit)).all()
    assert [(t.item_id, t.from_library_id, t.to_library_id, t.reason, t.hold_id, t.received_at)
            for t in transits] == [(item.id, city["b"].id, city["a"].id, "home", None, None)]


# --- 2. rules without holds -----------------------------------------------------------------------------

def test_rule_without_holds_refuses_the_hold_in_indonesian_and_allowing_them_works(city: dict) -> None:
    rule = CirculationRule(library_id=city["a"].id, category_code="*", item_type="*", loan_days=7,
                           holds_allowed=False)
    db.session.add(rule)
    db.session.commit()
    only_at_a = city["item2"]  # "Bumi Manusia": its only copy belongs to A
    with force_locale("id"):
        with pytest.raises(CheckFailed) as title_refused:
            holds.place(actor=city["desk_a"], patron=city["siti"], record_id=only_at_a.record_id,
                        pickup_library_id=city["a"].id, now=MONDAY)
        db.session.rollback()
        with pytest.raises(CheckFailed) as copy_refused:
            holds.place(actor=city["desk_a"], patron=city["siti"], record_id=city["record"].id,
                        item_id=city["item"].id, pickup_library_id=city["a"].id, now=MONDAY)
        db.session.rollback()
    for refused in (title_refused.value, copy_refused.value):
        assert refused.codes == ["holdable"] and not refused.failed[0].hard
        assert refused.message == "Tidak ada eksemplar judul ini yang dapat dipesan untuk anggota ini"
        assert refused.status_code == 422
    assert count_rows(Hold) == 0

    # A title with a copy at B (the city-wide rule allows holds) may be held, but A's copy never fills it.
    title_hold = holds.place(actor=city["desk_a"], patron=city["siti"], record_id=city["record"].id,
                             pickup_library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    at_a = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    assert at_a.action == "shelve" and title_hold.status == HoldStatus.WAITING
    at_b = desk.checkin(actor=city["desk_b"], barcode="B-0001", library_id=city["b"].id, now=MONDAY)
    db.session.commit()
    assert at_b.action == "transit_hold" and title_hold.captured_item_id == city["copy_b"].id

    rule.holds_allowed = True
    db.session.commit()
    allowed = holds.place(actor=city["desk_a"], patron=city["siti"], record_id=only_at_a.record_id,
                          pickup_library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    assert allowed.status == HoldStatus.WAITING and holds.queue_position(allowed) == 1


# --- 3. the partial unique index on active loans ----------------------------------------------------------

def _insert_loan(via: str, values: dict[str, Any]) -> None:
    if via == "orm":
        db.session.add(Loan(**values))
        db.session.flush()
    else:
        db.session.execute(insert(Loan.__table__).values(**values))


@pytest.mark.parametrize("via", ["orm", "core"])
def test_database_refuses_a_second_active_loan_of_one_item(city: dict, via: str) -> None:
    first = lend(city).loan
    item_id = city["item"].id
    values = {"item_id": item_id, "record_id": city["record"].id, "patron_id": city["budi"].id,
              "patron_category": "umum", "patron_home_library_id": city["b"].id, "library_id": city["b"].id,
              "item_library_id": city["a"].id, "terms": dict(first.terms), "due_at": MONDAY + timedelta(days=9),
              "checked_out_at": MONDAY + timedelta(days=1), "actor_label": "direct"}
    with pytest.raises(IntegrityError) as refused:
        _insert_loan(via, values)
    assert "item_id" in str(refused.value.orig)  # the item column's unique index, whatever the dialect says
    db.session.rollback()
    assert count_rows(Loan, Loan.item_id == item_id) == 1

    # A returned loan of the same item is history, not a second loan: the index leaves it alone.
    _insert_loan(via, dict(values, returned_at=MONDAY + timedelta(days=2), return_library_id=city["b"].id))
    db.session.commit()
    assert count_rows(Loan, Loan.item_id == item_id) == 2
    assert count_rows(Loan, Loan.item_id == item_id, Loan.returned_at.is_(None)) == 1

    # Once the first loan is returned, a new active loan of the item is accepted.
    desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=MONDAY + timedelta(days=3))
    db.session.commit()
    _insert_loan(via, dict(values, checked_out_at=MONDAY + timedelta(days=4)))
    db.session.commit()
    assert count_rows(Loan, Loan.item_id == item_id, Loan.returned_at.is_(None)) == 1
    assert count_rows(Loan, Loan.item_id == item_id) == 3


# --- 4. an audited override --------------------------------------------------------------------------------

def test_override_is_audited_with_reason_and_codes_but_no_personal_data(city: dict) -> None:
    dewi = make_patron("Dewi Lestari", city["a"], phone="0812-3456-7890", email="dewi@example.id",
                       address="Jl. Mulawarman No. 7, Samarinda", now=MONDAY)
    db.session.add(CirculationRule(library_id=city["a"].id, category_code="umum", item_type="*", loan_days=14,
                                   max_loans_library=1, max_loans_city=5))
    make_record("Ronggeng Dukuh Paruk", city["a"], barcode="A-0003")
    db.session.commit()
    lend(city, who="siti")  # another member's loan does not count towards dewi's limit
    first = desk.checkout(actor=city["desk_a"], card_number=dewi.card_number, barcode="A-0002",
                          library_id=city["a"].id, now=MONDAY)
    fees.charge(actor=city["desk_a"], patron_id=dewi.id, library_id=city["a"].id, kind=FeeKind.CARD,
                amount=15000, description="Kartu hilang", now=MONDAY)
    db.session.commit()
    assert first.created and first.overridden == []
    with pytest.raises(CheckFailed) as refused:  # the desk role may not override
        desk.checkout(actor=city["desk_a"], card_number=dewi.card_number, barcode="A-0003", library_id=city["a"].id,
                      now=MONDAY, override_reason="Untuk lomba membaca")
    db.session.rollback()
    assert refused.value.codes == ["fees", "library_limit"]

    reason = "Untuk lomba membaca tingkat kota"
    result = desk.checkout(actor=city["head_a"], card_number=dewi.card_number, barcode="A-0003",
                           library_id=city["a"].id, now=MONDAY + timedelta(hours=1), override_reason=reason)
    db.session.commit()
    assert result.created and result.overridden == ["fees", "library_limit"]
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "loan.checkout",
                                                       AuditEvent.object_id == str(result.loan.id))).all()
    assert len(rows) == 1
    event = rows[0]
    assert event.details["override"] == ["fees", "library_limit"] and event.details["reason"] == reason
    assert event.actor_label == "head.a" and event.library_id == city["a"].id
    everything = json.dumps({c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns}, default=str)
    for personal in (dewi.name, "Dewi", dewi.phone, "81234567890", dewi.email, "Mulawarman", dewi.card_number):
        assert personal not in everything, personal


# --- 5. the return receipt ---------------------------------------------------------------------------------

def test_return_receipt_shows_item_library_and_fine_but_no_contact_details(city: dict, client: FlaskClient) -> None:
    dewi = make_patron("Dewi Lestari", city["a"], phone="0812-3456-7890", email="dewi@example.id",
                       address="Jl. Mulawarman No. 7, Samarinda", history_opt_in=True, now=MONDAY)
    make_staff("meja.b", Role.CIRCULATION, city["b"])
    db.session.commit()
    late = desk.checkout(actor=city["desk_a"], card_number=dewi.card_number, barcode="A-0001",
                         library_id=city["a"].id, now=MONDAY)
    on_time = desk.checkout(actor=city["desk_a"], card_number=dewi.card_number, barcode="A-0002",
                            library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    back = desk.checkin(actor=city["desk_b"], barcode="A-0001", library_id=city["b"].id, now=LATE_RETURN)
    desk.checkin(actor=city["desk_b"], barcode="A-0002", library_id=city["b"].id, now=MONDAY + timedelta(days=1))
    db.session.commit()
    assert back.fee is not None and back.fee.amount == 4000
    assert late.loan.patron_id == dewi.id  # the member kept a history, so the receipt could reach them

    login(client, "meja.b")
    response = client.get(f"/circulation/loans/{late.loan.id}/receipt")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    receipt = page.split('<article class="receipt')[1].split("</article>")[0]
    assert "Laskar Pelangi" in receipt and "A-0001" in receipt
    assert city["b"].name in receipt and city["a"].name not in receipt  # returned at B, lent at A
    assert "Denda" in receipt and "Rp 4.000" in receipt
    for personal in (dewi.phone, "3456-7890", "81234567890", dewi.address, "Mulawarman", dewi.email):
        assert personal not in page, personal

    plain = client.get(f"/circulation/loans/{on_time.loan.id}/receipt").get_data(as_text=True)
    plain_receipt = plain.split('<article class="receipt')[1].split("</article>")[0]
    assert "Bumi Manusia" in plain_receipt and "A-0002" in plain_receipt
    assert "Denda" not in plain_receipt and "Rp " not in plain_receipt


# --- 6. cancelling a hold whose copy is on the shelf ----------------------------------------------------

def _ready_then_waiting(city: dict, second_pickup: str) -> tuple[Hold, Hold]:
    """Siti's hold captures A-0001 on A's shelf; a second patron waits behind her."""
    ani = make_patron("Ani Wulandari", city[second_pickup], now=MONDAY)
    first = holds.place(actor=city["desk_a"], patron=city["siti"], record_id=city["record"].id,
                        pickup_library_id=city["a"].id, now=MONDAY)
    second = holds.place(actor=city[f"desk_{second_pickup}"], patron=ani, record_id=city["record"].id,
                         pickup_library_id=city[second_pickup].id, now=MONDAY + timedelta(minutes=5))
    db.session.commit()
    desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=MONDAY + timedelta(hours=1))
    db.session.commit()
    assert first.status == HoldStatus.READY and first.captured_item_id == city["item"].id
    assert second.status == HoldStatus.WAITING
    assert city["item"].status == ItemStatus.ON_HOLD_SHELF
    return first, second


def test_cancelling_a_ready_hold_gives_the_copy_to_the_next_hold_at_the_same_library(city: dict) -> None:
    first, second = _ready_then_waiting(city, "a")
    holds.cancel(actor=city["desk_a"], hold_id=first.id, now=MONDAY + timedelta(hours=2), reason="Tidak jadi")
    db.session.commit()
    for row in (first, second, city["item"]):
        db.session.refresh(row)
    assert first.status == HoldStatus.CANCELLED
    assert second.status == HoldStatus.READY and second.captured_item_id == city["item"].id
    assert second.shelf_until is not None and second.ready_at == MONDAY + timedelta(hours=2)
    assert city["item"].status == ItemStatus.ON_HOLD_SHELF and city["item"].location_library_id == city["a"].id
    assert count_rows(Transit) == 0
    assert count_rows(Notice, Notice.dedupe_key == f"hold_ready:{second.id}") == 1  # the next patron is told


def test_cancelling_a_ready_hold_sends_the_copy_to_the_next_holds_pickup_library(city: dict) -> None:
    first, second = _ready_then_waiting(city, "b")
    holds.cancel(actor=city["desk_a"], hold_id=first.id, now=MONDAY + timedelta(hours=2))
    db.session.commit()
    for row in (first, second, city["item"]):
        db.session.refresh(row)
    assert first.status == HoldStatus.CANCELLED
    assert second.status == HoldStatus.IN_TRANSIT and second.captured_item_id == city["item"].id
    assert city["item"].status == ItemStatus.IN_TRANSIT
    transits = db.session.scalars(select(Transit)).all()
    assert [(t.item_id, t.from_library_id, t.to_library_id, t.reason, t.hold_id) for t in transits] == [
        (city["item"].id, city["a"].id, city["b"].id, "hold", second.id)]
    arrived = desk.checkin(actor=city["desk_b"], barcode="A-0001", library_id=city["b"].id,
                           now=MONDAY + timedelta(days=1))
    db.session.commit()
    assert arrived.action == "hold_shelf" and arrived.hold.id == second.id and second.status == HoldStatus.READY


def test_cancelling_a_ready_hold_with_nobody_waiting_puts_the_copy_back_on_the_shelf(city: dict) -> None:
    first, second = _ready_then_waiting(city, "a")
    holds.cancel(actor=city["desk_a"], hold_id=second.id, now=MONDAY + timedelta(hours=2))
    db.session.commit()
    holds.cancel(actor=city["desk_a"], hold_id=first.id, now=MONDAY + timedelta(hours=3))
    db.session.commit()
    for row in (first, second, city["item"]):
        db.session.refresh(row)
    assert first.status == second.status == HoldStatus.CANCELLED
    assert city["item"].status == ItemStatus.AVAILABLE and city["item"].location_library_id == city["a"].id
    assert count_rows(Hold, Hold.status.in_(holds.OPEN)) == 0 and count_rows(Transit) == 0
    # On the shelf means lendable to anyone again.
    assert lend(city, who="budi", barcode="A-0001", at=MONDAY + timedelta(hours=4)).created
