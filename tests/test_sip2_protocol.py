"""SIP2 frames: the real sip2 client's captured frames, checksums, dates, round trips of our responses, bad input."""
from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from circulation.sip2 import protocol
from circulation.sip2.protocol import (ChecksumError, MalformedFrame, Message, ProtocolError, UnknownCommand,
                                       build_frame, build_response, checksum, clean_value, format_sip_date,
                                       mask_secrets, parse_frame, parse_sip_date, verify_checksum)

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "protocol_captures" / "sip2_client_frames.txt"
WITA = ZoneInfo("Asia/Makassar")
TX = "20261121    222843"  # 22:28:43 WITA, as the sip2 client writes local time
BLANK_DATE = " " * 18


def captured_frames() -> list[str]:
    """The frames the PyPI sip2 client sent (one repr() per line), or [] without the shared data."""
    if not CAPTURES.exists():
        return []
    return [ast.literal_eval(line) for line in CAPTURES.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


FRAMES = captured_frames()
NO_CAPTURES = pytest.mark.skipif(not FRAMES, reason=f"{CAPTURES} is not in this checkout's shared data")


def with_checksum(text: str) -> bytes:
    """A frame with a correct AZ checksum appended (the checksum covers the "AZ" itself)."""
    data = text.encode("utf-8") + b"AZ"
    return data + checksum(data).encode("ascii")


# --- the real client's frames --------------------------------------------------------------------------

@NO_CAPTURES
@pytest.mark.parametrize("frame", FRAMES or [""], ids=lambda frame: frame[:2])
def test_every_captured_frame_parses_verifies_and_rebuilds_byte_for_byte(frame: str) -> None:
    """Each frame parses, its checksum verifies by both rules of the spec, and our builder writes it back exactly."""
    message = parse_frame(frame)
    raw = frame.encode("ascii")
    assert verify_checksum(raw) and verify_checksum(raw + b"\r")
    assert message.checksum == frame[-4:]
    # The spec's receiver rule: the byte sum including the checksum's value is 0 modulo 2^16.
    assert (sum(raw[:-4]) + int(frame[-4:], 16)) & 0xFFFF == 0
    assert message.sequence is not None and message.sequence.isdigit()
    rebuilt = build_frame(message.code, message.fixed, message.fields, sequence=message.sequence, with_checksum=True)
    assert rebuilt == raw + b"\r"


@NO_CAPTURES
def test_the_captured_session_reads_as_the_client_meant_it() -> None:
    """Codes, sequence numbers, credentials, summary flags, blank fields and the all-blank nb due date."""
    messages = [parse_frame(frame) for frame in FRAMES]
    assert [m.code for m in messages] == ["93", "99", "63", "63", "09", "17", "11", "29", "35"]
    assert [m.sequence for m in messages] == [str(n) for n in range(9)]
    login, status, patron, charged, checkin, item, checkout, renew, end = messages
    assert login.fixed == {"uid_algorithm": "0", "pwd_algorithm": "0"}
    assert (login.get("CN"), login.get("CO"), login.get("CP")) == ("sipuser", "sippass", "loc")
    assert status.fixed == {"status_code": "0", "max_print_width": "080", "protocol_version": "2.00"}
    assert patron.fixed["summary"] == " " * 10 and charged.fixed["summary"] == "  Y       "
    assert patron.fixed["language"] == "001"
    assert [patron.get(f) for f in ("AO", "AA", "AD", "BP", "BQ")] == ["inst", "23529000000001", "1234", "1", "5"]
    assert checkin.get("AC") == "" and checkin.get("AP") == "loc" and checkin.fixed["no_block"] == "N"
    assert parse_sip_date(checkin.fixed["return_date"], WITA) == datetime(2026, 11, 21, 22, 28, 43, tzinfo=WITA)
    assert item.fixed == {"transaction_date": TX} and item.get("AB") == "39999000001"
    assert checkout.fixed == {"sc_renewal_policy": "N", "no_block": "N", "transaction_date": TX,
                              "nb_due_date": BLANK_DATE}
    assert parse_sip_date(checkout.fixed["nb_due_date"], WITA) is None
    assert [checkout.get(f) for f in ("AA", "AB", "AD", "BO", "BI")] == [
        "23529000000001", "39999000001", "1234", "N", "N"]
    assert renew.fixed["nb_due_date"] == BLANK_DATE and renew.fixed["third_party_allowed"] == "N"
    assert end.get("AA") == "23529000000001" and end.name == "end patron session"


@NO_CAPTURES
def test_a_changed_byte_fails_the_checksum() -> None:
    """Flipping one character of a captured frame is caught."""
    frame = FRAMES[0].replace("sipuser", "sipusar").encode("ascii")
    assert not verify_checksum(frame)
    with pytest.raises(ChecksumError):
        parse_frame(frame)


def test_checksum_values() -> None:
    """The two's complement of the 16-bit byte sum, 4 upper-case hex digits, zero-padded."""
    assert checksum(b"96AZ") == "FEF6"
    assert checksum(b"") == "0000"
    assert checksum(b"\xff" * 257) == "0001"  # 65535: the lower 16 bits, negated, zero-padded
    lower = with_checksum("9900802.00AY1").decode().lower().replace("ay1az", "AY1AZ")
    assert parse_frame(lower).checksum == "FCA0"  # lower-case hex from a client still verifies


# --- our responses -------------------------------------------------------------------------------------

RESPONSES: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = [
    ("94", {"ok": "1"}, []),
    ("98", {"online_status": "Y", "checkin_ok": "Y", "checkout_ok": "Y", "acs_renewal_policy": "Y",
            "status_update_ok": "N", "offline_ok": "N", "timeout_period": "999", "retries_allowed": "999",
            "date_time_sync": TX, "protocol_version": "2.00"},
     [("AO", "PKB"), ("AM", "Perpustakaan Kota Bontang"), ("BX", "YYYNYYYYYNYNNNYN"), ("AN", "LOKET1")]),
    ("24", {"patron_status": "Y         Y   ", "language": "001", "transaction_date": TX},
     [("AO", "PKB"), ("AA", "23529000000002"), ("AE", "Budi Santoso"), ("BL", "Y"), ("CQ", "N"), ("BH", "IDR"),
      ("BV", "15000"), ("AF", "Denda melebihi batas")]),
    ("64", {"patron_status": " " * 14, "language": "000", "transaction_date": TX, "hold_items_count": "0001",
            "overdue_items_count": "0000", "charged_items_count": "0002", "fine_items_count": "0000",
            "recall_items_count": "0000", "unavailable_holds_count": "0000"},
     [("AO", "PKB"), ("AA", "23529000000001"), ("AE", "Siti"), ("CB", "0005"), ("BL", "Y"), ("AU", "39999000001"),
      ("AU", "39999000002")]),
    ("12", {"ok": "1", "renewal_ok": "N", "magnetic_media": "U", "desensitize": "Y", "transaction_date": TX},
     [("AO", "PKB"), ("AA", "23529000000001"), ("AB", "39999000001"), ("AJ", "Laskar Pelangi"),
      ("AH", "20261205    222843"), ("BK", "loan-1")]),
    ("10", {"ok": "1", "resensitize": "N", "magnetic_media": "N", "alert": "Y", "transaction_date": TX},
     [("AO", "PKB"), ("AB", "39999000003"), ("AQ", "Rak Anak"), ("AJ", "Bumi"), ("CL", "PTG")]),
    ("30", {"ok": "0", "renewal_ok": "N", "magnetic_media": "N", "desensitize": "N", "transaction_date": TX},
     [("AO", "PKB"), ("AA", "23529000000001"), ("AB", "39999000001"), ("AJ", ""), ("AH", ""),
      ("AF", "Sudah diperpanjang 2 kali")]),
    ("18", {"circulation_status": "04", "security_marker": "00", "fee_type": "01", "transaction_date": TX},
     [("CF", "0"), ("AH", "20261205    222843"), ("AB", "39999000001"), ("AJ", "Laskar Pelangi"), ("BG", "PKB")]),
    ("36", {"end_session": "Y", "transaction_date": TX}, [("AO", "PKB"), ("AA", "23529000000001")]),
    ("96", {}, []),
]


@pytest.mark.parametrize(("code", "fixed", "fields"), RESPONSES, ids=[r[0] for r in RESPONSES])
@pytest.mark.parametrize(("sequence", "crc"), [("7", True), (None, True), ("3", False), (None, False)])
def test_built_responses_parse_back(code: str, fixed: dict[str, str], fields: list[tuple[str, str]],
                                    sequence: str | None, crc: bool) -> None:
    """Every response we build parses back to the same fixed fields, variable fields (repeats kept) and AY."""
    frame = build_frame(code, fixed, fields, sequence=sequence, with_checksum=crc)
    assert frame.endswith(b"\r") and frame.count(b"\r") == 1
    message = parse_frame(frame)
    assert (message.code, dict(message.fixed), list(message.fields)) == (code, fixed, fields)
    assert message.sequence == sequence
    assert verify_checksum(frame) is crc and (message.checksum is not None) is crc


def test_a_response_echoes_the_request_sequence_and_checksum_use() -> None:
    """AY is echoed when the request had one; AZ is added only when the request carried one."""
    fixed = {"end_session": "Y", "transaction_date": TX}
    with_both = parse_frame(with_checksum(f"35{TX}AOPKB|AA1|AY4"))
    assert build_response(with_both, "36", fixed, [("AA", "1")]).startswith(f"36Y{TX}AA1|AY4AZ".encode())
    sequence_only = parse_frame(f"35{TX}AOPKB|AA1|AY4")
    assert build_response(sequence_only, "36", fixed, [("AA", "1")]) == f"36Y{TX}AA1|AY4\r".encode()
    neither = parse_frame(f"35{TX}AOPKB|AA1|")
    assert build_response(neither, "36", fixed, [("AA", "1"), ("AF", None)]) == f"36Y{TX}AA1|\r".encode()
    assert protocol.resend_request(with_checksum=True) == b"96AZFEF6\r"
    assert protocol.resend_request(with_checksum=False) == b"96\r"


def test_values_are_cleaned_and_encoded_as_utf8() -> None:
    """The separator and control characters become spaces, values stop at 255, non-ASCII travels as UTF-8."""
    assert clean_value("Laskar Pelangi | Edisi 2\r\n\x00\x85") == "Laskar Pelangi   Edisi 2" + " " * 4
    assert clean_value("x" * 300) == "x" * 255
    frame = build_frame("36", {"end_session": "Y", "transaction_date": TX},
                        [("AO", "PKB"), ("AF", "Terima kasih — sampai jumpa|\x07"), ("AG", "é" * 300)],
                        sequence="1", with_checksum=True)
    assert "—".encode() in frame and b"|\x07" not in frame
    message = parse_frame(frame)
    assert message.get("AF") == "Terima kasih — sampai jumpa  "
    assert message.get("AG") == "é" * 255
    assert verify_checksum(frame)  # over the UTF-8 bytes, not the characters


@pytest.mark.parametrize(("code", "fixed", "fields", "sequence"), [
    ("36", {"end_session": "YY", "transaction_date": TX}, [], None),  # too wide
    ("36", {"end_session": "Y"}, [], None),  # missing a fixed field
    ("36", {"end_session": "|", "transaction_date": TX}, [], None),  # separator in a fixed field
    ("36", {"end_session": "Y", "transaction_date": TX}, [("A", "x")], None),  # bad field id
    ("36", {"end_session": "Y", "transaction_date": TX}, [("AZ", "1234")], None),  # reserved id
    ("36", {"end_session": "Y", "transaction_date": TX}, [], "12"),  # sequence is one digit
    ("42", {}, [], None),  # no such message
])
def test_build_frame_refuses_our_own_mistakes(code: str, fixed: dict[str, str], fields: list[tuple[str, str]],
                                              sequence: str | None) -> None:
    """Fixed fields and ids are ours: a wrong one is a bug and raises instead of going on the wire."""
    with pytest.raises(ValueError):
        build_frame(code, fixed, fields, sequence=sequence)


def test_repeated_fields_and_lookups() -> None:
    """get() gives the first value, get_all() every value in order; absent fields are None / []."""
    message = parse_frame(f"6400{' ' * 12}000{TX}0000000000020000" + "00000000AOPKB|AU1|AU2|AU3|AY0")
    assert isinstance(message, Message) and message.name == "patron information response"
    assert message.get("AU") == "1" and message.get_all("AU") == ["1", "2", "3"]
    assert message.get("AS") is None and message.get_all("AS") == []
    assert message.fixed["charged_items_count"] == "0002" and message.sequence == "0"


def test_sequence_only_counts_at_a_field_boundary() -> None:
    """A title ending in "...DAY1" is a field value, not a sequence number; a last field may lack its "|"."""
    message = parse_frame(f"17{TX}AOPKB|ABTHE DAY1|")
    assert message.sequence is None and message.get("AB") == "THE DAY1"
    unterminated = parse_frame(f"17{TX}AOPKB|AB123")
    assert unterminated.get("AB") == "123" and unterminated.sequence is None
    spaced = parse_frame(f"17{TX}AOPKB|AB123|AY2|")
    assert spaced.sequence == "2"


@pytest.mark.parametrize("frame", [
    b"", b"\r", b"9", b"X1abc", b"9a00CNa|",
    b"11NN20261121",  # fixed fields cut short
    f"11NN{TX}".encode(),  # nb due date missing
    b"9300CNa|COb|\x00|",  # control character
    b"9300CNa|cOb|",  # lower-case field id
    b"9300CNa|x|",  # one-character field
    b"9300CNa|AZ12|COb|",  # checksum in the middle
    b"9300CNa|COb|AY1AZXYZW",  # garbled checksum
    b"9300AY1|CNa|",  # sequence in the middle
])
def test_malformed_frames_raise(frame: bytes) -> None:
    """Unreadable frames raise MalformedFrame (a ProtocolError), never IndexError or a half-parsed message."""
    with pytest.raises(MalformedFrame):
        parse_frame(frame)


def test_unknown_and_wrong_checksum_frames_raise_their_own_errors() -> None:
    """An unspoken command and a wrong checksum are told apart from garbage (both are ProtocolErrors)."""
    with pytest.raises(UnknownCommand) as unknown:
        parse_frame(with_checksum(f"01N{TX}AOPKB|ALkartu tertinggal|AA1|AC|AY3"))
    assert unknown.value.code == "01" and isinstance(unknown.value, ProtocolError)
    with pytest.raises(ChecksumError):
        parse_frame(b"9900802.00AY1AZFCA1")
    with pytest.raises(ProtocolError):
        parse_frame(b"9900802.00AY1AZ0000\r\n")


# --- dates -------------------------------------------------------------------------------------------------

def test_sip_dates_read_blank_zone_as_library_time_and_z_as_utc() -> None:
    """Blank ZZZZ is local (WITA), "   Z" is UTC, all blanks is None."""
    assert parse_sip_date(TX, WITA) == datetime(2026, 11, 21, 14, 28, 43, tzinfo=UTC)
    assert parse_sip_date("20261121   Z142843", WITA) == datetime(2026, 11, 21, 14, 28, 43, tzinfo=UTC)
    assert parse_sip_date(BLANK_DATE, WITA) is None
    assert parse_sip_date("", WITA) is None


@pytest.mark.parametrize("value", ["2026112    222843", "20261321    222843", "20261121 WIT222843",
                                   "2026-1-1    222843", "20261121    25xx43", "20260230    120000"])
def test_bad_sip_dates_raise(value: str) -> None:
    """Wrong length, impossible dates, unknown zones and non-digits are malformed."""
    with pytest.raises(MalformedFrame):
        parse_sip_date(value, WITA)


def test_sip_dates_are_written_in_library_time_from_aware_datetimes() -> None:
    """UTC 14:28:43 is 22:28:43 WITA; a Jakarta time converts too; naive datetimes are refused (R5)."""
    assert format_sip_date(datetime(2026, 11, 21, 14, 28, 43, tzinfo=UTC), WITA) == TX
    jakarta = timezone(timedelta(hours=7))
    assert format_sip_date(datetime(2026, 11, 21, 23, 30, tzinfo=jakarta), WITA) == "20261122    003000"
    with pytest.raises(ValueError):
        format_sip_date(datetime(2026, 11, 21, 14, 28, 43), WITA)


# --- logs --------------------------------------------------------------------------------------------------

def test_masking_hides_pins_passwords_and_personal_data() -> None:
    """AD, CO, AC and AE values never appear; other fields, the fixed part and AY/AZ stay readable."""
    login = mask_secrets(with_checksum("9300CNkiosk-pkb|COrahasia-kiosk|CPLOKET1|AY0") + b"\r")
    assert "rahasia-kiosk" not in login and "CO***" in login and "CNkiosk-pkb" in login
    patron = mask_secrets(f"63001{TX}          AOPKB|AA235|ACterminal-pw|AD9876|BP1|AY2".encode())
    assert "9876" not in patron and "terminal-pw" not in patron and "AD***" in patron and "AA235" in patron
    assert patron.startswith(f"63001{TX}")
    reply = mask_secrets(f"24{' ' * 14}000{TX}AOPKB|AA235|AESiti Rahmawati|BLY|".encode())
    assert "Siti" not in reply and "AE***" in reply
    assert mask_secrets(b"37 20261121AD1234") == "'37'... (17 bytes, not shown)"  # no layout: nothing shown
    assert "1234" not in mask_secrets(b"11NAD1234")  # too short for its layout


def test_every_layout_has_a_name() -> None:
    """Each message we read or write is named (logs and errors use the names)."""
    assert set(protocol.LAYOUTS) == set(protocol.MESSAGE_NAMES)


# --- framing a byte stream -------------------------------------------------------------------------------------

def test_the_splitter_cuts_at_cr_lf_and_crlf_across_reads() -> None:
    """Frames may end in CR, LF or CRLF, arrive several per read, or be split anywhere (even inside CRLF)."""
    splitter = protocol.FrameSplitter(100)
    assert splitter.feed(b"9900802.00AY1AZFCA0\r\n17") == [b"9900802.00AY1AZFCA0"]
    assert splitter.feed(b"20261121    222843AOPKB|\r") == [b"1720261121    222843AOPKB|"]
    assert splitter.feed(b"\n") == []  # the LF of a CRLF split over two reads is not an empty frame
    assert splitter.feed(b"a\nb\r\nc\rd") == [b"a", b"b", b"c"]
    assert splitter.feed(b"") == [] and splitter.feed(b"\r") == [b"d"]


def test_the_splitter_refuses_over_long_lines() -> None:
    """A line past the limit raises whether or not its terminator has arrived; the limit itself is fine."""
    assert protocol.FrameSplitter(10).feed(b"x" * 10 + b"\r" + b"y" * 10) == [b"x" * 10]
    with pytest.raises(protocol.FrameTooLong):
        protocol.FrameSplitter(10).feed(b"x" * 11)
    with pytest.raises(protocol.FrameTooLong):
        protocol.FrameSplitter(10).feed(b"ok\r" + b"x" * 11 + b"\r")
    growing = protocol.FrameSplitter(10)
    growing.feed(b"x" * 6)
    with pytest.raises(protocol.FrameTooLong):
        growing.feed(b"x" * 6)
