"""One kiosk connection's SIP2 conversation: the session, the last response, the answer to each frame.

The kiosk logs in (93) before anything but an SC status (99, allowed before login by default, as many
ACSs do); a wrong checksum or an unreadable or unknown message is answered with 96 (request SC
resend); 97 resends our last response verbatim. After login, dates are the kiosk library's local time.
Every decision is the Sip2Backend's; PINs and passwords never reach the log. No sockets here: see server.py.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from circulation.sip2.backend import (CheckinResult, CirculationResult, KioskSession, PatronBlock, PatronInfo,
                                      Sip2Backend)
from circulation.sip2.protocol import (ChecksumError, Message, ProtocolError, build_response, carries_checksum,
                                       format_sip_date, mask_secrets, parse_frame, parse_sip_date, resend_request,
                                       yes_no, yes_no_unknown)

log = logging.getLogger("circulation.sip2.server")  # one logger name for the whole server, as before

# The spec's order of the 16 BX flags; the ones we answer are Y.
SUPPORTED_MESSAGES = (("23", True), ("11", True), ("09", True), ("01", False), ("99", True), ("97", True),
                      ("93", True), ("63", True), ("35", True), ("37", False), ("17", True), ("19", False),
                      ("25", False), ("15", False), ("29", True), ("65", False))
BX_SUPPORTED = "".join(yes_no(supported) for _code, supported in SUPPORTED_MESSAGES)
PROTOCOL_VERSION = "2.00"
CURRENCY = "IDR"
# Item-list categories of the 63 summary field, by position, and the 64 field that lists each.
SUMMARY_FIELDS = ("AS", "AT", "AU", "AV", "BU", "CD")
REFUSED_CANCEL = "Pembatalan transaksi lewat mesin tidak didukung; silakan hubungi petugas."
NEEDS_ITEM = "Perpanjangan memerlukan barcode eksemplar."


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServerSettings:
    """How the server behaves; the defaults suit kiosks on a library LAN in Bontang (WITA)."""

    timezone_name: str = "Asia/Makassar"  # before login, and for a library without a zone; after login: the library's
    idle_timeout: float = 300.0  # seconds without a byte before a connection is closed
    max_line: int = 4096  # longest frame accepted; longer input is garbage or an attack
    status_before_login: bool = True  # answer 99 before 93, as many kiosks send it first
    max_login_failures: int = 3  # per connection, then it is closed (slows PIN/password guessing, S6)
    institution_id: str = ""  # AO in a 98 sent before login, when no library is known yet
    clock: Callable[[], datetime] = field(default=utc_now)

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone_name)  # an unknown zone fails at start, not at the first kiosk

    @property
    def zone(self) -> ZoneInfo:
        """The library time zone."""
        return ZoneInfo(self.timezone_name)


class CloseConnection(Exception):
    """The connection must end (after sending `reply`, if any)."""

    def __init__(self, reason: str, reply: bytes | None = None) -> None:
        super().__init__(reason)
        self.reply = reply


class Conversation:
    """One kiosk connection's state (its session, its last response) and the answer to each frame."""

    def __init__(self, backend: Sip2Backend, settings: ServerSettings, peer: str = "?") -> None:
        self.backend = backend
        self.settings = settings
        self.peer = peer
        self.zone = settings.zone
        self.session: KioskSession | None = None
        self.last_response: bytes | None = None
        self.login_failures = 0
        self.handlers: dict[str, Callable[[KioskSession, Message], bytes]] = {
            "23": self._patron_status, "63": self._patron_information, "11": self._checkout,
            "09": self._checkin, "29": self._renew, "17": self._item_information, "35": self._end_session,
        }

    def answer(self, frame: bytes) -> bytes:
        """The response to one frame (without its terminator); raises CloseConnection to end the connection."""
        log.debug("SIP2 %s <- %s", self.peer, mask_secrets(frame))
        response = self._respond(frame)
        log.debug("SIP2 %s -> %s", self.peer, mask_secrets(response))
        self.last_response = response
        return response

    def _respond(self, frame: bytes) -> bytes:
        try:
            request = parse_frame(frame)
        except ChecksumError:
            log.warning("SIP2 %s: bad checksum, asking for a resend", self.peer)
            return resend_request(with_checksum=True)
        except ProtocolError as error:
            log.warning("SIP2 %s: %s; asking for a resend", self.peer, error)
            return resend_request(with_checksum=carries_checksum(frame))
        if request.code == "97":
            # Our previous answer was lost or garbled: send it again, byte for byte.
            return self.last_response or resend_request(with_checksum=request.checksum is not None)
        if request.code == "93":
            return self._login(request)
        if request.code == "99" and (self.session is not None or self.settings.status_before_login):
            return self._status(request)
        if self.session is None:
            raise CloseConnection(f"{request.name} ({request.code}) before login")
        handler = self.handlers.get(request.code)
        if handler is None:  # a response code sent to us, such as 94
            log.warning("SIP2 %s: message %s is not a request; asking for a resend", self.peer, request.code)
            return resend_request(with_checksum=request.checksum is not None)
        try:
            return handler(self.session, request)
        except ProtocolError as error:  # e.g. an unreadable date in a fixed field
            log.warning("SIP2 %s: %s; asking for a resend", self.peer, error)
            return resend_request(with_checksum=request.checksum is not None)

    # --- messages --------------------------------------------------------------------------------------

    def _now(self) -> str:
        return format_sip_date(self.settings.clock(), self.zone)

    def _zone_of(self, session: KioskSession | None) -> ZoneInfo:
        """The logged-in kiosk's library zone (its dates are local time there), else the server's."""
        if session is not None and session.timezone:
            try:
                return ZoneInfo(session.timezone)
            except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
                log.warning("SIP2 %s: unknown time zone %r for %s", self.peer, session.timezone, session.library_code)
        return self.settings.zone

    def _login(self, request: Message) -> bytes:
        # Only plain-text credentials (algorithms "0") exist in practice; anything else cannot match.
        plain = request.fixed["uid_algorithm"] == "0" and request.fixed["pwd_algorithm"] == "0"
        login, password = request.get("CN"), request.get("CO")
        session = None
        if plain and login and password is not None:
            session = self.backend.login(login, password, request.get("CP") or "")
        self.session = session
        self.zone = self._zone_of(session)
        reply = build_response(request, "94", {"ok": "1" if session else "0"})
        if session is not None:
            self.login_failures = 0
            log.info("SIP2 %s: kiosk %s logged in for %s", self.peer, session.kiosk_login, session.library_code)
            return reply
        self.login_failures += 1
        log.warning("SIP2 %s: login refused (%d in a row)", self.peer, self.login_failures)
        if self.login_failures >= self.settings.max_login_failures:
            raise CloseConnection("too many failed logins", reply)
        return reply

    def _status(self, request: Message) -> bytes:
        session = self.session  # None before login: report that nothing is allowed yet
        fixed = {"online_status": "Y", "checkin_ok": yes_no(session is not None and session.checkin_ok),
                 "checkout_ok": yes_no(session is not None and session.checkout_ok),
                 "acs_renewal_policy": yes_no(session is not None and session.renewal_ok),
                 "status_update_ok": "N",  # kiosks may not change patron records
                 "offline_ok": yes_no(session is not None and session.offline_ok),
                 "timeout_period": "999", "retries_allowed": "999",  # 999: not specified
                 "date_time_sync": self._now(), "protocol_version": PROTOCOL_VERSION}
        return build_response(request, "98", fixed, [
            ("AO", session.library_code if session else self.settings.institution_id),
            ("AM", session.library_name if session and session.library_name else None),
            ("BX", BX_SUPPORTED),
            ("AN", session.location if session and session.location else None),
        ])

    def _patron_fields(self, session: KioskSession, request: Message, info: PatronInfo) -> list[tuple[str, str | None]]:
        return [("AO", self._institution(session, request)), ("AA", info.patron_id), ("AE", info.name)]

    def _patron_status(self, session: KioskSession, request: Message) -> bytes:
        info = self.backend.patron_status(session, _required(request, "AA"), _pin(request))
        fixed = {"patron_status": patron_status_field(info.blocks), "language": _language(request),
                 "transaction_date": self._now()}
        return build_response(request, "24", fixed, [
            *self._patron_fields(session, request, info), *_validity(info), *_fines(info),
            ("AF", info.screen_message or None)])

    def _patron_information(self, session: KioskSession, request: Message) -> bytes:
        info = self.backend.patron_status(session, _required(request, "AA"), _pin(request))
        lists = (info.hold_items, info.overdue_items, info.charged_items, info.fine_items, (),
                 info.unavailable_holds)
        fixed = {"patron_status": patron_status_field(info.blocks), "language": _language(request),
                 "transaction_date": self._now()}
        for name, items in zip(("hold_items_count", "overdue_items_count", "charged_items_count",
                                "fine_items_count", "recall_items_count", "unavailable_holds_count"), lists):
            fixed[name] = _count(len(items))
        first, last = _item_range(request)
        summary = request.fixed["summary"].upper()
        listed: list[tuple[str, str | None]] = []
        for position, (field_id, items) in enumerate(zip(SUMMARY_FIELDS, lists)):
            if summary[position] == "Y":  # BP/BQ are 1-based and inclusive
                listed.extend((field_id, item) for item in items[first - 1:last])
        return build_response(request, "64", fixed, [
            *self._patron_fields(session, request, info),
            ("BZ", _limit(info.hold_limit)), ("CA", _limit(info.overdue_limit)), ("CB", _limit(info.charged_limit)),
            *_validity(info), *_fines(info), *listed, ("AF", info.screen_message or None)])

    def _checkout(self, session: KioskSession, request: Message) -> bytes:
        patron_id, item_id = _required(request, "AA"), _required(request, "AB")
        if request.get("BI") == "Y":
            # A cancel asks us to undo a checkin the kiosk could not finish; staff do that, not a kiosk.
            result = CirculationResult(ok=False, item_id=item_id, desensitize=False, screen_message=REFUSED_CANCEL)
        else:
            result = self.backend.checkout(
                session, patron_id, item_id, _pin(request), no_block=request.fixed["no_block"] == "Y",
                sequence=request.sequence, renewal_policy=request.fixed["sc_renewal_policy"] == "Y",
                transaction_at=parse_sip_date(request.fixed["transaction_date"], self.zone),
                nb_due_at=parse_sip_date(request.fixed["nb_due_date"], self.zone))
        return self._circulation_response(session, request, "12", patron_id, result)

    def _renew(self, session: KioskSession, request: Message) -> bytes:
        patron_id, item_id = _required(request, "AA"), request.get("AB")
        if not item_id:  # the spec allows a title-only renewal, but a title does not name one loan
            result = CirculationResult(ok=False, item_id="", screen_message=NEEDS_ITEM)
        else:
            result = self.backend.renew(session, patron_id, item_id, _pin(request),
                                        no_block=request.fixed["no_block"] == "Y", sequence=request.sequence)
        return self._circulation_response(session, request, "30", patron_id, result)

    def _circulation_response(self, session: KioskSession, request: Message, code: str, patron_id: str,
                              result: CirculationResult) -> bytes:
        fixed = {"ok": "1" if result.ok else "0", "renewal_ok": yes_no(result.renewal_ok),
                 "magnetic_media": yes_no_unknown(result.magnetic_media),
                 "desensitize": yes_no_unknown(result.desensitize), "transaction_date": self._now()}
        fee = result.fee_rupiah > 0
        return build_response(request, code, fixed, [
            ("AO", self._institution(session, request)), ("AA", patron_id), ("AB", result.item_id),
            ("AJ", result.title), ("AH", self._date(result.due_at)),
            ("BH", CURRENCY if fee else None), ("BV", str(result.fee_rupiah) if fee else None),
            ("BK", result.transaction_id or None), ("AF", result.screen_message or None)])

    def _checkin(self, session: KioskSession, request: Message) -> bytes:
        # A checkin with cancel=Y undoes a checkout the kiosk could not finish: a plain checkin does that.
        result: CheckinResult = self.backend.checkin(
            session, _required(request, "AB"), return_date=parse_sip_date(request.fixed["return_date"], self.zone),
            no_block=request.fixed["no_block"] == "Y", current_location=request.get("AP") or "")
        fixed = {"ok": "1" if result.ok else "0", "resensitize": yes_no(result.resensitize),
                 "magnetic_media": yes_no_unknown(result.magnetic_media), "alert": yes_no(result.alert),
                 "transaction_date": self._now()}
        return build_response(request, "10", fixed, [
            ("AO", self._institution(session, request)), ("AB", result.item_id),
            ("AQ", result.permanent_location), ("AJ", result.title), ("CL", result.sort_bin or None),
            ("AF", result.screen_message or None)])

    def _item_information(self, session: KioskSession, request: Message) -> bytes:
        info = self.backend.item_information(session, _required(request, "AB"))
        fixed = {"circulation_status": f"{int(info.circulation_status):02d}",
                 "security_marker": "00",  # 00: other; the ILS does not know the kiosk's tag technology
                 "fee_type": "01",  # 01: other/unknown; kiosks charge no item fees here
                 "transaction_date": self._now()}
        return build_response(request, "18", fixed, [
            ("CF", str(info.hold_queue_length)), ("AH", self._date(info.due_at) or None), ("AB", info.item_id),
            ("AJ", info.title), ("BG", info.owner or None), ("AQ", info.permanent_location or None),
            ("AP", info.current_location or None), ("AF", info.screen_message or None)])

    def _end_session(self, session: KioskSession, request: Message) -> bytes:
        patron_id = _required(request, "AA")
        self.backend.end_session(session, patron_id)
        return build_response(request, "36", {"end_session": "Y", "transaction_date": self._now()},
                              [("AO", self._institution(session, request)), ("AA", patron_id)])

    def _institution(self, session: KioskSession, request: Message) -> str:
        # Echo the kiosk's own institution id: some kiosks check it; fall back to the session's library.
        return request.get("AO") or session.library_code

    def _date(self, moment: datetime | None) -> str:
        return format_sip_date(moment, self.zone) if moment is not None else ""


class _MissingField(ProtocolError):
    """A request lacks a required variable field."""


def _required(request: Message, field_id: str) -> str:
    value = request.get(field_id)
    if not value:
        raise _MissingField(f"{request.name} ({request.code}) without its {field_id} field")
    return value


def _language(request: Message) -> str:
    # Echo the kiosk's language code; a garbled one becomes 000 (unknown).
    language = request.fixed["language"]
    return language if language.isascii() and language.isdigit() else "000"


def _pin(request: Message) -> str | None:
    # An empty AD is "no PIN sent": whether that is acceptable is the backend's policy, not ours.
    return request.get("AD") or None


def patron_status_field(blocks: frozenset[PatronBlock]) -> str:
    """The 14-character patron status: Y where a condition holds, a blank elsewhere."""
    return "".join("Y" if block in blocks else " " for block in PatronBlock)


def _validity(info: PatronInfo) -> list[tuple[str, str | None]]:
    return [("BL", yes_no(info.valid)), ("CQ", None if info.pin_valid is None else yes_no(info.pin_valid))]


def _fines(info: PatronInfo) -> list[tuple[str, str | None]]:
    return [("BH", CURRENCY), ("BV", str(info.fines_rupiah))]


def _count(number: int) -> str:
    return f"{min(number, 9999):04d}"


def _limit(number: int | None) -> str | None:
    return None if number is None else _count(number)


def _item_range(request: Message) -> tuple[int, int]:
    # Unreadable or missing BP/BQ mean "from the first" and "to the last".
    def number(field_id: str, default: int) -> int:
        value = (request.get(field_id) or "").strip()
        return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else default

    return number("BP", 1), number("BQ", 10_000)
