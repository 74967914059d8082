"""Desk services: checkout, check-in, renewal, fines, holds and transits, through the services."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import func, select

from catalog.models import ItemStatus, ItemType
from circulation.models import CirculationRule, Fee, Hold, HoldStatus, Loan, Transit
from circulation.services import desk, fees, holds
from circulation.services.common import CheckFailed
from ils.authz import Actor
from ils.errors import Forbidden
from ils.extensions import db
from ils.models import LibraryType, Role
from tests.factories import SYSTEM, WEEKDAY_HOURS, make_library, make_patron, make_record

# Monday 16 March 2026, 10:00 WITA. The week after holds Nyepi (19th) and Idul Fitri with cuti bersama
# (18th, 20th-24th), so a 7-day loan is due on Wednesday 25 March at closing (16:00 WITA = 08:00Z).
MONDAY = datetime(2026, 3, 16, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def city(ctx: Flask) -> dict:
    a = make_library("KEL-A", LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS)
    b = make_library("KEL-B", LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS)
    record, item = make_record("Laskar Pelangi", a, barcode="A-0001")
    _, item2 = make_record("Bumi Manusia", a, barcode="A-0002")
    from catalog.services import items

    copy_b = items.add_item(record_id=record.id, library_id=b.id, data=items.ItemInput(barcode="B-0001"),
                            actor=SYSTEM, today=MONDAY.date())
    siti = make_patron("Siti Aminah", a, now=MONDAY)
    budi = make_patron("Budi Santoso", b, now=MONDAY)
    db.session.commit()
    return {"a": a, "b": b, "record": record, "item": item, "item2": item2, "copy_b": copy_b, "siti": siti,
            "budi": budi, "desk_a": Actor(label="desk.a", role=Role.CIRCULATION, library_id=a.id),
            "desk_b": Actor(label="desk.b", role=Role.CIRCULATION, library_id=b.id),
            "head_a": Actor(label="head.a", role=Role.LIBRARIAN, library_id=a.id)}


def lend(city: dict, who: str = "siti", barcode: str = "A-0001", at: datetime = MONDAY, desk_: str = "desk_a", **kw):
    library = city[desk_].library_id
    result = desk.checkout(actor=city[desk_], card_number=city[who].card_number, barcode=barcode,
                           library_id=library, now=at, **kw)
    db.session.commit()
    return result


def test_checkout_due_date_skips_idul_fitri_and_cuti_bersama(city: dict) -> None:
    result = lend(city)
    assert result.created
    assert result.loan.due_at == datetime(2026, 3, 25, 8, 0, tzinfo=timezone.utc)
    assert city["item"].status == ItemStatus.ON_LOAN
    assert result.loan.terms["loan_days"] == 7 and result.loan.patron_category == "umum"


def test_repeated_scan_and_request_key_return_the_same_loan(city: dict) -> None:
    first = lend(city, request_key="scan-1")
    again = lend(city, request_key="scan-1")
    plain_repeat = lend(city)
    assert not again.created and not plain_repeat.created
    assert again.loan.id == first.loan.id == plain_repeat.loan.id
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1


def test_another_patron_is_refused_with_a_hard_check(city: dict) -> None:
    lend(city)
    with pytest.raises(CheckFailed) as refused:
        lend(city, who="budi", request_key="other")
    assert refused.value.codes == ["item_available"]
    assert refused.value.failed[0].hard
    assert refused.value.message == refused.value.failed[0].message != ""


def test_limits_and_override_need_a_reason_and_the_right_role(city: dict) -> None:
    rule = db.session.scalar(select(CirculationRule).where(CirculationRule.item_type == "*",
                                                           CirculationRule.library_id.is_(None)))
    db.session.add(CirculationRule(library_id=city["a"].id, category_code="umum", item_type="*", loan_days=14,
                                   max_loans_library=1, max_loans_city=5))
    db.session.commit()
    lend(city)
    with pytest.raises(CheckFailed) as refused:
        lend(city, barcode="A-0002")
    assert refused.value.codes == ["library_limit"]
    with pytest.raises(CheckFailed):  # the desk role may not override
        lend(city, barcode="A-0002", override_reason="Guru meminjam untuk kelas")
    with pytest.raises(CheckFailed):  # no reason, no override
        lend(city, barcode="A-0002", desk_="head_a")
    result = lend(city, barcode="A-0002", desk_="head_a", override_reason="Guru meminjam untuk kelas")
    assert result.overridden == ["library_limit"]
    assert result.loan.override_reason == "Guru meminjam untuk kelas"
    assert result.loan.terms["loan_days"] == 14 and rule.loan_days == 7  # the library's own row won


def test_reference_copies_stay_in_the_library(city: dict) -> None:
    city["item2"].item_type = ItemType.REFERENSI
    db.session.commit()
    with pytest.raises(CheckFailed) as refused:
        lend(city, barcode="A-0002")
    assert refused.value.codes == ["loanable"]


def test_blocked_and_expired_cards_are_refused_by_name(city: dict) -> None:
    city["siti"].expiry_date = MONDAY.date() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(CheckFailed) as refused:
        lend(city)
    assert refused.value.codes == ["card_valid"]
    assert "15-03-2026" in refused.value.message


def test_checkin_charges_fines_on_open_days_only_and_anonymises(city: dict) -> None:
    loan = lend(city).loan
    # Returned Sunday 5 April 10:00 WITA: late open days are 26-28 March, 30 March-2 April, 4 April
    # (Good Friday 3 April and the Sundays are closed): 8 days x Rp 500.
    back = datetime(2026, 4, 5, 2, 0, tzinfo=timezone.utc)
    result = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=back)
    db.session.commit()
    assert result.fee is not None and result.fee.amount == 4000
    assert result.action == "shelve" and city["item"].status == ItemStatus.AVAILABLE
    db.session.refresh(loan)
    assert loan.returned_at == back and loan.patron_id is None and loan.anonymised
    assert fees.balance(city["siti"].id) == 4000  # the fee keeps the patron link


def test_history_opt_in_keeps_the_returned_loan(city: dict) -> None:
    city["siti"].history_opt_in = True
    loan = lend(city).loan
    desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=MONDAY + timedelta(days=1))
    db.session.commit()
    db.session.refresh(loan)
    assert loan.patron_id == city["siti"].id and not loan.anonymised


def test_return_at_another_library_goes_home_in_transit(city: dict) -> None:
    lend(city)
    result = desk.checkin(actor=city["desk_b"], barcode="A-0001", library_id=city["b"].id,
                          now=MONDAY + timedelta(days=2))
    db.session.commit()
    assert result.action == "transit_home" and result.destination.id == city["a"].id
    assert city["item"].status == ItemStatus.IN_TRANSIT
    arrived = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id,
                           now=MONDAY + timedelta(days=3))
    db.session.commit()
    assert arrived.action == "shelve" and city["item"].status == ItemStatus.AVAILABLE
    transit = db.session.scalar(select(Transit))
    assert transit.received_at is not None


def test_hold_blocks_renewal_then_goes_to_the_pickup_shelf(city: dict) -> None:
    loan = lend(city).loan
    hold = holds.place(actor=city["desk_b"], patron=city["budi"], record_id=city["record"].id,
                       pickup_library_id=city["b"].id, item_id=city["item"].id, now=MONDAY)
    db.session.commit()
    with pytest.raises(CheckFailed) as refused:
        desk.renew(actor=city["desk_a"], loan_id=loan.id, now=MONDAY + timedelta(days=1))
    assert refused.value.codes == ["no_holds"]
    db.session.rollback()
    result = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id,
                          now=MONDAY + timedelta(days=2))
    db.session.commit()
    assert result.action == "transit_hold" and hold.status == HoldStatus.IN_TRANSIT
    arrived = desk.checkin(actor=city["desk_b"], barcode="A-0001", library_id=city["b"].id,
                           now=MONDAY + timedelta(days=3))
    db.session.commit()
    assert arrived.action == "hold_shelf" and hold.status == HoldStatus.READY
    assert city["item"].status == ItemStatus.ON_HOLD_SHELF
    # Thursday 19 March (Nyepi) ready; three open days to collect: 25, 26, 27 March.
    assert str(hold.shelf_until) == "2026-03-27"
    with pytest.raises(CheckFailed) as refused:
        lend(city, who="siti", barcode="A-0001")
    assert "held_for_other" in refused.value.codes
    taken = lend(city, who="budi", barcode="A-0001", desk_="desk_b", at=MONDAY + timedelta(days=4))
    db.session.refresh(hold)
    assert taken.created and hold.status == HoldStatus.FULFILLED and hold.loan_id == taken.loan.id


def test_renewal_extends_from_today_and_counts(city: dict) -> None:
    loan = lend(city).loan
    renewed = desk.renew(actor=city["desk_a"], loan_id=loan.id, now=MONDAY + timedelta(days=6))
    db.session.commit()
    # Sunday 22 March + 7 = Sunday 29 March (closed) -> Monday 30 March 16:00 WITA.
    assert renewed.due_at == datetime(2026, 3, 30, 8, 0, tzinfo=timezone.utc) and renewed.renewals == 1
    with pytest.raises(CheckFailed) as refused:
        desk.renew(actor=city["desk_a"], loan_id=loan.id, now=MONDAY + timedelta(days=7))
    assert refused.value.codes == ["renewals_left"]


def test_title_hold_is_filled_by_the_first_copy_checked_in(city: dict) -> None:
    lend(city)
    lend(city, who="siti", barcode="B-0001", desk_="desk_b")
    hold = holds.place(actor=city["desk_a"], patron=city["budi"], record_id=city["record"].id,
                       pickup_library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    assert holds.queue_position(hold) == 1
    desk.checkin(actor=city["desk_b"], barcode="B-0001", library_id=city["b"].id, now=MONDAY + timedelta(days=1))
    db.session.commit()
    other = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id,
                         now=MONDAY + timedelta(days=1))
    db.session.commit()
    assert hold.status == HoldStatus.IN_TRANSIT and hold.captured_item_id == city["copy_b"].id
    assert other.action == "shelve"  # one hold captures one copy
    assert db.session.scalar(select(func.count()).select_from(Hold).where(Hold.captured_item_id.is_not(None))) == 1


def test_hold_queue_is_first_come_first_served_and_cancel_moves_on(city: dict) -> None:
    lend(city, who="siti", barcode="B-0001", desk_="desk_b")
    city["item"].status = ItemStatus.ON_LOAN
    p1 = make_patron("Ani", city["a"], now=MONDAY)
    p2 = make_patron("Rudi", city["a"], now=MONDAY)
    h1 = holds.place(actor=city["desk_a"], patron=p1, record_id=city["record"].id, pickup_library_id=city["a"].id,
                     now=MONDAY)
    h2 = holds.place(actor=city["desk_a"], patron=p2, record_id=city["record"].id, pickup_library_id=city["a"].id,
                     now=MONDAY + timedelta(minutes=1))
    db.session.commit()
    assert (holds.queue_position(h1), holds.queue_position(h2)) == (1, 2)
    desk.checkin(actor=city["desk_b"], barcode="B-0001", library_id=city["b"].id, now=MONDAY + timedelta(days=1))
    db.session.commit()
    assert h1.captured_item_id == city["copy_b"].id and h2.status == HoldStatus.WAITING
    assert holds.queue_position(h2) == 1
    holds.cancel(actor=city["desk_a"], hold_id=h1.id, now=MONDAY + timedelta(days=1), reason="patron asked")
    db.session.commit()
    assert h1.status == HoldStatus.CANCELLED


def test_hold_checks_refuse_duplicates_and_titles_on_loan(city: dict) -> None:
    lend(city)
    with pytest.raises(CheckFailed) as refused:
        holds.place(actor=city["desk_a"], patron=city["siti"], record_id=city["record"].id,
                    pickup_library_id=city["a"].id, now=MONDAY)
    assert refused.value.codes == ["not_on_loan"]
    holds.place(actor=city["desk_a"], patron=city["budi"], record_id=city["record"].id,
                pickup_library_id=city["a"].id, now=MONDAY)
    with pytest.raises(CheckFailed) as refused:
        holds.place(actor=city["desk_a"], patron=city["budi"], record_id=city["record"].id,
                    pickup_library_id=city["a"].id, now=MONDAY)
    assert refused.value.codes == ["no_duplicate"]


def test_shelf_expiry_passes_the_copy_on(city: dict) -> None:
    hold = holds.place(actor=city["desk_a"], patron=city["budi"], record_id=city["record"].id,
                       item_id=city["item"].id, pickup_library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=MONDAY)
    db.session.commit()
    # Ready on Monday 16 March: three open days to collect are the 17th, 25th and 26th (18-24 closed).
    assert hold.status == HoldStatus.READY and str(hold.shelf_until) == "2026-03-26"
    assert holds.expire_shelf(now=datetime(2026, 3, 26, 8, 0, tzinfo=timezone.utc), actor=SYSTEM) == 0
    assert holds.expire_shelf(now=datetime(2026, 3, 27, 1, 0, tzinfo=timezone.utc), actor=SYSTEM) == 1
    db.session.commit()
    assert hold.status == HoldStatus.EXPIRED and city["item"].status == ItemStatus.AVAILABLE


def test_payments_partial_and_waiver_and_cash_report(city: dict) -> None:
    fee = fees.charge(actor=city["desk_a"], patron_id=city["siti"].id, library_id=city["a"].id,
                      kind=__import__("circulation.models", fromlist=["FeeKind"]).FeeKind.CARD, amount=7500,
                      description="Kartu hilang", now=MONDAY)
    receipt = fees.pay(actor=city["desk_a"], patron_id=city["siti"].id, amount=5000, library_id=city["a"].id,
                       now=MONDAY)
    db.session.commit()
    assert receipt.number == "KEL-A-20260316-0001" and fee.balance == 2500 and fee.settled_at is None
    with pytest.raises(Forbidden):
        fees.waive(actor=city["desk_a"], fee_id=fee.id, amount=2500, reason="x", now=MONDAY)
    fees.waive(actor=city["head_a"], fee_id=fee.id, amount=2500, reason="Keringanan pelajar", now=MONDAY)
    db.session.commit()
    assert fee.balance == 0 and fee.settled_at is not None
    report = fees.cash_report(actor=city["head_a"], library_id=city["a"].id, day=MONDAY.date())
    assert report.total == 5000 and report.waived == 2500 and report.by("method") == {"cash": 5000}


def test_lost_item_is_charged_and_forgiven_when_found(city: dict) -> None:
    city["item"].price = 85000
    loan = lend(city).loan
    fee = desk.mark_lost(actor=city["desk_a"], loan_id=loan.id, now=MONDAY + timedelta(days=30))
    db.session.commit()
    assert fee.amount == 85000 and city["item"].status == ItemStatus.LOST
    found = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id,
                         now=MONDAY + timedelta(days=40))
    db.session.commit()
    assert fee.waived == 85000 and found.action == "shelve"
    assert city["item"].status == ItemStatus.AVAILABLE


def test_explainer_names_the_row_and_every_check(city: dict) -> None:
    explanation = desk.explain(actor=city["desk_a"], card_number=city["siti"].card_number, barcode="A-0001",
                               library_id=city["a"].id, now=MONDAY)
    assert explanation.allowed
    assert explanation.resolution.rule.library_id is None
    assert [c.code for c in explanation.checks] == ["patron_active", "card_valid", "fees", "overdue", "loanable",
                                                     "other_libraries", "item_available", "held_for_other",
                                                     "library_limit", "city_limit"]
    assert explanation.due_at == datetime(2026, 3, 25, 8, 0, tzinfo=timezone.utc)
    assert db.session.scalar(select(func.count()).select_from(Fee)) == 0


def test_settings_and_calendars_are_shared_for_a_while_and_dropped_on_change(city: dict, app: Flask,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With the process cache on, a second transaction reads no settings or closures; a change drops it."""
    from sqlalchemy import event

    from circulation.services import settings as setting_services
    from circulation.services.common import calendar_for, settings_for

    monkeypatch.setitem(app.config, "CIRCULATION_CACHE_SECONDS", 30)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        library_id = city["a"].id
        assert calendar_for(library_id, MONDAY.date()).is_open(MONDAY.date())
        db.session.commit()
        statements.clear()
        assert settings_for(library_id).fines_skip_closed and calendar_for(library_id, MONDAY.date())
        assert not [s for s in statements if "circ_settings" in s or "circ_closure" in s]
        setting_services.add_closure(actor=city["head_a"], library_id=library_id, on_date=MONDAY.date(),
                                     closed=True, reason="Banjir", now=MONDAY)
        db.session.commit()
        assert not calendar_for(library_id, MONDAY.date()).is_open(MONDAY.date())  # seen at once here
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
