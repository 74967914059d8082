"""SIP2 against the real circulation services: the PyPI sip2 client and the captured kiosk frames."""
from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from circulation.services import nik
from circulation.models import Loan, SipAccount
from circulation.services import patrons
from circulation.sip2 import start_in_thread
from circulation.sip2.protocol import parse_frame
from circulation.sip2.service import DatabaseBackend
from ils.extensions import db, sqlite_write_intent
from ils.models import AuditEvent, LibraryType
from ils.passwords import hash_password
from tests.factories import SYSTEM, WEEKDAY_HOURS, make_library, make_patron, make_record
from tests.test_sip2_server import Kiosk

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "protocol_captures" / "sip2_client_frames.txt"
PIN = "1234"


@pytest.fixture
def kiosk_city(ctx: Flask) -> Iterator[dict]:
    library = make_library("PKB", LibraryType.UMUM_KOTA, opening_hours=WEEKDAY_HOURS)
    record, item = make_record("Laskar Pelangi", library, barcode="39999000001")
    make_record("Bumi Manusia", library, barcode="39999000002")
    siti = make_patron("Siti Rahmawati", library, pin=PIN)
    budi = make_patron("Budi Santoso", library, pin="9999")
    db.session.add(SipAccount(login="sipuser", password_hash=hash_password("sippass"), library_id=library.id,
                              label="Kiosk lobby"))
    db.session.commit()
    # This test's session only reads from here on; on SQLite a writer's BEGIN IMMEDIATE here would
    # hold the lock the kiosk threads need. Reads see a snapshot, so asserts call fresh() first.
    token = sqlite_write_intent.set(False)
    server = start_in_thread("127.0.0.1", 0, DatabaseBackend(ctx))
    try:
        yield {"library": library, "siti": siti, "budi": budi, "server": server, "item": item}
    finally:
        server.stop()
        db.session.rollback()
        sqlite_write_intent.reset(token)


def fresh() -> None:
    """End this session's read transaction so the next read sees what the kiosk threads wrote."""
    db.session.rollback()


def _client(port: int):  # noqa: ANN202 - the PyPI client has no types
    wrapper_module = pytest.importorskip("Sip2.wrapper")
    return wrapper_module.Sip2Wrapper({
        "hostName": "127.0.0.1", "hostPort": port, "tlsEnable": False, "socketTimeout": 10,
        "institutionId": "PKB", "scLocation": "LOBI", "log": logging.getLogger("tests.sip2.client")}, True, "Sip2")


def test_a_kiosk_session_with_the_pypi_client_lends_renews_and_returns(kiosk_city: dict) -> None:
    card = kiosk_city["siti"].card_number
    wrapper = _client(kiosk_city["server"].port)
    try:
        wrapper.login_device("sipuser", "sippass", True)
        assert wrapper.return_sc_status()["variable"]["AO"] == ["PKB"]
        assert wrapper.login_patron(card, PIN) is True
        info = wrapper.get_patron_status()
        assert info["variable"]["AE"] == ["Siti Rahmawati"] and info["variable"]["CQ"] == ["Y"]
        sip = wrapper.return_sip2()
        request = sip.sip_checkout_request("39999000001")
        out = sip.sip_checkout_response(sip.get_response(request))
        assert out["fixed"]["Ok"] == "1" and out["variable"]["AJ"] == ["Laskar Pelangi"]
        assert out["variable"]["AH"][0].strip()
        # The kiosk timed out and sends the very same checkout again: still one loan (R2, R7).
        again = sip.sip_checkout_response(sip.get_response(request))
        assert again["fixed"]["Ok"] == "1" and again["variable"]["BK"] == out["variable"]["BK"]
        fresh()
        assert db.session.scalar(select(func.count()).select_from(Loan)) == 1
        loan = db.session.scalar(select(Loan))
        assert loan.channel == "sip2" and loan.patron_id == kiosk_city["siti"].id
        assert wrapper.get_patron_chargedItems() == ["39999000001"]
        item = wrapper.sip_item_information("39999000001")
        assert item["fixed"]["CirculationStatus"] == "04" and item["variable"]["BG"] == ["PKB"]
        renewed = sip.sip_renew_response(sip.get_response(sip.sip_renew_request("39999000001")))
        assert renewed["fixed"]["Ok"] == "1"
        fresh()
        assert db.session.get(Loan, loan.id).renewals == 1
        refused = sip.sip_renew_response(sip.get_response(sip.sip_renew_request("39999000001")))
        assert refused["fixed"]["Ok"] == "0" and refused["variable"]["AF"][0]  # the rule allows one renewal
        fresh()
        assert db.session.get(Loan, loan.id).renewals == 1
        returned = wrapper.sip_item_checkin("39999000001")
        assert returned["fixed"]["Ok"] == "1"
        fresh()
        assert db.session.get(Loan, loan.id).returned_at is not None
        wrapper.sip_patron_session_end()
    finally:
        wrapper.disconnect()


def test_wrong_pin_and_blocked_patron_are_refused_and_no_block_is_recorded(kiosk_city: dict) -> None:
    budi = kiosk_city["budi"]
    with _writing():
        patrons.set_block(actor=SYSTEM, patron_id=budi.id, blocked=True, reason="Kartu dilaporkan hilang",
                          now=kiosk_city["item"].created_at)
        db.session.commit()
    k = Kiosk(kiosk_city["server"].port)
    try:
        assert parse_frame(k.ask("9300CNsipuser|COsippass|CPLOBI|")).fixed["ok"] == "1"
        tx = "20261127    100000"
        wrong = parse_frame(k.ask(f"11NN{tx}{' ' * 18}AOPKB|AA{kiosk_city['siti'].card_number}|AB39999000002|AC|AD0000|"))
        assert wrong.fixed["ok"] == "0" and "PIN" in wrong.get("AF")
        blocked = parse_frame(k.ask(f"11NN{tx}{' ' * 18}AOPKB|AA{budi.card_number}|AB39999000002|AC|AD9999|"))
        assert blocked.fixed["ok"] == "0" and "Kartu dilaporkan hilang" in blocked.get("AF")
        offline = parse_frame(k.ask(f"11NY{tx}{' ' * 18}AOPKB|AA{budi.card_number}|AB39999000002|AC|AD9999|"))
        assert offline.fixed["ok"] == "1"
        fresh()
        loan = db.session.scalar(select(Loan).where(Loan.patron_id == budi.id))
        assert loan.no_block
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "loan.checkout"))
        assert event.details["no_block"] is True and "patron_active" in event.details["override"]
    finally:
        k.socket.close()


def test_pins_never_reach_the_audit_log(kiosk_city: dict) -> None:
    k = Kiosk(kiosk_city["server"].port)
    try:
        k.ask("9300CNsipuser|COsippass|CPLOBI|")
        k.ask(f"6300120261127    100000          AOPKB|AA{kiosk_city['siti'].card_number}|AD{PIN}|BP1|BQ5|")
    finally:
        k.socket.close()
    fresh()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "patron.desk")) \
        == 0  # a kiosk lookup is the patron's own, not a staff view
    for event in db.session.scalars(select(AuditEvent)):
        assert PIN not in str(event.details) and "sippass" not in str(event.details)


@pytest.mark.skipif(not CAPTURES.exists(), reason="../shared/data/protocol_captures is not present")
def test_the_captured_client_frames_get_real_answers(kiosk_city: dict) -> None:
    """Frames a real sip2 1.1 client sent, replayed verbatim against the database backend."""
    siti = kiosk_city["siti"]
    with _writing():
        siti.card_number = "23529000000001"  # the card the captured client used
        db.session.commit()
    frames = [ast.literal_eval(line) for line in CAPTURES.read_text().splitlines() if line.startswith("'")]
    k = Kiosk(kiosk_city["server"].port)
    answers = {}
    try:
        for raw in frames:
            answers[raw[:2]] = parse_frame(_ask(k, raw))
    finally:
        k.socket.close()
    assert answers["93"].fixed["ok"] == "1"
    assert answers["63"].get("AE") == "Siti Rahmawati"
    assert answers["11"].fixed["ok"] == "1"  # 11NN with an all-blank nb due date
    assert answers["29"].fixed["ok"] == "1"
    assert answers["35"].code == "36"
    fresh()
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1


@contextmanager
def _writing() -> Iterator[None]:
    db.session.rollback()
    token = sqlite_write_intent.set(True)
    try:
        yield
    finally:
        sqlite_write_intent.reset(token)


def _ask(k: Kiosk, raw: str) -> bytes:
    k.send(raw.encode() + b"\r")
    return k.response()


def test_patron_status_never_carries_nik(kiosk_city: dict) -> None:
    siti = kiosk_city["siti"]
    with _writing():
        nik.set_nik(siti, "6474015506900001")
        db.session.commit()
    k = Kiosk(kiosk_city["server"].port)
    try:
        k.ask("9300CNsipuser|COsippass|CPLOBI|")
        reply = k.ask(f"6300120261127    100000          AOPKB|AA{siti.card_number}|AD{PIN}|BP1|BQ5|")
    finally:
        k.socket.close()
    assert parse_frame(reply).get("AE") == "Siti Rahmawati"
    assert b"6474015506900001" not in reply and b"NIK" not in reply.upper()


def test_a_verified_pin_is_remembered_briefly_and_only_that_pin(kiosk_city: dict,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The second checkout with the same PIN skips argon2; a wrong PIN is still checked and counted."""
    from circulation.services import patrons as patron_services

    calls: list[str] = []
    real = patron_services.check_pin
    monkeypatch.setattr(patron_services, "check_pin", lambda patron, pin, *, now: calls.append(pin) or real(
        patron, pin, now=now))
    card = kiosk_city["siti"].card_number
    k = Kiosk(kiosk_city["server"].port)
    try:
        k.ask("9300CNsipuser|COsippass|CPLOBI|")
        tx = "20261127    100000"
        for barcode in ("39999000001", "39999000002"):
            reply = parse_frame(k.ask(f"11NN{tx}{' ' * 18}AOPKB|AA{card}|AB{barcode}|AC|AD{PIN}|"))
            assert reply.fixed["ok"] == "1"
        assert calls == [PIN]  # argon2 once for two loans
        k.ask(f"35{tx}AOPKB|AA{card}|")  # end of the member's session: the PIN is forgotten
        k.ask(f"63001{tx}          AOPKB|AA{card}|AD{PIN}|BP1|BQ5|")
        assert calls == [PIN, PIN]
        wrong = parse_frame(k.ask(f"63001{tx}          AOPKB|AA{card}|AD9999|BP1|BQ5|"))
        assert wrong.get("CQ") == "N" and calls == [PIN, PIN, "9999"]  # a wrong PIN is always checked
    finally:
        k.socket.close()


def test_dates_are_the_kiosk_librarys_local_time(kiosk_city: dict) -> None:
    """A library in WIT (UTC+9): after login the due date (AH) and the transaction date are its local
    time, one hour ahead of the server's default WITA; before login the server's zone is used."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ils.models import Library

    with _writing():
        db.session.get(Library, kiosk_city["library"].id).timezone = "Asia/Jayapura"
        db.session.commit()
    k = Kiosk(kiosk_city["server"].port)
    try:
        before = parse_frame(k.ask("9900302.00"))
        assert parse_frame(k.ask("9300CNsipuser|COsippass|CPLOBI|")).fixed["ok"] == "1"
        tx = "20261127    100000"
        out = parse_frame(k.ask(f"11NN{tx}{' ' * 18}AOPKB|AA{kiosk_city['siti'].card_number}|AB39999000002|AC|AD{PIN}|"))
        assert out.fixed["ok"] == "1"
        fresh()
        loan = db.session.scalar(select(Loan).where(Loan.patron_id == kiosk_city["siti"].id))
        wit, wita = ZoneInfo("Asia/Jayapura"), ZoneInfo("Asia/Makassar")
        assert out.get("AH") == loan.due_at.astimezone(wit).strftime("%Y%m%d    %H%M%S")
        assert out.get("AH") != loan.due_at.astimezone(wita).strftime("%Y%m%d    %H%M%S")
        stamp = datetime.strptime(out.fixed["transaction_date"], "%Y%m%d    %H%M%S")
        wall_wit = datetime.now(wit).replace(tzinfo=None)
        assert abs((stamp - wall_wit).total_seconds()) < 120
        old = datetime.strptime(before.fixed["date_time_sync"], "%Y%m%d    %H%M%S")
        assert abs((old - datetime.now(wita).replace(tzinfo=None)).total_seconds()) < 120
    finally:
        k.socket.close()
