"""R3: holds and loans stay consistent through a long random run of desk actions over three libraries.

A seeded random walk (no extra dependency) of checkouts, check-ins at any library, renewals, holds
placed and cancelled, shelf expiry and lost items. After every step the invariants are checked
against the database: one active loan per copy, a copy fills at most one hold, a captured hold has
its copy, item status agrees with loans, holds and transits, and queue positions are 1..n.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import func, select

from catalog.models import Item, ItemStatus
from catalog.services import items as item_services
from circulation.models import Hold, HoldStatus, Loan, Transit
from circulation.services import desk, fees, holds
from ils.authz import Actor
from ils.errors import IlsError
from ils.extensions import db
from ils.models import LibraryType, Role
from tests.factories import SYSTEM, WEEKDAY_HOURS, make_library, make_patron, make_record

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday, 09:00 WITA
STEPS = 500


def check_invariants() -> None:
    """Every invariant of loans, holds, transits and item status, read from the database."""
    active = Counter(db.session.scalars(select(Loan.item_id).where(Loan.returned_at.is_(None))))
    assert all(n == 1 for n in active.values()), active
    captured = Counter(db.session.scalars(select(Hold.captured_item_id).where(
        Hold.status.in_([HoldStatus.IN_TRANSIT, HoldStatus.READY]))))
    assert None not in captured and all(n == 1 for n in captured.values()), captured
    transits = Counter(db.session.scalars(select(Transit.item_id).where(Transit.received_at.is_(None))))
    assert all(n == 1 for n in transits.values()), transits
    for item in db.session.scalars(select(Item)):
        if item.id in active:
            assert item.status == ItemStatus.ON_LOAN, (item.barcode, item.status)
        elif item.status == ItemStatus.ON_LOAN:
            raise AssertionError(f"{item.barcode} on loan without a loan")
        if item.status == ItemStatus.ON_HOLD_SHELF:
            assert db.session.scalar(select(func.count()).select_from(Hold).where(
                Hold.captured_item_id == item.id, Hold.status == HoldStatus.READY)) == 1, item.barcode
        if item.status == ItemStatus.IN_TRANSIT:
            assert transits[item.id] == 1, item.barcode
        elif transits[item.id]:
            raise AssertionError(f"{item.barcode} has an open transit but is {item.status}")
    waiting = db.session.scalars(select(Hold).where(Hold.status == HoldStatus.WAITING)).all()
    by_title: dict[int, list[int]] = {}
    for hold in waiting:
        by_title.setdefault(hold.record_id, []).append(holds.queue_position(hold))
    for positions in by_title.values():
        assert sorted(positions) == list(range(1, len(positions) + 1)), positions


@pytest.mark.parametrize("seed", [2026, 6474, 17])
def test_a_long_random_run_keeps_every_invariant(ctx: Flask, seed: int) -> None:
    """500 random desk actions; the invariants hold after each one, refused or not."""
    rng = random.Random(seed)
    libraries = [make_library(code, LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS)
                 for code in ("KEL-A", "KEL-B", "KEL-C")]
    barcodes: list[str] = []
    records = []
    for n in range(6):
        record, _ = make_record(f"Judul Acak {n}", libraries[n % 3], barcode=f"R{n}-0")
        records.append(record)
        barcodes.append(f"R{n}-0")
        for copy in range(1, 3):
            library = libraries[(n + copy) % 3]
            item_services.add_item(record_id=record.id, library_id=library.id, actor=SYSTEM, today=START.date(),
                                   data=item_services.ItemInput(barcode=f"R{n}-{copy}"))
            barcodes.append(f"R{n}-{copy}")
    members = [make_patron(f"Anggota {i}", libraries[i % 3], now=START) for i in range(9)]
    db.session.commit()
    desks = [Actor(label=f"desk.{lib.code}", role=Role.LIBRARIAN, library_id=lib.id) for lib in libraries]
    now = START
    done: Counter[str] = Counter()
    for _ in range(STEPS):
        now += timedelta(hours=rng.choice([1, 3, 7, 26]))
        at = rng.randrange(3)
        action = rng.choice(["checkout"] * 4 + ["checkin"] * 3 + ["renew", "hold", "hold", "cancel", "expire",
                                                                   "lost", "pay"])
        try:
            if action == "checkout":
                # Mostly a copy on the shelf (as at a real desk), sometimes any copy (refusals are steps too).
                shelf = db.session.scalars(select(Item.barcode).where(Item.status == ItemStatus.AVAILABLE)).all()
                barcode = rng.choice(shelf) if shelf and rng.random() < 0.7 else rng.choice(barcodes)
                desk.checkout(actor=desks[at], card_number=rng.choice(members).card_number,
                              barcode=barcode, library_id=libraries[at].id, now=now)
            elif action == "checkin":
                desk.checkin(actor=desks[at], barcode=rng.choice(barcodes), library_id=libraries[at].id, now=now)
            elif action == "renew":
                loans = db.session.scalars(select(Loan.id).where(Loan.returned_at.is_(None))).all()
                if loans:
                    desk.renew(actor=desks[at], loan_id=rng.choice(loans), now=now)
            elif action == "hold":
                record = rng.choice(records)
                copy = rng.choice([None, *[i.id for i in record.items]])
                holds.place(actor=desks[at], patron=rng.choice(members), record_id=record.id, item_id=copy,
                            pickup_library_id=libraries[rng.randrange(3)].id, now=now)
            elif action == "cancel":
                open_holds = db.session.scalars(select(Hold.id).where(Hold.status.in_(holds.OPEN))).all()
                if open_holds:
                    holds.cancel(actor=Actor.system("test"), hold_id=rng.choice(open_holds), now=now, reason="acak")
            elif action == "expire":
                holds.expire_shelf(now=now, actor=SYSTEM)
            elif action == "lost":
                loans = db.session.scalars(select(Loan.id).where(Loan.returned_at.is_(None))).all()
                if loans and rng.random() < 0.1:
                    desk.mark_lost(actor=desks[at], loan_id=rng.choice(loans), now=now)
            elif action == "pay":  # members settle up, so fines do not block everyone for the rest of the run
                member = rng.choice(members)
                owed = fees.balance(member.id)
                if owed:
                    fees.pay(actor=desks[at], patron_id=member.id, amount=owed, library_id=libraries[at].id, now=now)
            db.session.commit()
            done[action] += 1
        except IlsError as exc:
            db.session.rollback()
            done[f"{action} refused"] += 1
            for code in getattr(exc, "codes", []):
                done[f"{action} refused: {code}"] += 1
        check_invariants()
    # The walk really exercised the paths (not only refusals).
    assert done["checkout"] > 25 and done["checkin"] > 40 and done["hold"] > 20, done
    assert db.session.scalar(select(func.count()).select_from(Hold).where(
        Hold.status == HoldStatus.FULFILLED)) > 0, done
    assert db.session.scalar(select(func.count()).select_from(Transit)) > 0, done
