"""SIP2 2.00 frames: parse requests, verify checksums, build responses. Pure: no sockets, no database.

Layouts follow the 3M Standard Interchange Protocol v2.00. A frame is a 2-digit command code, the
message's fixed-length fields, then variable fields ("XXvalue|" with a 2-character id), then optionally
the sequence number "AY<digit>" and the checksum "AZ<4 hex digits>", then CR. Where the specification
leaves a choice, the comment beside the code says which we made.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

SEPARATOR = "|"
TERMINATOR = b"\r"
SIP_DATE_LENGTH = 18
# The specification caps variable fields at 255 characters; longer titles are cut, not refused.
MAX_FIELD_LENGTH = 255

_DATE = ("transaction_date", SIP_DATE_LENGTH)
_CIRCULATION_RESPONSE = (("ok", 1), ("renewal_ok", 1), ("magnetic_media", 1), ("desensitize", 1), _DATE)
# Fixed-length fields of every message we read or write, in wire order: (name, width).
LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "93": (("uid_algorithm", 1), ("pwd_algorithm", 1)),
    "94": (("ok", 1),),
    "99": (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4)),
    "98": (("online_status", 1), ("checkin_ok", 1), ("checkout_ok", 1), ("acs_renewal_policy", 1),
           ("status_update_ok", 1), ("offline_ok", 1), ("timeout_period", 3), ("retries_allowed", 3),
           ("date_time_sync", SIP_DATE_LENGTH), ("protocol_version", 4)),
    "23": (("language", 3), _DATE),
    "24": (("patron_status", 14), ("language", 3), _DATE),
    "63": (("language", 3), _DATE, ("summary", 10)),
    "64": (("patron_status", 14), ("language", 3), _DATE, ("hold_items_count", 4),
           ("overdue_items_count", 4), ("charged_items_count", 4), ("fine_items_count", 4),
           ("recall_items_count", 4), ("unavailable_holds_count", 4)),
    "11": (("sc_renewal_policy", 1), ("no_block", 1), _DATE, ("nb_due_date", SIP_DATE_LENGTH)),
    "12": _CIRCULATION_RESPONSE,
    "09": (("no_block", 1), _DATE, ("return_date", SIP_DATE_LENGTH)),
    "10": (("ok", 1), ("resensitize", 1), ("magnetic_media", 1), ("alert", 1), _DATE),
    "29": (("third_party_allowed", 1), ("no_block", 1), _DATE, ("nb_due_date", SIP_DATE_LENGTH)),
    "30": _CIRCULATION_RESPONSE,
    "17": (_DATE,),
    "18": (("circulation_status", 2), ("security_marker", 2), ("fee_type", 2), _DATE),
    "35": (_DATE,),
    "36": (("end_session", 1), _DATE),
    "96": (),
    "97": (),
}
MESSAGE_NAMES = {
    "93": "login", "94": "login response", "99": "SC status", "98": "ACS status",
    "23": "patron status", "24": "patron status response", "63": "patron information",
    "64": "patron information response", "11": "checkout", "12": "checkout response",
    "09": "checkin", "10": "checkin response", "29": "renew", "30": "renew response",
    "17": "item information", "18": "item information response", "35": "end patron session",
    "36": "end session response", "96": "request SC resend", "97": "request ACS resend",
}
# Fields never written to a log: PINs, passwords, and the personal data S13 keeps out of logs.
LOG_MASKED_FIELDS = frozenset({"AD", "CO", "AC", "AE", "BD", "BE", "BF"})

_CHECKSUM_TAIL = re.compile(rb"AZ([0-9A-Fa-f]{4})\Z")
_SEQUENCE_TAIL = re.compile(r"AY([0-9])\|?\Z")
_FIELD_ID = re.compile(r"[A-Z0-9]{2}")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
# CR is the SIP2 terminator, but kiosks on some platforms send LF or CRLF.
_LINE_END = re.compile(rb"\r\n|\r|\n")
# The separator and C0/C1 controls would break the frame (or a kiosk's display): they become spaces.
_UNSAFE_CHARACTERS = re.compile(r"[|\x00-\x1f\x7f-\x9f]")


class ProtocolError(ValueError):
    """A frame that breaks the SIP2 rules."""


class MalformedFrame(ProtocolError):
    """A frame whose structure (code, fixed fields, field ids, dates) cannot be read."""


class ChecksumError(ProtocolError):
    """A frame whose AZ checksum does not match its bytes."""


class FrameTooLong(ProtocolError):
    """More bytes than the line limit arrived before a terminator."""


class UnknownCommand(ProtocolError):
    """A well-formed frame whose command code this server does not speak."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown or unsupported SIP2 command {code!r}")
        self.code = code


@dataclass(frozen=True)
class Message:
    """One parsed SIP2 frame: fixed fields by name, variable fields in wire order (ids may repeat)."""

    code: str
    fixed: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[tuple[str, str], ...] = ()
    sequence: str | None = None
    checksum: str | None = None

    @property
    def name(self) -> str:
        """The message's name in the specification, e.g. "checkout"."""
        return MESSAGE_NAMES.get(self.code, self.code)

    def get(self, field_id: str) -> str | None:
        """The first value of a variable field, or None when the field is absent."""
        return next((value for fid, value in self.fields if fid == field_id), None)

    def get_all(self, field_id: str) -> list[str]:
        """Every value of a variable field, in wire order (AU, AS, ... repeat once per item)."""
        return [value for fid, value in self.fields if fid == field_id]


def checksum(data: bytes) -> str:
    """The SIP2 checksum of data (everything up to and including "AZ"): 4 upper-case hex digits."""
    return format(-sum(data) & 0xFFFF, "04X")


class FrameSplitter:
    """Cuts a byte stream into frames at CR, LF or CRLF, refusing lines longer than max_line."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The frames (without terminators) that data completes; raises FrameTooLong."""
        *lines, self._pending = _LINE_END.split(self._pending + data)
        # Checked before parsing so that a peer streaming garbage cannot make us buffer without end.
        longest = max([len(self._pending), *map(len, lines)])
        if longest > self.max_line:
            raise FrameTooLong(f"a line of {longest}+ bytes is longer than {self.max_line}")
        return [line for line in lines if line]  # CRLF split over two reads leaves an empty line


def _strip_terminator(frame: bytes) -> bytes:
    return frame.rstrip(b"\r\n")


def carries_checksum(frame: bytes) -> bool:
    """Whether a frame ends in an AZ field of 4 hex digits (right or wrong)."""
    return _CHECKSUM_TAIL.search(_strip_terminator(frame)) is not None


def verify_checksum(frame: bytes) -> bool:
    """Whether a frame (terminator optional) ends in an AZ checksum that matches its bytes."""
    raw = _strip_terminator(frame)
    tail = _CHECKSUM_TAIL.search(raw)
    # Compared as numbers so that lower-case hex from a client still verifies.
    return tail is not None and int(tail.group(1), 16) == int(checksum(raw[: tail.start() + 2]), 16)


def _decode(raw: bytes) -> str:
    # SIP2 is ASCII (Latin-1 in practice); kiosks set to UTF-8 exist too, so try that first.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_frame(frame: bytes | str) -> Message:
    """Parse one frame (terminator optional); raises ChecksumError, UnknownCommand or MalformedFrame."""
    raw = _strip_terminator(frame.encode("utf-8") if isinstance(frame, str) else bytes(frame))
    if len(raw) < 2:
        raise MalformedFrame("frame shorter than a command code")
    if _CONTROL_BYTES.search(raw):
        raise MalformedFrame("control character inside a frame")
    found_checksum = None
    tail = _CHECKSUM_TAIL.search(raw)
    if tail is not None:
        if not verify_checksum(raw):
            raise ChecksumError(f"checksum {tail.group(1).decode()} does not match the frame")
        found_checksum = tail.group(1).decode("ascii").upper()
        raw = raw[: tail.start()]
    text = _decode(raw)
    code = text[:2]
    if not (code.isascii() and code.isdigit()):
        raise MalformedFrame(f"command code {code!r} is not two digits")
    layout = LAYOUTS.get(code)
    if layout is None:
        raise UnknownCommand(code)
    position = 2
    fixed: dict[str, str] = {}
    for name, width in layout:
        if len(text) < position + width:
            raise MalformedFrame(f"message {code} is too short for its fixed field {name}")
        fixed[name] = text[position:position + width]
        position += width
    rest = text[position:]
    sequence = None
    found_sequence = _SEQUENCE_TAIL.search(rest)
    # "AY" only counts at a field boundary: a title may well end in "...DAY1|".
    if found_sequence is not None and (found_sequence.start() == 0 or rest[found_sequence.start() - 1] == SEPARATOR):
        sequence = found_sequence.group(1)
        rest = rest[: found_sequence.start()]
    fields: list[tuple[str, str]] = []
    for chunk in rest.split(SEPARATOR):
        if not chunk:
            continue
        field_id = chunk[:2]
        if not _FIELD_ID.fullmatch(field_id):
            raise MalformedFrame(f"variable field id {field_id!r} is not two upper-case characters")
        if field_id in ("AY", "AZ"):
            # A sequence or checksum that is not where it belongs means the frame was garbled.
            raise MalformedFrame(f"misplaced {field_id} field")
        fields.append((field_id, chunk[2:]))
    return Message(code, fixed, tuple(fields), sequence, found_checksum)


def clean_value(value: str) -> str:
    """A variable-field value made safe to send: no separator or control characters, at most 255 long."""
    return _UNSAFE_CHARACTERS.sub(" ", value)[:MAX_FIELD_LENGTH]


def build_frame(code: str, fixed: Mapping[str, str], fields: Iterable[tuple[str, str | None]] = (), *,
                sequence: str | None = None, with_checksum: bool = False) -> bytes:
    """Encode a frame as UTF-8 with its CR; fields whose value is None are left out."""
    layout = LAYOUTS.get(code)
    if layout is None:
        raise ValueError(f"no layout for message {code!r}")
    if set(fixed) != {name for name, _width in layout}:
        raise ValueError(f"message {code} takes fixed fields {[name for name, _ in layout]}, got {sorted(fixed)}")
    parts = [code]
    for name, width in layout:
        value = fixed[name]
        # Fixed fields are ours (flags, counts, dates): a wrong one is a bug, not data to clean.
        if len(value) != width or _UNSAFE_CHARACTERS.search(value):
            raise ValueError(f"fixed field {name} of message {code} must be {width} plain characters: {value!r}")
        parts.append(value)
    for field_id, field_value in fields:
        if field_value is None:
            continue
        if not _FIELD_ID.fullmatch(field_id) or field_id in ("AY", "AZ"):
            raise ValueError(f"bad variable field id {field_id!r}")
        parts.append(field_id + clean_value(field_value) + SEPARATOR)
    if sequence is not None:
        if not (len(sequence) == 1 and sequence.isascii() and sequence.isdigit()):
            raise ValueError(f"a sequence number is one digit, got {sequence!r}")
        parts.append("AY" + sequence)
    data = "".join(parts).encode("utf-8")
    if with_checksum:
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + TERMINATOR


def build_response(request: Message, code: str, fixed: Mapping[str, str],
                   fields: Iterable[tuple[str, str | None]] = ()) -> bytes:
    """A response to request: its AY echoed, and an AZ checksum when the request carried one."""
    return build_frame(code, fixed, fields, sequence=request.sequence, with_checksum=request.checksum is not None)


def resend_request(*, with_checksum: bool) -> bytes:
    """The 96 "request SC resend" frame (never with a sequence number, per the specification)."""
    return build_frame("96", {}, with_checksum=with_checksum)


def yes_no(flag: bool) -> str:
    """A Y/N fixed field."""
    return "Y" if flag else "N"


def yes_no_unknown(flag: bool | None) -> str:
    """A Y/N/U fixed field (U: unknown), as for magnetic media and desensitize."""
    return "U" if flag is None else yes_no(flag)


def format_sip_date(moment: datetime, zone: tzinfo) -> str:
    """YYYYMMDDZZZZHHMMSS in the library's local time (ZZZZ blank, which the spec prefers)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: SIP2 dates are written from aware datetimes only")
    return moment.astimezone(zone).strftime("%Y%m%d    %H%M%S")


def parse_sip_date(value: str, zone: tzinfo) -> datetime | None:
    """An aware datetime from YYYYMMDDZZZZHHMMSS (blank zone: the library's time; "Z": UTC); None if blank."""
    if not value.strip():
        return None  # the sip2 client's "nb due date" is 18 blanks: "use the ACS's own due date"
    if len(value) != SIP_DATE_LENGTH:
        raise MalformedFrame(f"a SIP2 date has {SIP_DATE_LENGTH} characters: {value!r}")
    digits, zone_code = value[:8] + value[12:], value[8:12]
    if not (digits.isascii() and digits.isdigit()):
        raise MalformedFrame(f"not a SIP2 date: {value!r}")
    if zone_code == "    ":
        local_zone = zone
    elif zone_code == "   Z":
        local_zone = UTC
    else:
        # Other one-letter zones are military time zones; no kiosk we know sends them, so refuse.
        raise MalformedFrame(f"unsupported SIP2 time zone {zone_code!r}")
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=local_zone)
    except ValueError as error:
        raise MalformedFrame(f"not a SIP2 date: {value!r}") from error


def mask_secrets(frame: bytes) -> str:
    """A printable form of a frame for logs: PINs, passwords and personal data replaced by "***"."""
    text = _decode(_strip_terminator(frame))
    layout = LAYOUTS.get(text[:2])
    start = 2 + sum(width for _name, width in layout) if layout is not None else None
    if start is None or len(text) < start:
        # Without a known layout we cannot tell where fields begin: show only the code.
        return f"{text[:2]!r}... ({len(frame)} bytes, not shown)"
    chunks = text[start:].split(SEPARATOR)
    masked = [chunk[:2] + "***" if chunk[:2] in LOG_MASKED_FIELDS and len(chunk) > 2 else chunk for chunk in chunks]
    return _CONTROL_BYTES.sub(b"?", (text[:start] + SEPARATOR.join(masked)).encode("utf-8")).decode("utf-8")
