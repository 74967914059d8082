"""Correctness under load (R1, R3): many desks at once, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from catalog.models import ItemStatus
from catalog.services import items
from circulation.models import Hold, HoldStatus, Loan
from circulation.services import desk, holds
from circulation.services.common import CheckFailed
from ils.authz import Actor
from ils.extensions import db
from ils.models import LibraryType, Role
from tests.factories import SYSTEM, WEEKDAY_HOURS, make_library, make_patron, make_record

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 WITA


def run_at_once(app: Flask, count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; each gets its own app context and session."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def one(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[i] = work(i)
                db.session.commit()
            except Exception as exc:  # the refusal is the result under test
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_fifty_desks_lending_one_copy_make_one_loan(ctx: Flask) -> None:
    library = make_library("PKB", LibraryType.UMUM_KOTA, opening_hours=WEEKDAY_HOURS)
    make_record("Laskar Pelangi", library, barcode="COPY-1")
    cards = [make_patron(f"Pembaca {i}", library).card_number for i in range(50)]
    db.session.commit()
    actor = Actor(label="desk", role=Role.CIRCULATION, library_id=library.id)
    library_id = library.id
    db.session.remove()

    results = run_at_once(ctx, 50, lambda i: desk.checkout(actor=actor, card_number=cards[i], barcode="COPY-1",
                                                           library_id=library_id, now=NOW).loan.id)
    loans = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, CheckFailed)]
    assert len(loans) == 1 and len(refusals) == 49, [type(r).__name__ for r in results]
    assert all(r.codes == ["item_available"] and r.failed[0].hard for r in refusals)
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1
    assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))) == 1


def test_the_same_checkout_repeated_concurrently_is_one_loan(ctx: Flask) -> None:
    library = make_library("PKB", LibraryType.UMUM_KOTA, opening_hours=WEEKDAY_HOURS)
    make_record("Laskar Pelangi", library, barcode="COPY-1")
    card = make_patron("Siti", library).card_number
    db.session.commit()
    actor = Actor(label="desk", role=Role.CIRCULATION, library_id=library.id)
    library_id = library.id
    db.session.remove()

    results = run_at_once(ctx, 10, lambda i: desk.checkout(
        actor=actor, card_number=card, barcode="COPY-1", library_id=library_id, now=NOW,
        request_key="scan-7f3a" if i % 3 else None).loan.id)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1


def test_two_copies_checked_in_at_once_fill_one_hold_once(ctx: Flask) -> None:
    a = make_library("KEL-A", LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS)
    b = make_library("KEL-B", LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS)
    record, _ = make_record("Bumi Manusia", a, barcode="A-1")
    items.add_item(record_id=record.id, library_id=b.id, data=items.ItemInput(barcode="B-1"), actor=SYSTEM,
                   today=NOW.date())
    reader_a, reader_b = make_patron("Ani", a), make_patron("Budi", b)
    waiting = make_patron("Citra", a)
    desk_a = Actor(label="desk.a", role=Role.CIRCULATION, library_id=a.id)
    desk_b = Actor(label="desk.b", role=Role.CIRCULATION, library_id=b.id)
    desk.checkout(actor=desk_a, card_number=reader_a.card_number, barcode="A-1", library_id=a.id, now=NOW)
    desk.checkout(actor=desk_b, card_number=reader_b.card_number, barcode="B-1", library_id=b.id, now=NOW)
    hold = holds.place(actor=desk_a, patron=waiting, record_id=record.id, pickup_library_id=a.id, now=NOW)
    db.session.commit()
    hold_id, a_id, b_id = hold.id, a.id, b.id
    db.session.remove()

    work = [(desk_a, "A-1", a_id), (desk_b, "B-1", b_id)]
    results = run_at_once(ctx, 2, lambda i: desk.checkin(actor=work[i][0], barcode=work[i][1],
                                                         library_id=work[i][2], now=NOW).action)
    # Whichever desk wins takes the hold (A's copy to A's shelf, or B's copy into transit to A); the
    # other copy simply goes back on its own shelf.
    assert sorted(results) in (["hold_shelf", "shelve"], ["shelve", "transit_hold"]), results
    hold = db.session.get(Hold, hold_id)
    assert hold.status in (HoldStatus.READY, HoldStatus.IN_TRANSIT) and hold.captured_item_id is not None
    assert db.session.scalar(select(func.count()).select_from(Hold).where(Hold.captured_item_id.is_not(None))) == 1
    statuses = sorted(s.value for s in db.session.scalars(select(items.Item.status)))
    assert statuses in (sorted([ItemStatus.ON_HOLD_SHELF.value, ItemStatus.AVAILABLE.value]),
                        sorted([ItemStatus.AVAILABLE.value, ItemStatus.IN_TRANSIT.value]))
