"""The SIP2 server over real TCP: a whole kiosk session with the PyPI sip2 client, then raw-socket edge cases.

The backend is an in-memory fake written here, so these tests pin down the server (framing, login,
checksums, resends, what reaches the backend), not circulation rules.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from circulation.sip2 import (CheckinResult, CirculationResult, CirculationStatus, ItemInfo, KioskSession,
                              PatronBlock, PatronInfo, ServerSettings, Sip2Server, start_in_thread)
from circulation.sip2.protocol import checksum, parse_frame, verify_checksum
from tests.test_sip2_protocol import FRAMES, NO_CAPTURES

WITA = ZoneInfo("Asia/Makassar")
NOW = datetime(2026, 11, 21, 14, 28, 43, tzinfo=UTC)  # 22:28:43 in Bontang
TX = "20261121    222843"
DUE = "20261205    222843"  # NOW + 14 days, in WITA
LOAN_DAYS = timedelta(days=14)
SIPHA, SIPHA_PIN = "23529000000001", "1234"
BUDI = "23529000000002"  # blocked: fines over the limit
LASKAR, BUMI, TRANSIT = "39999000001", "39999000002", "39999000003"
KIOSK_PASSWORD = "rahasia-kiosk"


# --- an in-memory backend ---------------------------------------------------------------------------------

@dataclass
class FakePatron:
    """A patron of the fake."""

    name: str
    pin: str
    fines: int = 0
    blocks: frozenset[PatronBlock] = frozenset()
    holds: tuple[str, ...] = ()


@dataclass
class FakeItem:
    """A copy of the fake, with its loan if any."""

    title: str
    owner: str = "PKB"
    location: str = "Rak Umum"
    borrower: str | None = None
    due_at: datetime | None = None
    loan_id: str = ""
    renewals: int = 0
    holds: list[str] = field(default_factory=list)


class FakeBackend:
    """In-memory circulation for two kiosk accounts, two patrons and three copies; records every call."""

    def __init__(self) -> None:
        library = KioskSession("kiosk-pkb", "PKB", "Perpustakaan Kota Bontang", "LOKET1")
        self.kiosks = {"kiosk-pkb": (KIOSK_PASSWORD, library),
                       "sipuser": ("sippass", replace(library, kiosk_login="sipuser", location="loc"))}
        self.patrons = {
            SIPHA: FakePatron("Siti Rahmawati", SIPHA_PIN, fines=2000),
            BUDI: FakePatron("Budi Santoso", "9999", fines=60000, blocks=frozenset(
                {PatronBlock.CHARGE_PRIVILEGES_DENIED, PatronBlock.EXCESSIVE_OUTSTANDING_FINES})),
        }
        self.items = {
            LASKAR: FakeItem("Laskar Pelangi"),
            BUMI: FakeItem("Bumi | Tere Liye", borrower=SIPHA, due_at=NOW - timedelta(days=1), loan_id="loan-0"),
            TRANSIT: FakeItem("Sejarah Kutai", owner="PTG", location="Rak Lokal"),
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.flagged: list[str] = []  # no-block loans of blocked patrons, for staff (R7)
        self.loans_made = 0
        self.fail = False
        self.lock = threading.Lock()

    def _record(self, name: str, **arguments: Any) -> None:
        if self.fail:
            raise RuntimeError("database is down")
        self.calls.append((name, arguments))

    def called(self, name: str) -> list[dict[str, Any]]:
        """The arguments of every call of one method, in order."""
        return [arguments for called, arguments in self.calls if called == name]

    def login(self, kiosk_login: str, password: str, location: str) -> KioskSession | None:
        """A session for a known kiosk account and its password."""
        self._record("login", kiosk_login=kiosk_login, location=location)
        known = self.kiosks.get(kiosk_login)
        return known[1] if known is not None and known[0] == password else None

    def patron_status(self, session: KioskSession, patron_id: str, pin: str | None) -> PatronInfo:
        """The patron with their loans (overdue ones too) and holds."""
        with self.lock:
            self._record("patron_status", patron_id=patron_id, pin=pin)
            patron = self.patrons.get(patron_id)
            if patron is None:
                return PatronInfo(patron_id, valid=False, pin_valid=None if pin is None else False,
                                  screen_message="Kartu anggota tidak dikenal")
            charged = sorted(barcode for barcode, item in self.items.items() if item.borrower == patron_id)
            overdue = tuple(b for b in charged if (due := self.items[b].due_at) is not None and due < NOW)
            return PatronInfo(patron_id, valid=True, pin_valid=None if pin is None else pin == patron.pin,
                              name=patron.name, blocks=patron.blocks, fines_rupiah=patron.fines,
                              charged_items=tuple(charged), overdue_items=overdue, hold_items=patron.holds,
                              fine_items=("Rp 2.000 keterlambatan",) if patron.fines else (), charged_limit=5)

    def checkout(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None, *,
                 no_block: bool, sequence: str | None, renewal_policy: bool,
                 transaction_at: datetime | None, nb_due_at: datetime | None) -> CirculationResult:
        """Lend a copy; the same patron+item again returns the existing loan."""
        with self.lock:
            self._record("checkout", patron_id=patron_id, item_id=item_id, pin=pin, no_block=no_block,
                         sequence=sequence, renewal_policy=renewal_policy, transaction_at=transaction_at,
                         nb_due_at=nb_due_at)
            item, patron = self.items.get(item_id), self.patrons.get(patron_id)
            if item is None or patron is None or (pin is not None and pin != patron.pin):
                return CirculationResult(False, item_id, desensitize=False, screen_message="Data tidak valid")
            if item.borrower == patron_id:  # a resend: the loan exists already
                return self._loan(item_id, item)
            if item.borrower is not None:
                return CirculationResult(False, item_id, item.title, desensitize=False,
                                         screen_message="Eksemplar sedang dipinjam")
            if patron.blocks and not no_block:
                return CirculationResult(False, item_id, item.title, desensitize=False,
                                         screen_message="Peminjaman ditolak: denda melebihi batas")
            if patron.blocks:
                self.flagged.append(item_id)
            self.loans_made += 1
            item.borrower, item.due_at, item.loan_id = patron_id, NOW + LOAN_DAYS, f"loan-{self.loans_made}"
            return self._loan(item_id, item)

    def _loan(self, item_id: str, item: FakeItem, *, renewed: bool = False) -> CirculationResult:
        return CirculationResult(True, item_id, item.title, item.due_at, renewal_ok=renewed, magnetic_media=False,
                                 desensitize=True, screen_message="Selamat membaca", transaction_id=item.loan_id)

    def checkin(self, session: KioskSession, item_id: str, *, return_date: datetime | None, no_block: bool,
                current_location: str) -> CheckinResult:
        """Return a copy; copies of another library go in transit to it."""
        with self.lock:
            self._record("checkin", item_id=item_id, return_date=return_date, no_block=no_block,
                         current_location=current_location)
            item = self.items.get(item_id)
            if item is None:
                return CheckinResult(False, item_id, alert=True, screen_message="Eksemplar tidak dikenal")
            if item.borrower is None:
                return CheckinResult(False, item_id, item.title, resensitize=True, permanent_location=item.location,
                                     screen_message="Eksemplar tidak sedang dipinjam")
            item.borrower, item.due_at = None, None
            transit = item.owner != session.library_code
            return CheckinResult(True, item_id, item.title, resensitize=not transit, magnetic_media=False,
                                 alert=transit, permanent_location=item.location,
                                 sort_bin=item.owner if transit else "", screen_message="Terima kasih")

    def renew(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None, *, no_block: bool,
              sequence: str | None) -> CirculationResult:
        """Extend a loan by 14 days."""
        with self.lock:
            self._record("renew", patron_id=patron_id, item_id=item_id, pin=pin, no_block=no_block, sequence=sequence)
            item = self.items.get(item_id)
            if item is None or item.borrower != patron_id or item.due_at is None:
                return CirculationResult(False, item_id, screen_message="Tidak ada pinjaman untuk diperpanjang")
            item.due_at += LOAN_DAYS
            item.renewals += 1
            return self._loan(item_id, item, renewed=True)

    def item_information(self, session: KioskSession, item_id: str) -> ItemInfo:
        """A copy's status and due date."""
        self._record("item_information", item_id=item_id)
        item = self.items.get(item_id)
        if item is None:
            return ItemInfo(item_id, CirculationStatus.OTHER, screen_message="Eksemplar tidak dikenal")
        status = CirculationStatus.CHARGED if item.borrower else CirculationStatus.AVAILABLE
        return ItemInfo(item_id, status, item.title, item.due_at, owner=item.owner,
                        permanent_location=item.location, current_location=item.location,
                        hold_queue_length=len(item.holds))

    def end_session(self, session: KioskSession, patron_id: str) -> None:
        """Nothing is held per patron."""
        self._record("end_session", patron_id=patron_id)


# --- fixtures and a raw kiosk ------------------------------------------------------------------------------

@pytest.fixture
def backend() -> FakeBackend:
    """A fresh fake."""
    return FakeBackend()


@pytest.fixture
def start(backend: FakeBackend) -> Iterator[Callable[..., Sip2Server]]:
    """Start servers on free ports (settings overridable); all are stopped after the test."""
    servers: list[Sip2Server] = []

    def started(**overrides: Any) -> Sip2Server:
        settings = ServerSettings(**{"clock": lambda: NOW, "idle_timeout": 10.0, **overrides})
        servers.append(start_in_thread("127.0.0.1", 0, backend, settings))
        return servers[-1]

    yield started
    for server in servers:
        server.stop()


@pytest.fixture
def server(start: Callable[..., Sip2Server]) -> Sip2Server:
    """A server with the default settings (fixed clock)."""
    return start()


def frame(body: str, sequence: str | None = "0", *, crc: bool = True) -> bytes:
    """A request frame with its AY, a correct AZ and the CR terminator."""
    data = (body + (f"AY{sequence}" if sequence is not None else "")).encode("utf-8")
    if crc:
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + b"\r"


LOGIN = f"9300CNkiosk-pkb|CO{KIOSK_PASSWORD}|CPLOKET1|"
PATRON_INFO = f"63001{TX}          AOPKB|AA{SIPHA}|AD{SIPHA_PIN}|"


class Kiosk:
    """A raw TCP kiosk."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        """Send bytes as they are."""
        self.socket.sendall(data)

    def response(self) -> bytes:
        """The next CR-terminated response, CR included."""
        while b"\r" not in self.buffer:
            chunk = self.socket.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed by the server; unread: {self.buffer!r}")
            self.buffer += chunk
        response, _, self.buffer = self.buffer.partition(b"\r")
        return response + b"\r"

    def ask(self, body: str, sequence: str | None = "0", *, crc: bool = True) -> bytes:
        """Send one request and read its response."""
        self.send(frame(body, sequence, crc=crc))
        return self.response()

    def is_closed_by_server(self) -> bool:
        """True when the server has closed the connection (EOF or reset) within the socket timeout."""
        try:
            return self.socket.recv(4096) == b""
        except ConnectionResetError:
            return True

    def login(self) -> None:
        """Log in as the kiosk account."""
        assert parse_frame(self.ask(LOGIN)).fixed["ok"] == "1"


@pytest.fixture
def kiosk(server: Sip2Server) -> Iterator[Callable[..., Kiosk]]:
    """Open raw kiosks (to `server`, or to another port); all are closed after the test."""
    opened: list[Kiosk] = []

    def connect(port: int | None = None) -> Kiosk:
        opened.append(Kiosk(server.port if port is None else port))
        return opened[-1]

    yield connect
    for each in opened:
        each.socket.close()


# --- the real client --------------------------------------------------------------------------------------

def test_a_whole_kiosk_session_with_the_pypi_sip2_client(server: Sip2Server, backend: FakeBackend) -> None:
    """Login, status, patron login and information, checkout, charged items, item info, renew, checkin, end."""
    wrapper_module = pytest.importorskip("Sip2.wrapper")
    wrapper = wrapper_module.Sip2Wrapper({
        "hostName": "127.0.0.1", "hostPort": server.port, "tlsEnable": False, "socketTimeout": 5,
        "institutionId": "PKB", "scLocation": "LOKET1",
        "log": logging.getLogger("tests.sip2.client"),  # the client would otherwise write ./sip2.log
    }, True, "Sip2")
    try:
        wrapper.login_device("kiosk-pkb", KIOSK_PASSWORD, True)
        status = wrapper.return_sc_status()
        assert status["fixed"] == {"OnlineStatus": "Y", "CheckinOk": "Y", "CheckoutOk": "Y", "AcsRenewalPolicy": "Y",
                                   "StatusUpdateOk": "N", "OfflineOk": "N", "TimeoutPeriod": "999",
                                   "RetriesAllowed": "999", "TransactionDate": TX, "ProtocolVersion": "2.00"}
        assert status["variable"]["BX"] == ["YYYNYYYYYNYNNNYN"]
        assert (status["variable"]["AO"], status["variable"]["AM"], status["variable"]["AN"]) == (
            ["PKB"], ["Perpustakaan Kota Bontang"], ["LOKET1"])
        assert backend.called("login") == [{"kiosk_login": "kiosk-pkb", "location": "LOKET1"}]

        assert wrapper.login_patron(SIPHA, SIPHA_PIN) is True
        patron = wrapper.get_patron_status()
        assert patron["fixed"]["PatronStatus"] == " " * 14
        assert (patron["fixed"]["ChargedItemsCount"], patron["fixed"]["OverdueItemsCount"]) == ("0001", "0001")
        assert patron["variable"]["AE"] == ["Siti Rahmawati"] and patron["variable"]["AA"] == [SIPHA]
        assert (patron["variable"]["BL"], patron["variable"]["CQ"]) == (["Y"], ["Y"])
        assert (patron["variable"]["BH"], patron["variable"]["BV"]) == (["IDR"], ["2000"])
        assert wrapper.get_patron_finesTotal() == 2000.0
        assert backend.called("patron_status")[0] == {"patron_id": SIPHA, "pin": SIPHA_PIN}

        # sip2 1.1's wrapper reads patron status position 0 upside down (Y = may charge, where the spec says
        # Y = charge privileges denied), so it refuses to send a checkout for a patron who may borrow.
        assert wrapper.sip_item_checkout(LASKAR) is False
        assert backend.called("checkout") == []
        sip = wrapper.return_sip2()  # the client's low-level object sends it as the spec has it
        out = sip.sip_checkout_response(sip.get_response(sip.sip_checkout_request(LASKAR)))
        assert out["fixed"] == {"Ok": "1", "RenewalOk": "N", "MagneticMedia": "N", "Desensitize": "Y",
                                "TransactionDate": TX}
        assert [out["variable"][f] for f in ("AO", "AA", "AB", "AJ", "AH", "BK", "AF")] == [
            ["PKB"], [SIPHA], [LASKAR], ["Laskar Pelangi"], [DUE], ["loan-1"], ["Selamat membaca"]]
        assert backend.items[LASKAR].borrower == SIPHA
        checkout = backend.called("checkout")[0]
        assert (checkout["no_block"], checkout["renewal_policy"], checkout["nb_due_at"]) == (False, False, None)
        assert checkout["pin"] == SIPHA_PIN and checkout["sequence"] == sip.last_request[-8]

        assert wrapper.get_patron_chargedItems() == [LASKAR, BUMI]

        item = wrapper.sip_item_information(LASKAR)
        assert item["fixed"]["CirculationStatus"] == "04" and item["fixed"]["TransactionDate"] == TX
        assert [item["variable"][f] for f in ("AB", "AJ", "AH", "CF", "BG")] == [
            [LASKAR], ["Laskar Pelangi"], [DUE], ["0"], ["PKB"]]

        renewed = sip.sip_renew_response(sip.get_response(sip.sip_renew_request(LASKAR)))
        assert (renewed["fixed"]["Ok"], renewed["fixed"]["RenewalOk"]) == ("1", "Y")
        assert renewed["variable"]["AH"] == ["20261219    222843"]
        assert backend.items[LASKAR].renewals == 1

        returned = wrapper.sip_item_checkin(BUMI)
        assert {k: returned["fixed"][k] for k in ("Ok", "Resensitize", "MagneticMedia", "Alert")} == {
            "Ok": "1", "Resensitize": "Y", "MagneticMedia": "N", "Alert": "N"}
        assert returned["variable"]["AJ"] == ["Bumi   Tere Liye"]  # the "|" in the title cannot travel
        assert returned["variable"]["AQ"] == ["Rak Umum"]
        assert backend.items[BUMI].borrower is None
        assert backend.called("checkin")[0]["current_location"] == "LOKET1"

        wrapper.sip_patron_session_end()
        assert wrapper.return_last_response_parsed()["fixed"]["EndSession"] == "Y"
        assert backend.called("end_session") == [{"patron_id": SIPHA}]
    finally:
        wrapper.disconnect()


# --- raw sockets ------------------------------------------------------------------------------------------

def test_a_wrong_checksum_is_answered_with_96_and_the_resend_works(kiosk: Callable[..., Kiosk]) -> None:
    """96 carries a checksum (the kiosk uses them) and no sequence number; the connection stays usable."""
    k = kiosk()
    k.send(b"9900802.00AY1AZ0000\r")
    assert k.response() == b"96AZFEF6\r"
    reply = parse_frame(k.ask("9900802.00", "1"))
    assert reply.code == "98" and reply.sequence == "1" and reply.get("BX") == "YYYNYYYYYNYNNNYN"


def test_97_resends_the_last_response_verbatim_per_connection(kiosk: Callable[..., Kiosk]) -> None:
    """97 returns our previous frame byte for byte, with or without its own checksum; other kiosks get theirs."""
    first = kiosk()
    first.login()
    information = first.ask(PATRON_INFO, "1")
    assert parse_frame(information).get("AE") == "Siti Rahmawati"
    assert first.ask("97", None) == information
    assert first.ask("97", None, crc=False) == information
    second = kiosk()
    login_reply = second.ask(LOGIN, "5")
    assert second.ask("97", None) == login_reply != information
    fresh = kiosk()
    assert fresh.ask("97", None) == b"96AZFEF6\r"  # nothing to resend yet


def test_commands_before_login_close_the_connection(kiosk: Callable[..., Kiosk], backend: FakeBackend) -> None:
    """Only 93, 99 and 97 are answered before login; anything else ends the connection unanswered."""
    for body in (PATRON_INFO, f"17{TX}AOPKB|AB{LASKAR}|", f"11NN{TX}{' ' * 18}AOPKB|AA{SIPHA}|AB{LASKAR}|AC|"):
        k = kiosk()
        k.send(frame(body))
        assert k.is_closed_by_server()
    assert backend.calls == []


def test_status_before_login_is_configurable(start: Callable[..., Sip2Server], kiosk: Callable[..., Kiosk]) -> None:
    """By default 99 before 93 gets a 98 that allows nothing yet; with the option off it ends the connection."""
    open_server = start(institution_id="BONTANG")
    reply = parse_frame(kiosk(open_server.port).ask("9900802.00"))
    assert (reply.fixed["online_status"], reply.fixed["checkin_ok"], reply.fixed["checkout_ok"]) == ("Y", "N", "N")
    assert reply.get("AO") == "BONTANG" and reply.get("AM") is None
    strict = kiosk(start(status_before_login=False).port)
    strict.send(frame("9900802.00"))
    assert strict.is_closed_by_server()


def test_over_long_lines_close_the_connection_and_the_server_lives_on(kiosk: Callable[..., Kiosk]) -> None:
    """4 KB without a terminator, or a terminated 5 KB line, end that connection only."""
    endless = kiosk()
    endless.send(b"9" * 5000)
    assert endless.is_closed_by_server()
    long_line = kiosk()
    long_line.login()
    long_line.send(frame(f"17{TX}AOPKB|AB{'1' * 5000}|"))
    assert long_line.is_closed_by_server()
    assert parse_frame(kiosk().ask("9900802.00")).code == "98"


def test_unknown_and_malformed_messages_get_96(kiosk: Callable[..., Kiosk]) -> None:
    """Block patron (not offered in BX), a response code, a cut-off checkout and a bad date: 96 each time."""
    k = kiosk()
    k.login()
    assert k.ask(f"01N{TX}AOPKB|ALkartu tertinggal|AA{SIPHA}|AC|", "2") == b"96AZFEF6\r"
    assert k.ask(f"01N{TX}AOPKB|AA{SIPHA}|AC|", None, crc=False) == b"96\r"
    assert k.ask("941", "3") == b"96AZFEF6\r"
    assert k.ask("11NN20261121", "4") == b"96AZFEF6\r"
    assert k.ask(f"09N{TX}20261340    120000APLOKET1|AOPKB|AB{LASKAR}|AC|", "5") == b"96AZFEF6\r"
    assert k.ask(f"17{TX}AOPKB|AC|", "6") == b"96AZFEF6\r"  # item information without an item
    assert parse_frame(k.ask(f"17{TX}AOPKB|AB{LASKAR}|", "7")).fixed["circulation_status"] == "03"


def test_cr_lf_and_crlf_all_end_a_frame_even_split_or_batched(kiosk: Callable[..., Kiosk]) -> None:
    """Frames ending in CR, LF or CRLF, two in one packet, and one split over two packets are all answered."""
    k = kiosk()
    login = frame(LOGIN)
    k.send(login[:10])
    time.sleep(0.05)
    k.send(login[10:-1] + b"\r\n")
    assert parse_frame(k.response()).fixed["ok"] == "1"
    status = frame("9900802.00", "1")[:-1]
    k.send(status + b"\n" + frame(f"17{TX}AOPKB|AB{LASKAR}|", "2")[:-1] + b"\r\n")
    assert parse_frame(k.response()).code == "98"
    assert parse_frame(k.response()).sequence == "2"


def test_idle_connections_are_closed(start: Callable[..., Sip2Server], kiosk: Callable[..., Kiosk]) -> None:
    """A connection that sends nothing for idle_timeout seconds is closed by the server."""
    k = kiosk(start(idle_timeout=0.3).port)
    began = time.monotonic()
    assert k.is_closed_by_server()
    assert 0.2 < time.monotonic() - began < 4


def test_failed_logins_answer_0_and_the_third_closes(kiosk: Callable[..., Kiosk]) -> None:
    """A wrong password gets 94 with ok 0; after three in a row the connection is closed."""
    k = kiosk()
    assert parse_frame(k.ask("9300CNkiosk-pkb|COsalah|")).fixed["ok"] == "0"
    k.send(frame(PATRON_INFO))  # still not logged in
    assert k.is_closed_by_server()
    k = kiosk()
    for attempt in range(3):
        assert k.ask(f"9300CNkiosk-pkb|COtebakan{attempt}|") == frame("940", "0")
    assert k.is_closed_by_server()
    k = kiosk()
    assert parse_frame(k.ask("9311CNkiosk-pkb|CO" + KIOSK_PASSWORD + "|")).fixed["ok"] == "0"  # encrypted: no


def test_no_block_sequence_and_dates_reach_the_backend(kiosk: Callable[..., Kiosk], backend: FakeBackend) -> None:
    """R7: a no-block checkout for a blocked patron is passed on with its flag, AY and transaction date."""
    k = kiosk()
    k.login()
    refused = parse_frame(k.ask(f"11NN{TX}{' ' * 18}AOPKB|AA{BUDI}|AB{LASKAR}|AC|", "3"))
    assert refused.fixed["ok"] == "0" and refused.fixed["desensitize"] == "N"
    assert refused.get("AF") == "Peminjaman ditolak: denda melebihi batas" and refused.get("AH") == ""
    offline = "20261120    093000"  # lent while the kiosk was offline
    accepted = parse_frame(k.ask(f"11YY{offline}20261201    170000AOPKB|AA{BUDI}|AB{LASKAR}|AC|", "4"))
    assert accepted.fixed["ok"] == "1" and accepted.sequence == "4"
    assert backend.called("checkout")[1] == {
        "patron_id": BUDI, "item_id": LASKAR, "pin": None, "no_block": True, "sequence": "4", "renewal_policy": True,
        "transaction_at": datetime(2026, 11, 20, 9, 30, tzinfo=WITA),
        "nb_due_at": datetime(2026, 12, 1, 17, 0, tzinfo=WITA)}
    assert backend.called("checkout")[0]["no_block"] is False and backend.flagged == [LASKAR]
    k.ask(f"09Y{TX}{' ' * 18}APLOKET1|AOPKB|AB{LASKAR}|AC|", "5")
    assert backend.called("checkin")[0] == {"item_id": LASKAR, "return_date": None, "no_block": True,
                                            "current_location": "LOKET1"}


def test_a_resent_checkout_gets_the_same_answer_and_one_loan(kiosk: Callable[..., Kiosk], backend: FakeBackend) -> None:
    """The kiosk timed out and sent 11 again with the same AY: the backend sees the same sequence twice."""
    k = kiosk()
    k.login()
    checkout = f"11NN{TX}{' ' * 18}AOPKB|AA{SIPHA}|AB{LASKAR}|AC|AD{SIPHA_PIN}|BON|BIN|"
    first, again = k.ask(checkout, "6"), k.ask(checkout, "6")
    assert first == again and parse_frame(first).get("BK") == "loan-1"
    assert [c["sequence"] for c in backend.called("checkout")] == ["6", "6"] and backend.loans_made == 1


def test_a_cancelled_checkout_is_refused_without_asking_the_backend(kiosk: Callable[..., Kiosk],
                                                                    backend: FakeBackend) -> None:
    """Checkout with BI=Y (undo a checkin) is left to staff."""
    k = kiosk()
    k.login()
    reply = parse_frame(k.ask(f"11NN{TX}{' ' * 18}AOPKB|AA{SIPHA}|AB{BUMI}|AC|BIY|"))
    assert reply.fixed["ok"] == "0" and "petugas" in (reply.get("AF") or "")
    assert backend.called("checkout") == []


def test_patron_status_and_information_fields(kiosk: Callable[..., Kiosk], backend: FakeBackend) -> None:
    """24 and 64: the 14 status flags, BL/CQ, fines in rupiah, counts, and the BP..BQ slice of the asked list."""
    k = kiosk()
    k.login()
    blocked = parse_frame(k.ask(f"23001{TX}AOPKB|AA{BUDI}|AC|AD0000|", "1"))
    assert blocked.fixed["patron_status"] == "Y" + " " * 9 + "Y" + " " * 3 and blocked.fixed["language"] == "001"
    assert [blocked.get(f) for f in ("AE", "BL", "CQ", "BH", "BV")] == ["Budi Santoso", "Y", "N", "IDR", "60000"]
    unknown = parse_frame(k.ask(f"23000{TX}AOPKB|AA000|AC|AD|", "2"))
    assert (unknown.get("BL"), unknown.get("CQ"), unknown.get("AF")) == ("N", None, "Kartu anggota tidak dikenal")
    assert backend.called("patron_status")[1]["pin"] is None  # an empty AD is no PIN

    for barcode in ("39999000004", "39999000005"):
        backend.items[barcode] = FakeItem(f"Buku {barcode[-1]}", borrower=SIPHA, due_at=NOW + LOAN_DAYS)
    backend.patrons[SIPHA].holds = ("39999000009",)
    charged = parse_frame(k.ask(f"63001{TX}  Y       AOPKB|AA{SIPHA}|BP2|BQ3|", "3"))
    assert charged.fixed["charged_items_count"] == "0003" and charged.fixed["overdue_items_count"] == "0001"
    assert charged.fixed["hold_items_count"] == "0001" and charged.fixed["fine_items_count"] == "0001"
    assert charged.get_all("AU") == ["39999000004", "39999000005"] and charged.get_all("AS") == []
    assert charged.get("CB") == "0005" and charged.get("CQ") is None  # no PIN sent: none checked
    held = parse_frame(k.ask(f"63001{TX}Y Y       AOPKB|AA{SIPHA}|", "4"))
    assert held.get_all("AS") == ["39999000009"] and held.get_all("AU") == [BUMI, "39999000004", "39999000005"]
    fines = parse_frame(k.ask(f"63001{TX}   Y      AOPKB|AA{SIPHA}|", "5"))
    assert fines.get_all("AV") == ["Rp 2.000 keterlambatan"]


def test_checkin_of_another_librarys_copy_sends_it_in_transit(kiosk: Callable[..., Kiosk], backend: FakeBackend) -> None:
    """10 with alert, no resensitize, and the destination library as sort bin; unknown items are status 01."""
    backend.items[TRANSIT].borrower = SIPHA
    k = kiosk()
    k.login()
    reply = parse_frame(k.ask(f"09N{TX}{TX}APLOKET1|AOPKB|AB{TRANSIT}|AC|", "1"))
    assert (reply.fixed["ok"], reply.fixed["resensitize"], reply.fixed["alert"]) == ("1", "N", "Y")
    assert (reply.get("CL"), reply.get("AQ"), reply.get("AJ")) == ("PTG", "Rak Lokal", "Sejarah Kutai")
    assert backend.called("checkin")[0]["return_date"] == datetime(2026, 11, 21, 22, 28, 43, tzinfo=WITA)
    unknown = parse_frame(k.ask(f"17{TX}AOPKB|AB404|", "2"))
    assert unknown.fixed["circulation_status"] == "01" and unknown.get("AF") == "Eksemplar tidak dikenal"


ANSWER_CODES = {"93": "94", "99": "98", "23": "24", "63": "64", "11": "12", "09": "10", "29": "30", "17": "18",
                "35": "36"}


@NO_CAPTURES
def test_the_captured_frames_sent_verbatim_get_well_formed_answers(kiosk: Callable[..., Kiosk],
                                                                    backend: FakeBackend) -> None:
    """The sip2 client's own bytes: each answer has the right code, echoes AY, and carries a valid AZ."""
    k = kiosk()
    answers = []
    for request in FRAMES:
        k.send(request.encode("ascii") + b"\r")
        raw = k.response()
        assert verify_checksum(raw), raw
        answers.append(parse_frame(raw))
        assert answers[-1].code == ANSWER_CODES[request[:2]] and answers[-1].sequence == request[-7]
    login, status, patron, charged, checkin, item, checkout, renew, end = answers
    assert login.fixed["ok"] == "1" and status.get("BX") == "YYYNYYYYYNYNNNYN" and status.get("AN") == "loc"
    assert patron.get("AE") == "Siti Rahmawati" and patron.get("CQ") == "Y" and patron.get("AO") == "inst"
    assert charged.get_all("AU") == [BUMI]
    assert checkin.fixed["ok"] == "0" and checkin.get("AF") == "Eksemplar tidak sedang dipinjam"
    assert item.fixed["circulation_status"] == "03"
    assert checkout.fixed["ok"] == "1" and checkout.get("AH") == DUE
    assert renew.fixed["ok"] == "1" and renew.get("AH") == "20261219    222843"
    assert end.fixed["end_session"] == "Y"


def test_a_backend_failure_closes_only_that_connection(kiosk: Callable[..., Kiosk], backend: FakeBackend,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """No answer is invented when the backend raises; the error is logged and other kiosks carry on."""
    k = kiosk()
    k.login()
    backend.fail = True
    with caplog.at_level(logging.ERROR, logger="circulation.sip2"):
        k.send(frame(f"17{TX}AOPKB|AB{LASKAR}|"))
        assert k.is_closed_by_server()
    assert any("error while answering" in record.getMessage() and record.exc_info for record in caplog.records)
    backend.fail = False
    other = kiosk()
    other.login()
    assert parse_frame(other.ask(f"17{TX}AOPKB|AB{LASKAR}|")).code == "18"


def test_logs_never_show_pins_passwords_or_names(kiosk: Callable[..., Kiosk], caplog: pytest.LogCaptureFixture) -> None:
    """Frames are logged at DEBUG with AD, CO, AC and AE masked, failed logins included."""
    with caplog.at_level(logging.DEBUG, logger="circulation.sip2"):
        k = kiosk()
        k.ask("9300CNkiosk-pkb|COwrong-secret|")
        k.login()
        k.ask(f"23001{TX}AOPKB|AA{SIPHA}|ACterminal-secret|AD{SIPHA_PIN}|", "1")
        k.ask(f"11NN{TX}{' ' * 18}AOPKB|AA{SIPHA}|AB{LASKAR}|AC|AD{SIPHA_PIN}|", "2")
        k.send(b"9300CNkiosk-pkb|COgarbled-secret|AY3AZ0000\r")
        k.response()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "AD***" in text and "CO***" in text and "AE***" in text and "loan-1" in text
    for secret in (KIOSK_PASSWORD, "wrong-secret", "terminal-secret", f"AD{SIPHA_PIN}", "Siti", "garbled-secret"):
        assert secret not in text


def test_stop_ends_open_connections(start: Callable[..., Sip2Server], kiosk: Callable[..., Kiosk]) -> None:
    """stop() returns promptly even with a kiosk connected, and the kiosk sees the connection end."""
    server = start()
    k = kiosk(server.port)
    k.login()
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 3 and k.is_closed_by_server()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
